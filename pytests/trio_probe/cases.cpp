// A harness binary run with --loop-factory trio by test_harness_trio.py: async cases under
// trio.run, with every verdict on purpose (passes, a failed check, a Python error, timeouts
// through a trio cancel scope, fixtures whose coroutines run under trio). Not registered with
// ctest: its failures are the point.
#include <pyasync/fixtures/python_module.hpp>
#include <pyasync/pyasync.hpp>
#include <pyasync/test.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace pyasync::testing;
namespace py = pybind11;

namespace {

py::module_ trio_helpers() {
    return pyasync::fixtures::module_from_source("trio_probe_helpers", R"(
import sniffio
import trio

async def nap(value):
    await trio.sleep(0.001)
    return value

def library():
    return sniffio.current_async_library()

async def explode():
    await trio.sleep(0)
    raise KeyError("missing under trio")
)");
}

std::vector<std::string> fixture_events;

struct trio_resource {
    std::string library;
    pyasync::task<> set_up() {
        co_await pyasync::loop_sleep(0.001); // trio.sleep: the set-up runs under trio.run too
        library = trio_helpers().attr("library")().cast<std::string>();
        fixture_events.push_back("set_up");
    }
    pyasync::task<> tear_down() {
        co_await pyasync::loop_sleep(0);
        fixture_events.push_back("tear_down");
    }
};

} // namespace

PYASYNC_TEST(Trio, cpp_sleeps_and_trio_awaitables)->pyasync::task<> {
    co_await pyasync::sleep(1ms);      // a runtime timer, completing through the trio run
    co_await pyasync::loop_sleep(1ms); // trio's clock
    const int napped = co_await pyasync::await_as<int>(trio_helpers().attr("nap")(7));
    PYASYNC_CHECK(napped == 7);
    PYASYNC_CHECK(trio_helpers().attr("library")().cast<std::string>() == "trio");
}

PYASYNC_TEST(Trio, gather_runs_in_a_nursery)->pyasync::task<> {
    py::module_ helpers = trio_helpers();
    std::vector<py::object> naps{helpers.attr("nap")(1), helpers.attr("nap")(2)};
    std::vector<py::object> results = co_await pyasync::gather(std::move(naps));
    PYASYNC_CHECK(results.size() == 2u);
    PYASYNC_CHECK(results[0].cast<int>() + results[1].cast<int>() == 3);
}

PYASYNC_TEST(Trio, a_sync_case_runs_too) {
    PYASYNC_CHECK(1 + 1 == 2);
}

PYASYNC_TEST_F(trio_resource, a_fixture_set_up_under_trio)->pyasync::task<> {
    PYASYNC_CHECK(fixture.library == "trio");
    PYASYNC_CHECK(fixture_events == std::vector<std::string>{"set_up"});
    co_return;
}

PYASYNC_TEST(TrioFails, a_failed_check)->pyasync::task<> {
    co_await pyasync::loop_sleep(0);
    const int answer = 41;
    PYASYNC_CHECK(answer == 42);
}

PYASYNC_TEST(TrioFails, a_python_error)->pyasync::task<> {
    co_await pyasync::await_as<void>(trio_helpers().attr("explode")());
}

PYASYNC_TEST(TrioFails, runs_past_its_timeout, timeout(200ms))->pyasync::task<> {
    co_await pyasync::sleep(30s);
}

PYASYNC_TEST(TrioFails, swallows_its_timeout, timeout(200ms))->pyasync::task<> {
    try {
        co_await pyasync::sleep(30s);
    } catch (const pyasync::cancelled_error &) {
        // swallowed: still a timeout
    }
}

PYASYNC_TEST(TrioFails, blocks_the_run_past_its_timeout, timeout(200ms))->pyasync::task<> {
    co_await pyasync::sleep(0ms);
    py::module_::import("time").attr("sleep")(0.5); // no checkpoint after: trio never cancels it
}

PYASYNC_TEST(TrioHang, sleeps_forever, ignore("hangs: interrupted with Ctrl-C by test_harness_trio.py"))
    ->pyasync::task<> {
    co_await pyasync::loop_sleep(3600.0); // trio.sleep: Ctrl-C must reach it through trio
}

namespace {

struct shared_pool {
    bool open = false;
    int opened = 0;
};

/// Checks, then acts one checkpoint later: another task running in the same batch of trio's
/// scheduler between the two sees the pool still closed.
pyasync::task<> open_if_needed(std::shared_ptr<shared_pool> pool, bool checkpoint_first) {
    if (checkpoint_first) {
        co_await pyasync::loop_sleep(0); // trio.sleep(0)
    }
    if (!pool->open) {
        co_await pyasync::loop_sleep(0); // opening
        pool->open = true;
        ++pool->opened;
    }
}

} // namespace

// Wrong in about half of trio's orders (trio itself varies the order within a batch): run by
// test_schedule_exploration.py only, explored from a seed and replayed from it.
PYASYNC_TEST(TrioRace, checks_then_acts_across_a_checkpoint, ignore("a race: explored by test_schedule_exploration.py"))
    ->pyasync::task<> {
    auto pool = std::make_shared<shared_pool>();
    std::vector<py::object> both{pyasync::make_coroutine(open_if_needed(pool, false)),
                                 pyasync::make_coroutine(open_if_needed(pool, true))};
    co_await pyasync::gather(std::move(both));
    PYASYNC_CHECK(pool->opened == 1);
}
