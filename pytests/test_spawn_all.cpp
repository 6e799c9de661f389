// spawn_all / spawn_blocking_all: many runtime jobs awaited as one, their values in order, their
// failures, and the stop tokens a failure or a cancellation stops.
#include "pyasync_tests.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;

/// How many jobs saw their stop token stopped while they waited for it.
std::atomic<int> jobs_stopped{0};

/// Waits for `token` to be stopped, at most `patience`; counts the stop. Any thread.
bool wait_for_stop(const std::stop_token &token, std::chrono::milliseconds patience) {
    std::mutex mutex;
    std::condition_variable_any never_notified;
    std::unique_lock lock(mutex);
    never_notified.wait_for(lock, token, patience, [] { return false; });
    const bool stopped = token.stop_requested();
    if (stopped) {
        ++jobs_stopped;
    }
    return stopped;
}

/// i * i for each i < n, each computed by its own job on the workers.
pyasync::task<std::vector<long>> squares(long n) {
    std::vector<std::function<long()>> jobs;
    for (long i = 0; i < n; ++i) {
        jobs.emplace_back([i] { return i * i; });
    }
    co_return co_await pyasync::spawn_all(std::move(jobs));
}

/// As `squares`, awaited by a frame away on a runtime worker (`resume_on`): the last job resumes
/// it where it finishes, with no loop involved. Returns the sum of the squares.
pyasync::task<long> sum_of_squares_away(long n) {
    co_await pyasync::resume_on();
    std::vector<std::function<long()>> jobs;
    for (long i = 0; i < n; ++i) {
        jobs.emplace_back([i] { return i * i; });
    }
    long total = 0;
    for (long square : co_await pyasync::spawn_all(std::move(jobs))) {
        total += square;
    }
    co_return total;
}

/// n void jobs, each counting itself; returns the count once all have finished.
pyasync::task<int> count_void_jobs(int n) {
    auto finished_jobs = std::make_shared<std::atomic<int>>(0);
    std::vector<std::function<void()>> jobs(static_cast<std::size_t>(n), [finished_jobs] { ++*finished_jobs; });
    co_await pyasync::spawn_all(std::move(jobs));
    co_return finished_jobs->load();
}

/// n blocking jobs that each wait until all n have started: they can only finish if they run at
/// the same time. Returns how many met the others, and how many distinct threads ran them.
pyasync::task<py::tuple> blocking_jobs_meet(int n) {
    struct meeting {
        std::mutex mutex;
        std::condition_variable all_here;
        int arrived = 0;
        std::set<std::thread::id> threads;
    };
    auto place = std::make_shared<meeting>();
    auto job = [place, n] {
        std::unique_lock lock(place->mutex);
        place->threads.insert(std::this_thread::get_id());
        ++place->arrived;
        place->all_here.notify_all();
        return place->all_here.wait_for(lock, 10s, [&] { return place->arrived == n; });
    };
    std::vector<decltype(job)> jobs(static_cast<std::size_t>(n), job);
    const std::vector<bool> met = co_await pyasync::spawn_blocking_all(std::move(jobs));
    co_return py::make_tuple(std::count(met.begin(), met.end(), true), place->threads.size());
}

/// n jobs: those whose index is in `failing` throw `std::invalid_argument("job <i> failed")` (an
/// int when `throw_int`). On the blocking pool (`blocking`), where each job has a thread, the
/// others wait for their stop token (10 s at most); on the workers they return at once, as a
/// worker must not be held.
pyasync::task<void> fail_some(int n, std::set<int> failing, bool throw_int, bool blocking) {
    std::vector<std::function<void(std::stop_token)>> jobs;
    for (int index = 0; index < n; ++index) {
        if (failing.contains(index)) {
            jobs.emplace_back([index, throw_int](const std::stop_token &) {
                if (throw_int) {
                    throw index;
                }
                throw std::invalid_argument("job " + std::to_string(index) + " failed");
            });
        } else {
            jobs.emplace_back([blocking](const std::stop_token &token) {
                if (blocking) {
                    wait_for_stop(token, 10s);
                }
            });
        }
    }
    if (blocking) {
        co_await pyasync::spawn_blocking_all(std::move(jobs));
    } else {
        co_await pyasync::spawn_all(std::move(jobs));
    }
}

/// n blocking jobs that wait for their stop token (at most `patience_s`); a cancellation of the
/// awaiting task must stop them all. Reports "cancelled" in `report` before re-raising.
pyasync::task<void> wait_until_stopped(int n, double patience_s, py::list report) {
    const auto patience = std::chrono::milliseconds(static_cast<long>(patience_s * 1000));
    std::vector<std::function<void(std::stop_token)>> jobs(
        static_cast<std::size_t>(n), [patience](const std::stop_token &token) { wait_for_stop(token, patience); });
    try {
        co_await pyasync::spawn_blocking_all(std::move(jobs));
    } catch (const pyasync::cancelled_error &) {
        report.append("cancelled");
        throw;
    }
    report.append("finished");
}

} // namespace

PYASYNC_TEST_SUBMODULE(spawn_all, m) {
    pyasync::def(m, "squares", &squares, py::arg("n"));
    pyasync::def(m, "sum_of_squares_away", &sum_of_squares_away, py::arg("n"));
    pyasync::def(m, "count_void_jobs", &count_void_jobs, py::arg("n"));
    pyasync::def(m, "blocking_jobs_meet", &blocking_jobs_meet, py::arg("n"));
    pyasync::def(m, "fail_some", &fail_some, py::arg("n"), py::arg("failing"), py::arg("throw_int") = false,
                 py::arg("blocking") = true);
    pyasync::def(m, "wait_until_stopped", &wait_until_stopped, py::arg("n"), py::arg("patience_s"), py::arg("report"));
    m.def("jobs_stopped", [] { return jobs_stopped.load(); });
}
