// A harness binary whose cases misbehave on purpose in the ways async tests really go wrong:
// they overrun their limit and swallow the cancellation or block the loop, catch a skip and then
// fail for real, exit or fork the process, hand the loop's exception handler an error. Each is
// followed by a sentinel that must pass. test_trust_edges.py runs them through every front end.
// Suites named Sentinel* must pass; every other case must fail.
#include <pyasync/fixtures/python_module.hpp>
#include <pyasync/pyasync.hpp>
#include <pyasync/test.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace py = pybind11;
using namespace std::chrono_literals;
using pyasync::testing::timeout;

namespace {

py::module_ helpers() {
    return pyasync::fixtures::module_from_source("escape_helpers", R"(
import asyncio, os, time

def raise_in_a_callback():
    def callback():
        raise ZeroDivisionError('raised in a loop callback')
    asyncio.get_running_loop().call_soon(callback)

def raise_in_a_callback_later(seconds):
    def callback():
        raise ZeroDivisionError('raised in a loop callback after its case ended')
    asyncio.get_running_loop().call_later(seconds, callback)

def install_a_silent_handler():
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)

def fork_and_wait_for_the_child():
    pid = os.fork()
    if pid == 0:
        return  # the child returns into the harness
    wait_for_the_child(pid)
    raise AssertionError('the parent fails after its child returned into the harness')

def wait_for_the_child(pid):
    # A child forked from a process with threads (the runtime's) can deadlock before it gets back
    # (a lock another thread held at the fork, under a sanitizer's allocator): bounded, then killed.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0] != 0:
            return
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
)");
}

/// Blocks the calling thread (the loop's, in an async case) for `duration`.
void block_the_thread(std::chrono::milliseconds duration) {
    py::gil_scoped_release release;
    std::this_thread::sleep_for(duration);
}

/// Sleeps on pyasync's runtime through every cancellation for `duration` in all.
pyasync::task<> sleep_ignoring_cancellation(std::chrono::milliseconds duration) {
    const auto end = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < end) {
        try {
            co_await pyasync::sleep(20ms);
        } catch (const pyasync::cancelled_error &) {
        }
    }
}

/// A helper that skips, called by a case that catches everything.
void helper_that_skips() {
    PYASYNC_SKIP("the helper found nothing to test");
}

} // namespace

#define PYASYNC_SENTINEL(n)                                                                                            \
    PYASYNC_TEST(Sentinel, after_##n) {}

// ---- 1. a timeout always holds: the verdict reads the clock ----------------------------------
PYASYNC_TEST(Overrun, swallows_the_cancellation_then_returns, timeout(300ms))->pyasync::task<> {
    co_await sleep_ignoring_cancellation(900ms);
}
PYASYNC_SENTINEL(1)
PYASYNC_TEST(Overrun, blocks_the_loop_then_returns, timeout(300ms))->pyasync::task<> {
    block_the_thread(900ms);
    co_await pyasync::sleep(0ms);
}
PYASYNC_SENTINEL(2)
PYASYNC_TEST(Overrun, blocks_the_loop_after_suspending_then_returns, timeout(300ms))->pyasync::task<> {
    co_await pyasync::sleep(0ms);
    block_the_thread(900ms);
}
PYASYNC_SENTINEL(3)

// ---- 2. an escape from a case is caught ------------------------------------------------------
PYASYNC_TEST(Escape, skip_caught_then_python_error)->pyasync::task<> {
    try {
        helper_that_skips();
    } catch (...) {
    }
    co_await pyasync::sleep(0ms);
    throw py::value_error("a real failure after the skip was caught");
}
PYASYNC_SENTINEL(4)
PYASYNC_TEST(Escape, skip_caught_then_check_fails)->pyasync::task<> {
    try {
        helper_that_skips();
    } catch (...) {
    }
    co_await pyasync::sleep(0ms);
    PYASYNC_CHECK(1 + 1 == 3);
}
PYASYNC_SENTINEL(5)
PYASYNC_TEST(Escape, skip_caught_then_cpp_exception) {
    try {
        helper_that_skips();
    } catch (...) {
    }
    throw std::runtime_error("a real failure after the skip was caught");
}
PYASYNC_SENTINEL(6)
PYASYNC_TEST(Escape, forks_in_cpp_and_the_child_returns) {
    const pid_t child = fork();
    if (child == 0) {
        return; // the child returns into the harness: it must leave at once, reporting nothing
    }
    helpers().attr("wait_for_the_child")(child);
    PYASYNC_FAIL("the parent fails after its child returned into the harness");
}
PYASYNC_SENTINEL(7)
PYASYNC_TEST(Escape, forks_in_python_after_suspending_and_the_child_returns)->pyasync::task<> {
    co_await pyasync::sleep(0ms);
    helpers().attr("fork_and_wait_for_the_child")();
}
PYASYNC_SENTINEL(8)

// ---- 4. an error reaching the loop's exception handler fails the case ------------------------
// A case may install its own handler; the next case must still have the harness's.
PYASYNC_TEST(LoopError, installs_a_silent_handler_then_fails)->pyasync::task<> {
    helpers().attr("install_a_silent_handler")();
    co_await pyasync::sleep(0ms);
    PYASYNC_FAIL("fails on purpose, leaving its silent handler on the shared loop");
}
PYASYNC_SENTINEL(9)
PYASYNC_TEST(LoopError, a_callback_raises)->pyasync::task<> {
    helpers().attr("raise_in_a_callback")();
    co_await pyasync::sleep(10ms);
}
PYASYNC_SENTINEL(10)

// ---- cases that end the process: run one at a time (each with its sentinel after it) ---------
PYASYNC_TEST(Exits, exit_zero_in_a_sync_case) {
    std::exit(0);
}
PYASYNC_TEST(Exits, exit_zero_after_a_co_await)->pyasync::task<> {
    co_await pyasync::sleep(0ms);
    std::exit(0);
}
PYASYNC_TEST(Exits, underscore_exit_zero)->pyasync::task<> {
    co_await pyasync::sleep(0ms);
    std::_Exit(0);
}
PYASYNC_TEST(Exits, blocks_the_loop_forever, timeout(300ms))->pyasync::task<> {
    co_await pyasync::sleep(0ms);
    for (;;) {
        block_the_thread(1000ms);
    }
}
PYASYNC_SENTINEL(11)

// ---- 3. the serving protocol cannot be confused: run through the pytest plugin ---------------
PYASYNC_TEST(Serve, stops_the_loop)->pyasync::task<> {
    py::module_::import("asyncio").attr("get_running_loop")().attr("stop")();
    co_await pyasync::sleep(50ms);
}
PYASYNC_TEST(Serve, sigterms_its_own_process)->pyasync::task<> {
    kill(getpid(), SIGTERM);
    co_await pyasync::sleep(1000ms);
}
PYASYNC_TEST(Serve, closes_every_inherited_descriptor) {
    for (int fd = 3; fd < 1024; ++fd) {
        close(fd);
    }
}
PYASYNC_TEST(Serve, starts_a_background_process_then_aborts) {
    if (std::system("sleep 120 &") != 0) {
        PYASYNC_FAIL("could not start the background process");
    }
    std::abort();
}
PYASYNC_TEST(Serve, fails_from_its_second_run_on) {
    static int runs = 0;
    PYASYNC_CHECK(++runs == 1);
}
PYASYNC_TEST(Serve, sentinel) {}
// Passes itself; its callback fails after it ended, while the next case waits (a serving child
// has retired its row by then): the failure names it and fails the run, and the next case passes.
PYASYNC_TEST(Serve, leaves_a_callback_that_raises_later)->pyasync::task<> {
    helpers().attr("raise_in_a_callback_later")(0.1);
    co_return;
}
PYASYNC_TEST(Serve, waits_on_the_loop)->pyasync::task<> {
    co_await pyasync::loop_sleep(0.4);
}
