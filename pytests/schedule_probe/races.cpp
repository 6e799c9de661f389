// The corpus of schedule exploration: small async programs with a race, each passing under the
// usual timing and wrong under another timing that could really happen (Race.*), and programs
// whose outcome holds under every schedule (Sound.*). test_schedule_exploration.py runs them:
// without --schedule every case passes; under it, each Race case fails within its documented
// number of runs, its reported seed replays the failure, and no Sound case ever fails.
#include <pyasync/pyasync.hpp>
#include <pyasync/test.hpp>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

namespace py = pybind11;
using namespace std::chrono_literals;

namespace {

/// Work that takes a while on a runtime worker: usually done after quicker work, not always.
int slow_work(int value) {
    std::this_thread::sleep_for(20ms);
    return value;
}

/// Runs `tasks` concurrently on the loop, each an asyncio Task, created in order.
pyasync::task<> concurrently(std::vector<pyasync::task<>> tasks) {
    std::vector<py::object> coroutines;
    for (auto &each : tasks) {
        coroutines.push_back(pyasync::make_coroutine(std::move(each)));
    }
    co_await pyasync::gather(std::move(coroutines));
}

// ---- 1. two runtime jobs whose completion order the test assumes ---------------------------

pyasync::task<> record_after(std::shared_ptr<std::vector<int>> order, int id, bool slow) {
    const int value = co_await pyasync::spawn([id, slow] { return slow ? slow_work(id) : id; });
    order->push_back(value);
}

} // namespace

PYASYNC_TEST(Race, assumes_the_completion_order_of_two_jobs)->pyasync::task<> {
    auto order = std::make_shared<std::vector<int>>();
    std::vector<pyasync::task<>> tasks;
    tasks.push_back(record_after(order, 1, false));
    tasks.push_back(record_after(order, 2, true)); // slower: usually second
    co_await concurrently(std::move(tasks));
    PYASYNC_REQUIRE(*order == (std::vector<int>{1, 2}));
}

// ---- 2. a check-then-act on shared state with a runtime completion in between ----------------

namespace {

struct connection_pool {
    bool open = false;
    int opened = 0;
};

pyasync::task<> open_if_needed(std::shared_ptr<connection_pool> pool, bool check_first_after_work) {
    if (check_first_after_work) {
        co_await pyasync::spawn([] { return slow_work(0); }); // some other work first: usually long
    }
    if (!pool->open) {
        co_await pyasync::spawn([] { return 0; }); // opening: quick
        pool->open = true;
        ++pool->opened;
    }
}

} // namespace

PYASYNC_TEST(Race, checks_then_acts_across_a_completion)->pyasync::task<> {
    auto pool = std::make_shared<connection_pool>();
    std::vector<pyasync::task<>> tasks;
    tasks.push_back(open_if_needed(pool, false));
    tasks.push_back(open_if_needed(pool, true));
    co_await concurrently(std::move(tasks));
    PYASYNC_CHECK(pool->opened == 1);
}

// ---- 3. a double close of a resource by two tasks woken by completions ---------------------

namespace {

struct resource {
    bool closed = false;
    int closes = 0;
};

pyasync::task<> finish_then_close(std::shared_ptr<resource> shared, bool slow) {
    co_await pyasync::spawn([slow] { return slow ? slow_work(0) : 0; });
    if (!shared->closed) {
        co_await pyasync::spawn([] { return 0; }); // flushing before the close
        ++shared->closes;
        shared->closed = true;
    }
}

} // namespace

PYASYNC_TEST(Race, closes_a_resource_twice)->pyasync::task<> {
    auto shared = std::make_shared<resource>();
    std::vector<pyasync::task<>> tasks;
    tasks.push_back(finish_then_close(shared, false));
    tasks.push_back(finish_then_close(shared, true));
    co_await concurrently(std::move(tasks));
    PYASYNC_CHECK(shared->closes == 1);
}

// ---- 4. a wait that misses a notification made by a completion before it waits --------------

namespace {

struct notifier {
    py::object waiter = py::none(); ///< the future of the one waiting, if any
    void notify() {
        if (!waiter.is_none() && !waiter.attr("done")().cast<bool>()) {
            waiter.attr("set_result")(true);
        }
    }
};

pyasync::task<> notify_after_work(std::shared_ptr<notifier> bell) {
    co_await pyasync::spawn([] { return slow_work(0); });
    bell->notify(); // a pulse: lost when nobody waits yet
}

pyasync::task<> wait_after_preparing(std::shared_ptr<notifier> bell) {
    co_await pyasync::spawn([] { return 0; }); // preparing: quick
    bell->waiter = pyasync::get_running_loop().attr("create_future")();
    py::object asyncio = py::module_::import("asyncio");
    co_await asyncio.attr("wait_for")(bell->waiter, 0.5); // TimeoutError when the pulse was missed
}

} // namespace

PYASYNC_TEST(Race, misses_a_notification_made_before_it_waits)->pyasync::task<> {
    auto bell = std::make_shared<notifier>();
    std::vector<pyasync::task<>> tasks;
    tasks.push_back(notify_after_work(bell));
    tasks.push_back(wait_after_preparing(bell));
    co_await concurrently(std::move(tasks));
}

// ---- 5. a coroutine that assumes the runtime work it started is done by the time it looks ----

namespace {

pyasync::task<int> quick_job() {
    co_return co_await pyasync::spawn([] { return 7; });
}

} // namespace

PYASYNC_TEST(Race, assumes_its_work_is_done_after_a_pause)->pyasync::task<> {
    py::object asyncio = py::module_::import("asyncio");
    py::object started = pyasync::get_running_loop().attr("create_task")(pyasync::make_coroutine(quick_job()));
    co_await asyncio.attr("sleep")(0.01);               // ten milliseconds for a job of microseconds: surely done
    PYASYNC_CHECK(started.attr("done")().cast<bool>()); // looks without awaiting
    co_await started;
}

// ---- 6. a timeout raced against a completion ------------------------------------------------

PYASYNC_TEST(Race, assumes_its_work_beats_a_timeout)->pyasync::task<> {
    py::object asyncio = py::module_::import("asyncio");
    // Fifty milliseconds for a job of microseconds: TimeoutError when the runtime is slower.
    const int value =
        co_await pyasync::await_as<int>(asyncio.attr("wait_for")(pyasync::make_coroutine(quick_job()), 0.05));
    PYASYNC_CHECK(value == 7);
}

// ---- Sound: the same shapes, written so that every order gives the same outcome --------------

PYASYNC_TEST(Sound, awaits_the_work_it_started)->pyasync::task<> {
    py::object asyncio = py::module_::import("asyncio");
    py::object started = pyasync::get_running_loop().attr("create_task")(pyasync::make_coroutine(quick_job()));
    co_await asyncio.attr("sleep")(0.01);
    const int value = co_await pyasync::await_as<int>(started); // whether done already or not
    PYASYNC_CHECK(value == 7);
}

PYASYNC_TEST(Sound, awaits_jobs_in_the_order_it_needs)->pyasync::task<> {
    const int first = co_await pyasync::spawn([] { return 1; });
    const int second = co_await pyasync::spawn([] { return slow_work(2); });
    PYASYNC_CHECK(first == 1);
    PYASYNC_CHECK(second == 2);
}

PYASYNC_TEST(Sound, spawn_all_keeps_the_order_of_its_jobs)->pyasync::task<> {
    std::vector<std::function<int()>> jobs;
    for (int i = 0; i < 8; ++i) {
        jobs.emplace_back([i] { return i * i; });
    }
    const std::vector<int> squares = co_await pyasync::spawn_all(std::move(jobs));
    PYASYNC_CHECK(squares == (std::vector<int>{0, 1, 4, 9, 16, 25, 36, 49}));
}

namespace {

pyasync::task<> open_once(std::shared_ptr<connection_pool> pool, bool work_first) {
    if (work_first) {
        co_await pyasync::spawn([] { return slow_work(0); });
    }
    if (!pool->open) {
        pool->open = true; // claimed before the await: the check and the act are one step
        co_await pyasync::spawn([] { return 0; });
        ++pool->opened;
    }
}

} // namespace

PYASYNC_TEST(Sound, claims_before_it_awaits)->pyasync::task<> {
    auto pool = std::make_shared<connection_pool>();
    std::vector<pyasync::task<>> tasks;
    tasks.push_back(open_once(pool, false));
    tasks.push_back(open_once(pool, true));
    co_await concurrently(std::move(tasks));
    PYASYNC_CHECK(pool->opened == 1);
}

PYASYNC_TEST(Sound, runtime_timers_fire_in_deadline_order)->pyasync::task<> {
    auto order = std::make_shared<std::vector<int>>();
    auto after = [](std::shared_ptr<std::vector<int>> into, int id,
                    std::chrono::milliseconds delay) -> pyasync::task<> {
        co_await pyasync::sleep(delay);
        into->push_back(id);
    };
    std::vector<pyasync::task<>> tasks;
    tasks.push_back(after(order, 2, 30ms));
    tasks.push_back(after(order, 1, 5ms));
    co_await concurrently(std::move(tasks));
    PYASYNC_CHECK(*order == (std::vector<int>{1, 2}));
}

namespace {

pyasync::task<> sleep_long() {
    co_await pyasync::sleep(10.0);
}

} // namespace

// Its own limit, not a clock read: a cancelled runtime sleep that ran its 10 s would time it out.
PYASYNC_TEST(Sound, a_cancelled_sleep_ends_at_once, pyasync::testing::timeout(5s))->pyasync::task<> {
    py::object asyncio = py::module_::import("asyncio");
    bool timed_out = false;
    try {
        co_await asyncio.attr("wait_for")(pyasync::make_coroutine(sleep_long()), 0.02);
    } catch (py::error_already_set &error) {
        timed_out = error.matches(asyncio.attr("TimeoutError"));
    }
    PYASYNC_CHECK(timed_out);
}

// A case's own timeout is no timer of its code: a schedule never makes the runtime's work wait
// for it, though it is due within the hold horizon (100 ms) from the start.
PYASYNC_TEST(Sound, finishes_well_within_its_own_short_timeout, pyasync::testing::timeout(90ms))->pyasync::task<> {
    int sum = 0;
    for (int i = 0; i < 10; ++i) {
        sum += co_await pyasync::spawn([i] { return i; });
    }
    PYASYNC_CHECK(sum == 45);
}
