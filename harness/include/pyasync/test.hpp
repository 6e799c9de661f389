#pragma once
/// \file
/// Writing tests: `PYASYNC_TEST`, `PYASYNC_TEST_F`, `PYASYNC_TEST_GLOBAL_FIXTURE`, the attributes
/// and the assertions. Link `pyasync::harness_main` (or write a `main` around
/// `pyasync::testing::session`), and the binary accepts the `pyasync-test` command line.
///
///     PYASYNC_TEST(Bridge, adds) { PYASYNC_CHECK(1 + 1 == 2); }                 // sync case
///     PYASYNC_TEST(Bridge, sleeps, pyasync::testing::timeout(2s)) -> pyasync::task<> {  // async case
///         co_await pyasync::sleep(0.01);
///     }
///
/// Whether a case is async is in its signature, as `async fn` against `fn`: a body with no
/// return type is a sync case; `-> pyasync::task<>` makes it a coroutine, run as an asyncio Task
/// on the session loop on the main thread. Sync cases run on the main thread too, while the loop
/// is idle (nothing else in flight), so they never block it behind the loop's back.

#include <pyasync/testing/assertions.hpp>
#include <pyasync/testing/detail/invokers.hpp>
#include <pyasync/testing/registry.hpp>

#define PYASYNC_TEST_TAG_(Suite, Case) pyasync_case_##Suite##_##Case

/// Registers the case `Suite.Case`; the body follows, with `-> pyasync::task<>` for an async
/// case. Optional attributes after the name: `tags("[net]")`, `ignore("why")`,
/// `timeout(5s)`, `resource_lock("db")` (namespace `pyasync::testing`).
#define PYASYNC_TEST(Suite, Case, ...)                                                                                 \
    struct PYASYNC_TEST_TAG_(Suite, Case) {};                                                                          \
    static const ::pyasync::testing::detail::case_registrar pyasync_registrar_##Suite##_##Case{                        \
        #Suite,                                                                                                        \
        #Case,                                                                                                         \
        __FILE__,                                                                                                      \
        __LINE__,                                                                                                      \
        &::pyasync::testing::detail::make_invoker<                                                                     \
            ::pyasync::testing::detail::function_invoker<PYASYNC_TEST_TAG_(Suite, Case)>>,                             \
        ::pyasync::testing::suite_hooks{} __VA_OPT__(, ) __VA_ARGS__};                                                 \
    [[maybe_unused]] static auto pyasync_case(PYASYNC_TEST_TAG_(Suite, Case))

/// Registers the case `Fixture.Case` with a fresh `Fixture` per case, visible in the body as
/// `fixture`. `Fixture` is default-constructible and may have `set_up()` / `tear_down()`
/// (plain or returning `pyasync::task<>`; tear-down runs also when the case failed) and static
/// `set_up_suite()` / `tear_down_suite()`, run once around the cases of the suite.
#define PYASYNC_TEST_F(Fixture, Case, ...)                                                                             \
    struct PYASYNC_TEST_TAG_(Fixture, Case) {};                                                                        \
    static const ::pyasync::testing::detail::case_registrar pyasync_registrar_##Fixture##_##Case{                      \
        #Fixture,                                                                                                      \
        #Case,                                                                                                         \
        __FILE__,                                                                                                      \
        __LINE__,                                                                                                      \
        &::pyasync::testing::detail::make_invoker<                                                                     \
            ::pyasync::testing::detail::fixture_invoker<PYASYNC_TEST_TAG_(Fixture, Case), Fixture>>,                   \
        ::pyasync::testing::detail::hooks_of<Fixture>(#Fixture) __VA_OPT__(, ) __VA_ARGS__};                           \
    [[maybe_unused]] static auto pyasync_case(PYASYNC_TEST_TAG_(Fixture, Case), [[maybe_unused]] Fixture &fixture)

/// Registers a session-wide fixture: one `Type`, set up (plain or `pyasync::task<>`) before the
/// first case on the session loop, torn down after the last case. A failing set-up ends the
/// run with exit status 3 before any case runs.
#define PYASYNC_TEST_GLOBAL_FIXTURE(Type)                                                                              \
    static const ::pyasync::testing::detail::global_fixture_registrar pyasync_global_fixture_##Type {                  \
#        Type, &::pyasync::testing::detail::make_global < Type>                                                        \
    }
