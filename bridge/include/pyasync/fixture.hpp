#pragma once
/// \file
/// C++ test fixtures for pytest: set-up, `co_yield` the value, tear-down, as one C++ coroutine.
///
///     PYASYNC_FIXTURE(db, pyasync::scope::module, "tmp_path")(py::object tmp_path)
///             -> pyasync::fixture<py::object> {
///         auto conn = co_await open_db(tmp_path);   // set-up, on the test's loop
///         co_yield conn;                            // the value the test receives
///         co_await conn.attr("close")();            // tear-down, runs even if the test failed
///     };
///
///     PYASYNC_MODULE(my_fixtures, m) { pyasync::export_fixtures(m); }
///
/// - `PYASYNC_FIXTURE(name, scope, requests...)` is followed by a lambda's parameter list,
///   return type and body, and a `;`. Each string in `requests...` names a fixture (C++ or
///   Python, such as `tmp_path`) that pytest resolves and passes to the matching parameter,
///   converted with pybind11's casters; there must be one per parameter.
/// - The body returns `pyasync::fixture<T>` (a coroutine that yields exactly once: set-up runs
///   up to the `co_yield`, tear-down from there to the end), `pyasync::task<T>` (async set-up,
///   no tear-down) or a plain value (a sync fixture).
/// - Parameters are taken by value: the coroutine body runs after the call that converted them.
/// - `pyasync::fixture_doc("…")` among the requests gives the text `pytest --fixtures` shows.
/// - `pyasync::export_fixtures(m)` publishes every fixture defined in the module's sources as
///   `m.__pyasync_fixtures__`; the pytest plugin (`pyasync_fixture_modules`) turns each into a
///   pytest fixture with its scope, requests, doc and C++ `file:line`.
/// - Lazy: nothing runs at import; the plugin calls the fixture on the loop of the test that
///   uses it. Thread: the loop thread, GIL held, like any pyasync coroutine.

#include <pyasync/async_generator.hpp>
#include <pyasync/cast.hpp>
#include <pyasync/task.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace pyasync {

/// The scope of a fixture, as pytest's `scope=` (`class_` is pytest's "class").
enum class scope { function, class_, module, package, session };

/// A C++ coroutine fixture producing a `T`: it must `co_yield` exactly once.
template <typename T>
using fixture = async_generator<T>;

/// The `pytest --fixtures` text of a fixture, given among PYASYNC_FIXTURE's requests.
struct fixture_doc {
    constexpr fixture_doc() = default;
    /// The docstring `text` (a string literal: it is kept by pointer).
    constexpr explicit fixture_doc(const char *text) : text(text) {} // Clang 14: no aggregate from ()
    /// The text, or nullptr for none.
    const char *text = nullptr;
};

namespace detail {

/// One fixture as PYASYNC_FIXTURE defined it: what export_fixtures publishes.
struct fixture_definition {
    const char *name;
    pyasync::scope scope;
    std::vector<std::string> requests;
    const char *doc;
    const char *file;
    int line;
    const char *kind;             ///< "generator" (set-up and tear-down), "awaitable" or "value"
    py::object (*make_factory)(); ///< the Python callable that runs the fixture's lambda
};

/// The fixtures of the binary including this header (each extension module has its own).
inline std::vector<fixture_definition> &fixture_registry() {
    static std::vector<fixture_definition> registry;
    return registry;
}

template <typename T>
struct fixture_kind {
    static constexpr const char *value = "value";
};
template <typename T>
struct fixture_kind<async_generator<T>> {
    static constexpr const char *value = "generator";
};
template <typename T>
struct fixture_kind<task<T>> {
    static constexpr const char *value = "awaitable";
};

template <typename Signature>
struct lambda_arity;
template <typename C, typename R, typename... Args>
struct lambda_arity<R (C::*)(Args...) const> : std::integral_constant<std::size_t, sizeof...(Args)> {
    using result = R;
    static constexpr bool by_value = (!std::is_reference_v<Args> && ...);
};

inline constexpr bool is_request(const char *) {
    return true;
}
inline constexpr bool is_request(fixture_doc) {
    return false;
}

/// What PYASYNC_FIXTURE knows before the lambda: `head << lambda` registers the fixture.
template <std::size_t Requests>
struct fixture_head {
    const char *name;
    pyasync::scope scope;
    const char *file;
    int line;
    std::array<const char *, Requests> requests{};
    const char *doc = "";

    template <typename Lambda>
    int operator<<(Lambda lambda) const {
        using traits = lambda_arity<decltype(&Lambda::operator())>;
        static_assert(std::is_empty_v<Lambda>, "PYASYNC_FIXTURE: the lambda captures nothing");
        static_assert(traits::value == Requests,
                      "PYASYNC_FIXTURE: name one requested fixture per parameter, in order, after the scope");
        static_assert(traits::by_value, "PYASYNC_FIXTURE: take parameters by value (the body runs after the call "
                                        "that converted them has returned)");
        (void)lambda; // captureless: its type is all there is, and C++20 default-constructs it
        fixture_registry().push_back(fixture_definition{
            name, scope, std::vector<std::string>(requests.begin(), requests.end()), doc, file, line,
            fixture_kind<typename traits::result>::value, []() -> py::object { return py::cpp_function(Lambda{}); }});
        return 0;
    }
};

template <typename... Options>
constexpr auto make_fixture_head(const char *name, pyasync::scope scope, const char *file, int line,
                                 Options... options) {
    constexpr std::size_t requests = (std::size_t{0} + ... + (is_request(Options{}) ? 1 : 0));
    fixture_head<requests> head{name, scope, file, line};
    std::size_t next = 0;
    auto take = [&](auto option) {
        if constexpr (std::is_same_v<decltype(option), fixture_doc>) {
            head.doc = option.text;
        } else {
            head.requests[next++] = option;
        }
    };
    (take(options), ...);
    return head;
}

} // namespace detail

/// Publishes the module's C++ fixtures (every PYASYNC_FIXTURE of its sources) as
/// `module.__pyasync_fixtures__`, a list of dicts the pytest plugin reads. Call it once in
/// `PYASYNC_MODULE`. GIL held.
inline void export_fixtures(py::module_ &module) {
    py::list exported;
    for (const auto &definition : detail::fixture_registry()) {
        static constexpr std::array<const char *, 5> scope_names{"function", "class", "module", "package", "session"};
        py::dict entry;
        entry["name"] = definition.name;
        entry["scope"] = scope_names.at(static_cast<std::size_t>(definition.scope));
        py::tuple requests(definition.requests.size()); // built by hand: no pybind11/stl.h needed
        for (std::size_t i = 0; i < definition.requests.size(); ++i) {
            requests[i] = py::str(definition.requests[i]);
        }
        entry["requests"] = requests;
        entry["doc"] = definition.doc;
        entry["file"] = definition.file;
        entry["line"] = definition.line;
        entry["kind"] = definition.kind;
        entry["factory"] = definition.make_factory();
        exported.append(entry);
    }
    module.attr("__pyasync_fixtures__") = exported;
}

} // namespace pyasync

/// Defines the C++ fixture `name` of `scope` (a `pyasync::scope`), requesting the fixtures
/// named by the string literals that follow; a lambda's `(parameters) -> type { body };`
/// comes next. See the file comment.
#define PYASYNC_FIXTURE(name, scope, ...)                                                                              \
    [[maybe_unused]] static const int pyasync_fixture_##name =                                                         \
        ::pyasync::detail::make_fixture_head(#name, scope, __FILE__, __LINE__ __VA_OPT__(, ) __VA_ARGS__) << []
