// The Boost.Test adapter tested from outside (test_boost_adapter.py): cases that pass and fail
// in every way the reference lists (a REQUIRE two coroutines deep through Python, timeouts, a
// leaked task, a loop callback error, asyncio.run inside a case), labels Boost cannot parse, an
// async fixture and an async global fixture, sync Boost cases beside async ones, and PYASYNC_TEST
// cases mirrored into the tree. Each case that runs appends a line to $BOOST_PROBE_LOG. It fails
// on purpose: it is not registered with ctest.
#include <pyasync/boost_test.hpp>
#include <pyasync/pyasync.hpp>
#include <pyasync/test.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <string_view>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;
namespace py = pybind11;
namespace ut = boost::unit_test;

namespace {

void log(std::string_view line) {
    if (const char *path = std::getenv("BOOST_PROBE_LOG")) {
        std::ofstream(path, std::ios::app) << line << "\n";
    }
}

/// A Python coroutine function relaying to whatever it is given: `relay(aw)` awaits `aw`.
py::object relay() {
    py::dict scope;
    py::exec("async def relay(awaitable):\n    return await awaitable\n", scope);
    return scope["relay"];
}

pyasync::task<int> three_after_a_sleep() {
    co_await pyasync::sleep(0.01);
    co_return 3;
}

pyasync::task<> innermost_requires() {
    co_await pyasync::sleep(0.01);
    BOOST_REQUIRE_MESSAGE(false, "innermost REQUIRE after a real suspension");
    log("after the innermost REQUIRE");
}

pyasync::task<> middle_awaits_through_python() {
    co_await pyasync::await_as<void>(relay()(pyasync::make_coroutine(innermost_requires())));
    log("after the Python relay");
}

/// A context variable the async fixture sets in its set-up and the body reads.
py::object context_variable() {
    // Never destroyed: a static py::object would be released after Python is finalised.
    static auto *variable = new py::object(py::module_::import("contextvars").attr("ContextVar")("probe_fixture"));
    return *variable;
}

struct async_server {
    int port = 0;
    async_server() { log("fixture constructed"); }
    pyasync::task<> setup() {
        co_await pyasync::sleep(0.01);
        port = 8080;
        context_variable().attr("set")("set in set-up");
        log("fixture set up");
    }
    pyasync::task<> teardown() {
        co_await pyasync::sleep(0.01);
        log("fixture torn down");
    }
    ~async_server() { log("fixture destroyed"); }
};

struct async_global {
    pyasync::task<> setup() {
        co_await pyasync::sleep(0);
        log("global set up");
    }
    pyasync::task<> teardown() {
        co_await pyasync::sleep(0);
        log("global torn down");
    }
};

} // namespace

PYASYNC_BOOST_GLOBAL_FIXTURE(async_global);

BOOST_AUTO_TEST_SUITE(net)

PYASYNC_BOOST_TEST_CASE(fetches, *ut::label("fast")) -> pyasync::task<> {
    const int value = co_await three_after_a_sleep();
    BOOST_TEST(value == 3);
    BOOST_REQUIRE(value > 0);
    log("ran net/fetches");
}

PYASYNC_BOOST_TEST_CASE(check_fails, *ut::label("fails")) -> pyasync::task<> {
    co_await pyasync::sleep(0.01);
    BOOST_TEST(1 + 1 == 3);
    log("ran net/check_fails to the end");
}

PYASYNC_BOOST_TEST_CASE(requires_deep, *ut::label("fails")) -> pyasync::task<> {
    co_await middle_awaits_through_python();
    log("after the deep REQUIRE");
}

PYASYNC_BOOST_TEST_CASE(http_fail, *ut::label("fails")) -> pyasync::task<> {
    co_await pyasync::sleep(0);
    throw std::runtime_error("the http server answered 500");
}

PYASYNC_BOOST_TEST_CASE(python_raises, *ut::label("fails")) -> pyasync::task<> {
    co_await pyasync::await_as<void>(py::module_::import("asyncio").attr("sleep")(0));
    py::module_::import("json").attr("loads")("{not json");
}

BOOST_AUTO_TEST_CASE(sync_sees_the_loop) {
    py::object loop = py::module_::import("asyncio").attr("get_event_loop")();
    BOOST_TEST(!loop.attr("is_closed")().cast<bool>());
    log("ran net/sync_sees_the_loop");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(timing)

PYASYNC_BOOST_TEST_CASE(boost_timeout, *ut::label("slow") * ut::timeout(1)) -> pyasync::task<> {
    co_await pyasync::sleep(3);
    log("boost_timeout finished its sleep");
}

PYASYNC_BOOST_TEST_CASE(sub_second_timeout, *pyasync::boost_test::timeout(200ms)) -> pyasync::task<> {
    co_await pyasync::sleep(3);
    log("sub_second_timeout finished its sleep");
}

PYASYNC_BOOST_FIXTURE_TEST_CASE(fixture_times_out, async_server, *pyasync::boost_test::timeout(300ms))
-> pyasync::task<> {
    co_await pyasync::sleep(3);
}

PYASYNC_BOOST_TEST_CASE(healthy_after) -> pyasync::task<> {
    co_await pyasync::sleep(0.01);
    log("ran timing/healthy_after");
}

BOOST_AUTO_TEST_SUITE_END()

// Overruns the cancellation never ended in time: the verdict reads the clock (issue 29).
BOOST_AUTO_TEST_SUITE(overruns)

PYASYNC_BOOST_TEST_CASE(swallows_the_cancellation, *pyasync::boost_test::timeout(300ms)) -> pyasync::task<> {
    try {
        co_await pyasync::sleep(3);
    } catch (const pyasync::cancelled_error &) {
    }
    co_await pyasync::sleep(0.4);
    log("overruns/swallows_the_cancellation returned");
}

PYASYNC_BOOST_TEST_CASE(blocks_the_loop_then_returns, *pyasync::boost_test::timeout(300ms)) -> pyasync::task<> {
    co_await pyasync::sleep(0);
    {
        pybind11::gil_scoped_release release;
        std::this_thread::sleep_for(700ms);
    }
    log("overruns/blocks_the_loop_then_returns returned");
}

PYASYNC_BOOST_TEST_CASE(healthy_after_them) -> pyasync::task<> {
    co_await pyasync::sleep(0.01);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(slow_suite, *ut::timeout(2))
PYASYNC_BOOST_TEST_CASE(longer_than_its_suite) -> pyasync::task<> {
    co_await pyasync::sleep(3);
    log("longer_than_its_suite finished its sleep");
}
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(fixtures)

PYASYNC_BOOST_FIXTURE_TEST_CASE(with_server, async_server) -> pyasync::task<> {
    BOOST_TEST(port == 8080);
    BOOST_TEST(context_variable().attr("get")("unset").cast<std::string>() == "set in set-up");
    co_await pyasync::sleep(0.01);
    log("ran fixtures/with_server");
}

PYASYNC_BOOST_FIXTURE_TEST_CASE(body_fails_teardown_runs, async_server, *ut::label("fails")) -> pyasync::task<> {
    co_await pyasync::sleep(0.01);
    BOOST_FAIL("the body failed");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hygiene)

PYASYNC_BOOST_TEST_CASE(leaks_a_task) -> pyasync::task<> {
    py::dict scope;
    py::exec(R"(
import asyncio
async def leaked(log):
    try:
        await asyncio.sleep(10)
    finally:
        log('leaked task cancelled')
)",
             scope);
    py::module_::import("asyncio").attr("ensure_future")(
        scope["leaked"](py::cpp_function([](std::string line) { log(line); })));
    co_await pyasync::sleep(0.01);
}

PYASYNC_BOOST_TEST_CASE(after_the_leak) -> pyasync::task<> {
    co_await pyasync::sleep(0.05);
    log("ran hygiene/after_the_leak");
}

// Leaves a silent exception handler on the shared loop: the next case's error must still fail it.
PYASYNC_BOOST_TEST_CASE(installs_a_silent_handler) -> pyasync::task<> {
    py::object loop = py::module_::import("asyncio").attr("get_running_loop")();
    loop.attr("set_exception_handler")(py::cpp_function([](py::handle, py::handle) {}));
    co_await pyasync::sleep(0.01);
}

PYASYNC_BOOST_TEST_CASE(callback_raises, *ut::label("fails")) -> pyasync::task<> {
    py::object loop = py::module_::import("asyncio").attr("get_running_loop")();
    loop.attr("call_soon")(py::module_::import("operator").attr("truediv"), 1, 0);
    co_await pyasync::sleep(0.01);
}

PYASYNC_BOOST_TEST_CASE(unretrieved_task_exception, *ut::label("fails")) -> pyasync::task<> {
    py::dict scope;
    py::exec("async def fails():\n    raise ValueError('nobody retrieves me')\n", scope);
    py::object task = py::module_::import("asyncio").attr("ensure_future")(scope["fails"]());
    co_await pyasync::sleep(0.01);
    task = py::object(); // the last reference: the Task is collected with its exception unseen
    co_await pyasync::sleep(0);
}

BOOST_AUTO_TEST_CASE(calls_asyncio_run) {
    py::dict scope;
    py::exec("import asyncio\nasync def answer():\n    return 42\nresult = asyncio.run(answer())\n", scope);
    BOOST_TEST(scope["result"].cast<int>() == 42);
}

PYASYNC_BOOST_TEST_CASE(async_after_asyncio_run) -> pyasync::task<> {
    co_await pyasync::sleep(0.01);
    log("ran hygiene/async_after_asyncio_run");
}

PYASYNC_BOOST_TEST_CASE(prints_in_order) -> pyasync::task<> {
    py::print("python line 1");
    BOOST_TEST_MESSAGE("boost line 2");
    co_await pyasync::sleep(0);
    py::print("python line 3");
}

PYASYNC_BOOST_TEST_CASE(interrupts_itself, *ut::label("interrupt") * ut::disabled()) -> pyasync::task<> {
    log("interrupts_itself started");
    std::raise(SIGINT);
    co_await pyasync::sleep(3);
    log("interrupts_itself not cancelled");
}

PYASYNC_BOOST_TEST_CASE(exits_zero, *ut::label("exits") * ut::disabled()) -> pyasync::task<> {
    co_await pyasync::sleep(0.01);
    std::exit(0);
}

BOOST_AUTO_TEST_SUITE_END()

// Mirrored from pyasync's own registry: suite Mirrored, tags as labels (':', ',', '/' and spaces
// made selectable), an ignored case, a timeout, a failing PYASYNC_CHECK.
PYASYNC_TEST(Mirrored, sync_passes, pyasync::testing::tags("[fast][net:http][slow io, disk/ssd]")) {
    PYASYNC_CHECK(1 + 1 == 2);
    log("ran Mirrored/sync_passes");
}
PYASYNC_TEST(Mirrored, async_passes, pyasync::testing::tags("[fast]")) -> pyasync::task<> {
    co_await pyasync::sleep(0.01);
    PYASYNC_CHECK(2 * 3 == 6);
    log("ran Mirrored/async_passes");
}
PYASYNC_TEST(Mirrored, expect_fails, pyasync::testing::tags("[fails]")) -> pyasync::task<> {
    co_await pyasync::sleep(0);
    PYASYNC_CHECK(2 * 3 == 7);
}
PYASYNC_TEST(Mirrored, times_out, pyasync::testing::timeout(250ms)) -> pyasync::task<> {
    co_await pyasync::sleep(3);
}
PYASYNC_TEST(Mirrored, ignored_one, pyasync::testing::ignore("flaky on Tuesdays")) {
    log("ran Mirrored/ignored_one");
}
