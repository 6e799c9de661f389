// The harness's fixtures, exercised by the bridge suite: a case fixture with async set-up and
// tear-down, suite hooks, a global fixture, temp_dir, counted and the virtual clock.
#include <pyasync/fixtures/counted.hpp>
#include <pyasync/fixtures/temp_dir.hpp>
#include <pyasync/fixtures/virtual_clock.hpp>
#include <pyasync/pyasync.hpp>
#include <pyasync/test.hpp>

#include "dependencies.hpp"

#include <cmath>
#include <fstream>

namespace py = pybind11;

namespace {

int global_set_ups = 0;

/// One per session: proves the global fixture ran before the cases, on the session loop.
struct session_loop_probe {
    pyasync::task<> set_up() {
        co_await pyasync::sleep(0);
        ++global_set_ups;
    }
};

/// A connection-like fixture: set up and torn down around each case, on the case's loop.
struct connection {
    static inline int suite_set_ups = 0;
    static inline int open_connections = 0;
    std::string state;
    pyasync::fixtures::counted token;

    static void set_up_suite() { ++suite_set_ups; }
    pyasync::task<> set_up() {
        co_await pyasync::sleep(0.001);
        state = "open";
        ++open_connections;
    }
    pyasync::task<> tear_down() {
        co_await pyasync::sleep(0);
        state = "closed";
        --open_connections;
    }
};

} // namespace

PYASYNC_TEST_GLOBAL_FIXTURE(session_loop_probe);

PYASYNC_TEST(Fixtures, global_fixture_ran_once_before_the_cases) { PYASYNC_CHECK(global_set_ups == 1); }

PYASYNC_TEST_F(connection, is_open_in_an_async_case) -> pyasync::task<> {
    PYASYNC_CHECK(fixture.state == "open");
    PYASYNC_CHECK(connection::open_connections == 1);
    PYASYNC_CHECK(connection::suite_set_ups == 1);
    co_await pyasync::sleep(0);
}

PYASYNC_TEST_F(connection, is_open_in_a_sync_case) {
    PYASYNC_CHECK(fixture.state == "open");
    PYASYNC_CHECK(connection::suite_set_ups == 1);
    PYASYNC_CHECK(pyasync::fixtures::counted::alive() >= 1);
}

using scratch_dir = pyasync::fixtures::temp_dir;

PYASYNC_TEST_F(scratch_dir, is_a_fresh_writable_directory) {
    PYASYNC_REQUIRE(std::filesystem::is_directory(fixture.path));
    std::ofstream(fixture.path / "probe.txt") << "written";
    PYASYNC_CHECK(std::filesystem::file_size(fixture.path / "probe.txt") == 7u);
}

// ---- the loop-time controller ------------------------------------------------------------

using pyasync::fixtures::virtual_clock;

namespace {
// Virtual time is loop.time() plus float deltas: equal to the microsecond, not to the bit.
bool near(double seconds, double expected) { return std::abs(seconds - expected) < 1e-6; }
} // namespace

PYASYNC_TEST_F(virtual_clock, an_hour_of_sleep_passes_at_once) -> pyasync::task<> {
    co_await pyasync::loop_sleep(3600);
    co_await py::module_::import("asyncio").attr("sleep")(1800);
    PYASYNC_CHECK(near(fixture.elapsed(), 5400.0));
    PYASYNC_CHECK(fixture.jumps() == 2u); // two jumps, no waiting: without them the case would time out
}

PYASYNC_TEST_F(virtual_clock, advance_runs_exactly_the_timers_due_in_order) -> pyasync::task<> {
    py::list fired;
    py::object loop = pyasync::get_running_loop();
    for (int delay : {10, 5, 20, 5}) {
        loop.attr("call_later")(delay, fired.attr("append"), delay);
    }
    const double start = fixture.time();
    co_await fixture.advance(7);
    PYASYNC_CHECK(near(fixture.time(), start + 7));
    PYASYNC_CHECK(py::repr(fired).cast<std::string>() == "[5, 5]");
    co_await fixture.advance(13);
    PYASYNC_CHECK(py::repr(fired).cast<std::string>() == "[5, 5, 10, 20]");
    PYASYNC_CHECK(near(fixture.elapsed(), 20.0));
}

PYASYNC_TEST_F(virtual_clock, asyncio_timeouts_fire_at_their_virtual_deadline) -> pyasync::task<> {
    py::module_ asyncio = py::module_::import("asyncio");
    const double start = fixture.time();
    bool timed_out = false;
    try {
        co_await asyncio.attr("wait_for")(asyncio.attr("sleep")(100), 30);
    } catch (py::error_already_set &error) {
        timed_out = error.matches(PyExc_TimeoutError);
    }
    PYASYNC_CHECK(timed_out);
    PYASYNC_CHECK(near(fixture.time(), start + 30));
}

PYASYNC_TEST(VirtualClock, tear_down_gives_the_loop_its_real_clock_back) -> pyasync::task<> {
    py::object loop = pyasync::get_running_loop();
    {
        virtual_clock clock;
        clock.set_up();
        PYASYNC_CHECK(py::dict(loop.attr("__dict__")).contains("time"));
        co_await pyasync::loop_sleep(1000);
        PYASYNC_CHECK(near(clock.elapsed(), 1000.0));
    } // the destructor tears it down
    PYASYNC_CHECK(!py::dict(loop.attr("__dict__")).contains("time"));
    const double before = loop.attr("time")().cast<double>();
    co_await pyasync::loop_sleep(0.01);
    const double after = loop.attr("time")().cast<double>();
    PYASYNC_CHECK(after - before >= 0.01);
    PYASYNC_CHECK(after - before < 100.0);
}

PYASYNC_TEST(VirtualClock, refuses_uvloop_and_a_sync_case_with_a_clear_error) {
    virtual_clock outside_a_loop;
    PYASYNC_CHECK_THROWS_WITH(outside_a_loop.set_up(), "no running event loop");
    auto install = []() -> pyasync::task<> {
        virtual_clock clock;
        clock.set_up();
        co_return;
    };
    py::object runner = py::module_::import("asyncio").attr("Runner")(
        py::arg("loop_factory") = suite::require_module("uvloop").attr("new_event_loop"));
    PYASYNC_CHECK_THROWS_WITH(runner.attr("run")(pyasync::make_coroutine(install())),
                              "virtual_clock needs an asyncio selector event loop, got uvloop.Loop");
    runner.attr("close")();
}
