#pragma once
/// \file
/// Async C++ cases in Boost.Test: `PYASYNC_BOOST_TEST_CASE`, `PYASYNC_BOOST_FIXTURE_TEST_CASE`,
/// `PYASYNC_BOOST_GLOBAL_FIXTURE` and the sub-second `pyasync::boost_test::timeout` decorator.
/// Link `pyasync::boost_test` (it holds `main`: the interpreter and an asyncio loop on the main
/// thread, then Boost's `unit_test_main`); do not define BOOST_TEST_MODULE's main yourself.
///
///     BOOST_AUTO_TEST_SUITE(net)
///     PYASYNC_BOOST_TEST_CASE(fetches, *boost::unit_test::label("fast")) -> pyasync::task<> {
///         auto v = co_await pyasync::await_as<int>(py_fn());
///         BOOST_TEST(v == 3);
///     }
///     BOOST_AUTO_TEST_SUITE_END()
///
/// A case body runs as an asyncio Task on the session loop, on the main thread, GIL held; Boost's
/// assertions work in it and in everything it awaits. `PYASYNC_TEST` cases linked into the same
/// binary are mirrored into Boost's tree (suite = their suite, tags = labels).

#include <pyasync/task.hpp>
#include <pyasync/testing/detail/invokers.hpp>
#include <pyasync/testing/registry.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <type_traits>

namespace pyasync::boost_test {

/// A case or suite timeout below Boost's whole seconds: the decorator `* pyasync::boost_test::timeout(250ms)`.
/// The case's Task is cancelled through asyncio when it expires (its tear-down runs) and Boost
/// reports the case as timed out. Boost's own `timeout(seconds)` works too, the same way. Also
/// sets Boost's `p_timeout` (rounded up), so listings and ctest see a timeout.
class timeout final : public boost::unit_test::decorator::base {
public:
    /// A limit of `limit` (any duration: `250ms`, `1.5s`).
    explicit timeout(std::chrono::duration<double> limit) : limit_(limit) {}

private:
    void apply(boost::unit_test::test_unit &unit) override;
    boost::unit_test::decorator::base_ptr clone() const override {
        return boost::unit_test::decorator::base_ptr(new timeout(limit_));
    }
    std::chrono::duration<double> limit_;
};

namespace detail {

/// Runs the Boost test case being executed as a pyasync case: on the session loop (main thread,
/// GIL held), as an asyncio Task when `invoker` is async, with the timeouts, hygiene checks and
/// verdict the harness applies; what it finds is reported to Boost.
void run_current_case(testing::case_invoker &invoker);

/// Runs `work` to completion on the session loop (main thread, GIL held): a global fixture's
/// set-up and tear-down. Throws what it throws.
void run_on_session_loop(task<> work);

/// Marks a test case registered by a `PYASYNC_BOOST_*` macro as async (for the listing).
class async_case final : public boost::unit_test::decorator::base {
    void apply(boost::unit_test::test_unit &unit) override;
    boost::unit_test::decorator::base_ptr clone() const override {
        return boost::unit_test::decorator::base_ptr(new async_case());
    }
};

/// The decorators given to a case macro, or none.
inline boost::unit_test::decorator::collector_t &decorators() {
    return boost::unit_test::decorator::collector_t::instance();
}
inline boost::unit_test::decorator::collector_t &decorators(boost::unit_test::decorator::collector_t &given) {
    return given;
}

// Boost's fixture hooks, `setup()` and `teardown()`: plain, or returning `pyasync::task<>`
// (testing::detail::call_hook runs a plain one now and returns a finished task).
template <typename F>
concept has_setup = requires(F &f) {
    f.setup();
};
template <typename F>
concept has_teardown = requires(F &f) {
    f.teardown();
};

/// A `PYASYNC_BOOST_FIXTURE_TEST_CASE`: `Case` derives from the fixture; constructed, set up,
/// run and torn down (also after a failure) inside the case's one Task.
template <typename Case>
class fixture_case_invoker final : public testing::case_invoker {
public:
    [[nodiscard]] testing::case_kind kind() const noexcept override { return testing::case_kind::async; }
    task<> run_async() override {
        testing::detail::erased_fixture_case erased{
            std::make_shared<Case>(),
            [](void *instance) {
                auto &fixture = *static_cast<Case *>(instance);
                if constexpr (has_setup<Case>) {
                    return testing::detail::call_hook([&] { return fixture.setup(); });
                }
                return testing::detail::completed();
            },
            [](void *instance) { return static_cast<Case *>(instance)->test_method(); },
            [](void *instance) {
                auto &fixture = *static_cast<Case *>(instance);
                if constexpr (has_teardown<Case>) {
                    return testing::detail::call_hook([&] { return fixture.teardown(); });
                }
                return testing::detail::completed();
            },
        };
        return testing::detail::run_fixture_case(std::move(erased));
    }
};

/// The function Boost registers for a `PYASYNC_BOOST_*` case.
template <typename Case>
void invoke_fixture_case() {
    static fixture_case_invoker<Case> invoker;
    run_current_case(invoker);
}

/// `PYASYNC_BOOST_GLOBAL_FIXTURE(F)`: one `F` for the whole run, made and set up (its `setup()`
/// plain or `pyasync::task<>`) on the session loop before the first case, torn down after the last.
template <typename F>
class async_global_fixture final : public boost::unit_test::global_fixture {
public:
    void setup() override {
        fixture_.emplace();
        if constexpr (has_setup<F>) {
            run_on_session_loop(testing::detail::call_hook([this] { return fixture_->setup(); }));
        }
    }
    void teardown() override {
        if (!fixture_) {
            return;
        }
        std::optional<F> ending; // destroyed after the tear-down, whether or not it throws
        if constexpr (has_teardown<F>) {
            ending.swap(fixture_);
            run_on_session_loop(testing::detail::call_hook([&] { return ending->teardown(); }));
        } else {
            fixture_.reset();
        }
    }

private:
    // No coroutine here: a coroutine template over the user's fixture type (often in an
    // anonymous namespace) makes GCC warn about the frame's linkage.
    std::optional<F> fixture_;
};

} // namespace detail
} // namespace pyasync::boost_test

/// An async Boost.Test case using fixture `F` (Boost's rules: the body is a member of a struct
/// deriving from `F`, so `F`'s members are in scope). `F`'s constructor, `setup()`, the body,
/// `teardown()` and destructor run in the case's one asyncio Task; `setup()`/`teardown()` may
/// return `pyasync::task<>`; tear-down runs also when the body failed, threw or was cancelled.
/// Decorators follow the fixture, as on Boost's own macro. The body follows the macro, written
/// `-> pyasync::task<> { ... }`.
#define PYASYNC_BOOST_FIXTURE_TEST_CASE(test_name, F, ...)                                                             \
    struct test_name : public F {                                                                                      \
        ::pyasync::task<> test_method();                                                                               \
    };                                                                                                                 \
    BOOST_AUTO_TU_REGISTRAR(test_name)                                                                                 \
    (::boost::unit_test::make_test_case(&::pyasync::boost_test::detail::invoke_fixture_case<test_name>, #test_name,    \
                                        __FILE__, __LINE__),                                                           \
     ::pyasync::boost_test::detail::decorators(__VA_ARGS__) * ::pyasync::boost_test::detail::async_case());            \
    auto test_name::test_method()

/// An async Boost.Test case (the suite's fixture, if it is a `BOOST_FIXTURE_TEST_SUITE`, as
/// with `BOOST_AUTO_TEST_CASE`). Decorators (`* boost::unit_test::label("fast")`, `timeout`,
/// `disabled`, `description`, `depends_on`, `precondition`) as on Boost's own macro.
#define PYASYNC_BOOST_TEST_CASE(test_name, ...)                                                                        \
    PYASYNC_BOOST_FIXTURE_TEST_CASE(test_name, BOOST_AUTO_TEST_CASE_FIXTURE __VA_OPT__(, ) __VA_ARGS__)

/// A run-wide fixture whose `setup()`/`teardown()` may be coroutines (`-> pyasync::task<>`),
/// run on the session loop before the first case and after the last.
#define PYASYNC_BOOST_GLOBAL_FIXTURE(F)                                                                                \
    static ::pyasync::boost_test::detail::async_global_fixture<F> BOOST_JOIN(pyasync_global_fixture_, __LINE__)
