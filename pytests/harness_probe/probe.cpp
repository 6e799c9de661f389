// A harness binary with every kind of outcome, driven from outside by test_harness_cli.py.
// Its failing, hanging and crashing cases are the point: it is not registered with ctest.
#include <pyasync/fixtures/python_module.hpp>
#include <pyasync/pyasync.hpp>
#include <pyasync/test.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <thread>

using namespace std::chrono_literals;
using namespace pyasync::testing;
namespace py = pybind11;

namespace {
struct failing_global {
    void set_up() {
        if (std::getenv("PROBE_FAIL_GLOBAL") != nullptr) {
            throw std::runtime_error("the database is down");
        }
    }
};
} // namespace

PYASYNC_TEST_GLOBAL_FIXTURE(failing_global);

PYASYNC_TEST(Probe, passes) {}

PYASYNC_TEST(Probe, async_passes) -> pyasync::task<> { co_await pyasync::sleep(0); }

PYASYNC_TEST(Probe, fails_check) {
    const int answer = 41;
    PYASYNC_CHECK(answer == 42);
    PYASYNC_CHECK(std::string("left") == "right");
}

PYASYNC_TEST(Probe, fails_require_in_coroutine) -> pyasync::task<> {
    co_await pyasync::sleep(0);
    const std::vector<int> values{1, 2};
    PYASYNC_REQUIRE(values.size() == 3u);
    PYASYNC_ADD_FAILURE("not reached: REQUIRE ends the case");
}

PYASYNC_TEST(Probe, python_exception) -> pyasync::task<> {
    py::module_ helper = pyasync::fixtures::module_from_source("probe_py", R"(
async def explode():
    raise KeyError('missing key')
)");
    co_await helper.attr("explode")();
}

PYASYNC_TEST(Probe, cpp_exception) { throw std::out_of_range("index 7 past the end"); }

PYASYNC_TEST(Probe, throws_check) {
    PYASYNC_CHECK_THROWS_AS(throw std::invalid_argument("x"), std::invalid_argument);
    PYASYNC_CHECK_THROWS_WITH(throw std::runtime_error("disk full"), "disk");
    PYASYNC_CHECK_THROWS_AS((void)0, std::logic_error);
}

PYASYNC_TEST(Probe, skipped) { PYASYNC_SKIP("needs a GPU"); }

PYASYNC_TEST(Probe, ignored, ignore("flaky upstream")) {}

PYASYNC_TEST(Probe, tagged_net, tags("[net][slow]")) {}

PYASYNC_TEST(Probe, tagged_fast, tags("[fast]"), resource_lock("db"), timeout(5s)) {}

PYASYNC_TEST(Probe, prints_hostile_output) {
    std::cout << "plain line\n" << "xml breakers: </system-out> ]]> & <tag> \"quote\"\n";
    std::cout << "control \x01\x1b and invalid utf-8 \xff\xfe end\n";
    py::print("from python print");
    PYASYNC_CHECK(1 == 2);
}

PYASYNC_TEST(Probe, leaves_a_task_pending) -> pyasync::task<> {
    pyasync::get_running_loop().attr("create_task")(py::module_::import("asyncio").attr("sleep")(60));
    co_return;
}

PYASYNC_TEST(DISABLED_Probe, disabled_by_prefix) {}

// Never-awaited coroutines: a Python one dropped by a sync case, a C++ one dropped by an async
// case, and one that only a reference cycle keeps alive until the collector runs.
namespace {
py::module_ forgetful_module() {
    return pyasync::fixtures::module_from_source("probe_forgetful", R"(
async def forgotten():
    pass

def forget_in_a_cycle():
    box = [forgotten()]
    box.append(box)
)");
}
pyasync::task<int> forgotten_in_cpp() { co_return 1; }
} // namespace

PYASYNC_TEST(Unawaited, drops_a_python_coroutine) { forgetful_module().attr("forgotten")(); }

PYASYNC_TEST(Unawaited, drops_a_cpp_coroutine) -> pyasync::task<> {
    pyasync::make_coroutine(forgotten_in_cpp());
    co_await pyasync::sleep(0);
}

PYASYNC_TEST(Unawaited, drops_one_in_a_reference_cycle) { forgetful_module().attr("forget_in_a_cycle")(); }

// Concurrency: each prints when it starts and ends.
PYASYNC_TEST(Parallel, a) -> pyasync::task<> { std::cout << "start a\n"; co_await pyasync::sleep(0.05); std::cout << "end a\n"; }
PYASYNC_TEST(Parallel, b) -> pyasync::task<> { std::cout << "start b\n"; co_await pyasync::sleep(0.05); std::cout << "end b\n"; }
PYASYNC_TEST(Parallel, c) -> pyasync::task<> { std::cout << "start c\n"; co_await pyasync::sleep(0.05); std::cout << "end c\n"; }

PYASYNC_TEST(Loop, reports_its_loop) -> pyasync::task<> {
    py::object loop = pyasync::get_running_loop();
    std::cout << "loop " << py::str(py::type::of(loop).attr("__module__")).cast<std::string>() << " "
              << reinterpret_cast<std::uintptr_t>(loop.ptr()) % 1000003 << " debug="
              << loop.attr("get_debug")().cast<bool>() << "\n";
    co_return;
}
PYASYNC_TEST(Loop, reports_its_loop_again) -> pyasync::task<> {
    py::object loop = pyasync::get_running_loop();
    std::cout << "loop " << py::str(py::type::of(loop).attr("__module__")).cast<std::string>() << " "
              << reinterpret_cast<std::uintptr_t>(loop.ptr()) % 1000003 << "\n";
    co_return;
}

PYASYNC_TEST(Hang, async_sleeps_forever, ignore("hangs: run with --timeout")) -> pyasync::task<> {
    co_await py::module_::import("asyncio").attr("sleep")(3600);
}
PYASYNC_TEST(Hang, sync_blocks_forever, ignore("hangs: run with --timeout")) {
    py::gil_scoped_release released;
    for (;;) std::this_thread::sleep_for(3600s); // an interrupted sleep (EINTR under ASan) sleeps again
}
PYASYNC_TEST(Crash, segfaults, ignore("crashes: run with --isolate")) { std::raise(SIGSEGV); }
PYASYNC_TEST(Crash, survives_next) {}
