#pragma once
/// \file
/// The invoker types behind `PYASYNC_TEST`, `PYASYNC_TEST_F` and `PYASYNC_TEST_GLOBAL_FIXTURE`.
///
/// A case body is a free function `pyasync_case(Tag)` (or `pyasync_case(Tag, Fixture &)`) whose
/// return type the user writes after the macro: none (deduced `void`: a sync case) or
/// `-> pyasync::task<>` (an async case). The invokers name it only inside templates instantiated
/// at the end of the translation unit, after the body is defined (GCC and Clang defer function
/// template bodies there), so the macro needs no forward declaration of the body's type.

#include <pyasync/run.hpp>
#include <pyasync/testing/registry.hpp>

#include <exception>
#include <functional>
#include <type_traits>

namespace pyasync::testing::detail {

template <typename T>
inline constexpr bool is_task_v = false;
template <typename T>
inline constexpr bool is_task_v<task<T>> = true;

template <typename Result>
constexpr case_kind kind_of_result() {
    static_assert(std::is_void_v<Result> || std::is_same_v<Result, task<>>,
                  "PYASYNC_TEST: a case returns nothing (a sync case) or pyasync::task<> (an async case, "
                  "written `PYASYNC_TEST(Suite, Case) -> pyasync::task<> { ... }`)");
    return std::is_void_v<Result> ? case_kind::sync : case_kind::async;
}

// No coroutine below is a template over the user's types: GCC 12 warns (-Wsubobject-linkage)
// when a coroutine frame in a header holds a type from an anonymous namespace, which is where
// fixtures usually live. Hooks are called eagerly and their own task is returned; the one
// coroutine that strings them together (`run_fixture_case`) is compiled in the library.

/// An already finished task, for a hook that is a plain function. Lazy, like every task.
task<> completed();

/// Calls a hook that is either a plain function or returns `task<>`, and returns a task to
/// await (the hook's own, or a finished one). The hook runs now for a plain function.
template <typename Hook>
task<> call_hook(Hook &&hook) {
    if constexpr (std::is_void_v<std::invoke_result_t<Hook>>) {
        hook();
        return completed();
    } else {
        return hook();
    }
}

/// Runs a fixture hook from a sync case: a coroutine hook runs on the idle session loop.
template <typename Hook>
void run_hook(py::handle loop, Hook &&hook) {
    if constexpr (std::is_void_v<std::invoke_result_t<Hook>>) {
        hook();
    } else {
        pyasync::run_until_complete(loop, hook());
    }
}

template <typename F>
concept has_set_up = requires(F &f) {
    f.set_up();
};
template <typename F>
concept has_tear_down = requires(F &f) {
    f.tear_down();
};
template <typename F>
concept has_suite_set_up = requires {
    F::set_up_suite();
};
template <typename F>
concept has_suite_tear_down = requires {
    F::tear_down_suite();
};

/// `set_up(fixture)` / `tear_down(fixture)`: the fixture's hook as a task to await, or a
/// finished task when the fixture has no such hook.
template <typename Fixture>
task<> set_up(Fixture &fixture) {
    if constexpr (has_set_up<Fixture>) {
        return call_hook([&] { return fixture.set_up(); });
    }
    return completed();
}
template <typename Fixture>
task<> tear_down(Fixture &fixture) {
    if constexpr (has_tear_down<Fixture>) {
        return call_hook([&] { return fixture.tear_down(); });
    }
    return completed();
}

/// A fixture case with the fixture's type erased: set up, body, tear down (also after a
/// failure; the body's error wins over a tear-down error). Compiled in the library.
struct erased_fixture_case {
    std::shared_ptr<void> fixture;
    task<> (*set_up)(void *fixture);
    task<> (*body)(void *fixture);
    task<> (*tear_down)(void *fixture);
};
task<> run_fixture_case(erased_fixture_case erased);
/// The same order for a sync case: `set_up`, then `body`, then `tear_down` even when the body
/// threw; the body's error wins over a tear-down error.
void run_fixture_case_sync(const std::function<void()> &set_up, const std::function<void()> &body,
                           const std::function<void()> &tear_down);

/// What every case invoker shares: its kind follows from the body's return type (`void` or
/// `task<>`), and only the matching entry point runs the body (`Derived::body_sync(loop)` or
/// `Derived::body_async()`); the other one is the base's (which reports the mismatch).
template <typename Derived, typename Result>
class invoker_of_kind : public case_invoker {
public:
    [[nodiscard]] case_kind kind() const noexcept override { return kind_of_result<Result>(); }
    task<> run_async() override {
        if constexpr (std::is_void_v<Result>) {
            return case_invoker::run_async();
        } else {
            return Derived::body_async();
        }
    }
    void run_sync(py::handle loop) override {
        if constexpr (std::is_void_v<Result>) {
            Derived::body_sync(loop);
        } else {
            case_invoker::run_sync(loop);
        }
    }
};

/// A case written as `PYASYNC_TEST(Suite, Case)`: `pyasync_case(Tag{})` found by ADL.
template <typename Tag>
class function_invoker final : public invoker_of_kind<function_invoker<Tag>, decltype(pyasync_case(Tag{}))> {
public:
    static task<> body_async() { return pyasync_case(Tag{}); }
    static void body_sync(py::handle) { pyasync_case(Tag{}); }
};

/// A case written as `PYASYNC_TEST_F(Fixture, Case)`: a fresh `Fixture` per case, set up before
/// the body and torn down after it, also when the body failed; the body's error wins over a
/// tear-down error.
template <typename Tag, typename Fixture>
class fixture_invoker final : public invoker_of_kind<fixture_invoker<Tag, Fixture>,
                                                     decltype(pyasync_case(Tag{}, std::declval<Fixture &>()))> {
public:
    static void body_sync(py::handle loop) {
        Fixture fixture;
        run_fixture_case_sync(
            [&] {
                if constexpr (has_set_up<Fixture>) {
                    run_hook(loop, [&] { return fixture.set_up(); });
                }
            },
            [&] { pyasync_case(Tag{}, fixture); },
            [&] {
                if constexpr (has_tear_down<Fixture>) {
                    run_hook(loop, [&] { return fixture.tear_down(); });
                }
            });
    }

    static task<> body_async() {
        erased_fixture_case erased{
            std::make_shared<Fixture>(),
            [](void *fixture) { return testing::detail::set_up(*static_cast<Fixture *>(fixture)); },
            [](void *fixture) -> task<> { return pyasync_case(Tag{}, *static_cast<Fixture *>(fixture)); },
            [](void *fixture) { return testing::detail::tear_down(*static_cast<Fixture *>(fixture)); },
        };
        return run_fixture_case(std::move(erased));
    }
};

template <typename Fixture>
task<> suite_set_up() {
    return call_hook([] { return Fixture::set_up_suite(); });
}
template <typename Fixture>
task<> suite_tear_down() {
    return call_hook([] { return Fixture::tear_down_suite(); });
}

template <typename Fixture>
suite_hooks hooks_of(const char *name) {
    suite_hooks hooks;
    hooks.fixture = name;
    if constexpr (has_suite_set_up<Fixture>) {
        hooks.set_up = &suite_set_up<Fixture>;
    }
    if constexpr (has_suite_tear_down<Fixture>) {
        hooks.tear_down = &suite_tear_down<Fixture>;
    }
    return hooks;
}

/// `PYASYNC_TEST_GLOBAL_FIXTURE(Type)`: one `Type` for the whole session.
template <typename Fixture>
class global_lifetime final : public fixture_lifetime {
public:
    task<> set_up() override { return testing::detail::set_up(fixture_); }
    task<> tear_down() override { return testing::detail::tear_down(fixture_); }

private:
    Fixture fixture_;
};

template <typename Fixture>
std::unique_ptr<fixture_lifetime> make_global() {
    return std::make_unique<global_lifetime<Fixture>>();
}

/// What the macros construct at namespace scope: registers one case during static initialisation.
/// The invoker is made through `make` (a function template) so that naming the invoker type at
/// the macro does not instantiate it before the body is defined.
template <typename Invoker>
std::shared_ptr<case_invoker> make_invoker() {
    return std::make_shared<Invoker>();
}

struct case_registrar {
    template <typename... Attributes>
    case_registrar(const char *suite, const char *name, const char *file, int line,
                   std::shared_ptr<case_invoker> (*make)(), suite_hooks hooks, const Attributes &...attributes) {
        case_info info;
        info.suite = suite;
        info.name = name;
        info.file = file;
        info.line = line;
        info.invoker = make();
        info.suite_fixture = hooks;
        (attributes.apply(info), ...);
        register_case(std::move(info));
    }
};

struct global_fixture_registrar {
    global_fixture_registrar(const char *name, std::unique_ptr<fixture_lifetime> (*make)()) {
        register_global_fixture(global_fixture{name, make});
    }
};

} // namespace pyasync::testing::detail
