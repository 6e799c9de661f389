// The harness's fixtures, exercised by the bridge suite: a case fixture with async set-up and
// tear-down, suite hooks, a global fixture, temp_dir and counted.
#include <pyasync/fixtures/counted.hpp>
#include <pyasync/fixtures/temp_dir.hpp>
#include <pyasync/pyasync.hpp>
#include <pyasync/test.hpp>

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
