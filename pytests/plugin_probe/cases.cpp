// The C++ cases the pytest plugin collects and runs in test_plugin_cpp_cases.py: every outcome,
// a suite fixture, tags, crashes and hangs. Each case that runs appends a line to
// $PLUGIN_PROBE_LOG, so a test can count what ran and how often (exactly once under xdist).
// Like the harness probe, it fails on purpose: it is not registered with ctest.
#include <pyasync/pyasync.hpp>
#include <pyasync/test.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;
using namespace pyasync::testing;
namespace py = pybind11;

namespace {

void log(std::string_view line) {
    if (const char *path = std::getenv("PLUGIN_PROBE_LOG")) {
        std::ofstream(path, std::ios::app) << line << " pid=" << getpid() << "\n";
    }
}

struct fails_when_asked {
    void set_up() {
        if (std::getenv("PLUGIN_PROBE_FAIL_GLOBAL") != nullptr) {
            throw std::runtime_error("the license server is down");
        }
    }
};

struct served {
    static pyasync::task<> set_up_suite() {
        co_await pyasync::sleep(0);
        log("set_up_suite Served");
        if (std::getenv("PLUGIN_PROBE_FAIL_SUITE_SET_UP") != nullptr) {
            throw std::runtime_error("the suite's server did not start");
        }
    }
    static void tear_down_suite() {
        log("tear_down_suite Served");
        if (std::getenv("PLUGIN_PROBE_FAIL_SUITE_TEAR_DOWN") != nullptr) {
            throw std::runtime_error("the suite's server did not stop");
        }
    }
};

} // namespace

PYASYNC_TEST_GLOBAL_FIXTURE(fails_when_asked);

PYASYNC_TEST(Outcomes, passes) { log("ran Outcomes.passes"); }
PYASYNC_TEST(Outcomes, async_passes) -> pyasync::task<> {
    co_await pyasync::sleep(0);
    log("ran Outcomes.async_passes");
}
PYASYNC_TEST(Outcomes, fails_check) {
    log("ran Outcomes.fails_check");
    const int answer = 41;
    PYASYNC_CHECK(answer == 42);
}
PYASYNC_TEST(Outcomes, raises_python) -> pyasync::task<> {
    log("ran Outcomes.raises_python");
    co_await pyasync::sleep(0);
    py::module_::import("json").attr("loads")("{not json");
}
PYASYNC_TEST(Outcomes, skipped) {
    log("ran Outcomes.skipped");
    PYASYNC_SKIP("needs a GPU");
}
PYASYNC_TEST(Outcomes, prints) {
    log("ran Outcomes.prints");
    std::cout << "hello from C++" << std::endl;
}
PYASYNC_TEST(Outcomes, ignored, ignore("flaky upstream")) { log("ran Outcomes.ignored"); }
PYASYNC_TEST(Outcomes, tagged_net, tags("[net][slow]")) { log("ran Outcomes.tagged_net"); }
PYASYNC_TEST(Outcomes, tagged_fast, tags("[fast][skip]")) { log("ran Outcomes.tagged_fast"); }

PYASYNC_TEST_F(served, first) { log("ran served.first"); }
PYASYNC_TEST_F(served, second) -> pyasync::task<> {
    co_await pyasync::sleep(0);
    log("ran served.second");
}

#define PLUGIN_PROBE_COUNTED(n) \
    PYASYNC_TEST(Counted, case_##n) { log("ran Counted.case_" #n); }
PLUGIN_PROBE_COUNTED(0)
PLUGIN_PROBE_COUNTED(1)
PLUGIN_PROBE_COUNTED(2)
PLUGIN_PROBE_COUNTED(3)
PLUGIN_PROBE_COUNTED(4)
PLUGIN_PROBE_COUNTED(5)
PLUGIN_PROBE_COUNTED(6)
PLUGIN_PROBE_COUNTED(7)
PLUGIN_PROBE_COUNTED(8)
PLUGIN_PROBE_COUNTED(9)

PYASYNC_TEST(Crash, before) { log("ran Crash.before"); }
PYASYNC_TEST(Crash, segfaults) {
    log("ran Crash.segfaults");
    std::cerr << "about to crash" << std::endl;
    std::raise(SIGSEGV);
}
PYASYNC_TEST(Crash, after) { log("ran Crash.after"); }

// Hangs: the harness's own timeout ends the first two (the async one is cancelled; the sync one
// is aborted by the watchdog); the third also defeats the watchdog, so only the plugin's
// deadline ends it.
PYASYNC_TEST(Hang, async_sleeps, timeout(1s)) -> pyasync::task<> {
    log("ran Hang.async_sleeps");
    co_await py::module_::import("asyncio").attr("sleep")(3600);
}
PYASYNC_TEST(Hang, sync_blocks, timeout(1s)) {
    log("ran Hang.sync_blocks");
    py::gil_scoped_release released;
    for (;;) std::this_thread::sleep_for(3600s);
}
PYASYNC_TEST(Hang, outlives_its_watchdog, timeout(1s)) {
    log("ran Hang.outlives_its_watchdog");
    std::signal(SIGABRT, [](int) {
        for (;;) pause();
    });
    py::gil_scoped_release released;
    for (;;) std::this_thread::sleep_for(3600s);
}
PYASYNC_TEST(Hang, after) { log("ran Hang.after"); }
PYASYNC_TEST(Hang, until_interrupted, ignore("hangs: the Ctrl-C test runs it")) -> pyasync::task<> {
    log("ran Hang.until_interrupted");
    co_await py::module_::import("asyncio").attr("sleep")(3600);
}
