#pragma once
/// \file
/// `pyasync::spawn_all` and `pyasync::spawn_blocking_all`: many jobs on the runtime, awaited as
/// one. The frame parks once and is woken once, when the last job has finished, however many
/// jobs there are: a fan-out of 100,000 pieces of work costs the loop (asyncio's or trio's) one
/// wake instead of 100,000 tasks each parked and woken.

#include <pyasync/detail/runtime_operation.hpp>
#include <pyasync/spawn.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace pyasync {

/// Thrown by `spawn_all` when two or more of its jobs failed: every failure, with the index of
/// its job, in index order (a single failure is rethrown as it was, as trio's nurseries do).
/// `what()` says how many failed and shows the first. In Python it is a `RuntimeError`.
class spawn_all_error : public std::runtime_error {
public:
    /// One failed job.
    struct failure {
        /// The job's position in the vector given to `spawn_all`.
        std::size_t index;
        /// What it threw.
        std::exception_ptr error;
    };
    /// `failures` in index order, out of `jobs` jobs (for `what()`).
    PYASYNC_API spawn_all_error(std::vector<failure> failures, std::size_t jobs);
    /// Every failure, in index order.
    const std::vector<failure> &failures() const noexcept { return failures_; }

private:
    std::vector<failure> failures_;
};

namespace detail {

/// The jobs of one `spawn_all`, shared by the runtime jobs that run them. Each runtime job runs
/// one of them and fills its slot; the last to finish builds the result inside the operation and
/// completes it (one completion for the whole batch). A failure stops the others' tokens, as a
/// cancellation of the awaiting task does.
template <typename T, typename Fn>
class job_batch {
public:
    using result = std::conditional_t<std::is_void_v<T>, void, std::vector<T>>;

    job_batch(runtime_operation<result> *operation, std::vector<Fn> jobs)
            : operation_(operation), jobs_(std::move(jobs)), slots_(jobs_.size()), errors_(jobs_.size()),
              remaining_(jobs_.size()), forward_cancellation_(operation->stop.get_token(), stop_all{&stop_}) {}
    job_batch(const job_batch &) = delete;
    job_batch &operator=(const job_batch &) = delete;
    /// The runtime dropped jobs without running them (it was shut down): the awaiter's reference
    /// remains, as for `spawn`.
    ~job_batch() {
        if (operation_ != nullptr) {
            operation_->release();
        }
    }

    std::size_t size() const noexcept { return jobs_.size(); }

    /// A runtime thread, no GIL.
    void run_one(std::size_t index) noexcept {
        try {
            if constexpr (std::is_invocable_v<Fn &, std::stop_token>) {
                slots_[index].fill(jobs_[index], stop_.get_token());
            } else {
                slots_[index].fill(jobs_[index]);
            }
        } catch (...) {
            errors_[index] = std::current_exception();
            stop_.request_stop();
        }
        if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            finish();
        }
    }

    /// The thread of the last job (or the launching one when there are none).
    void finish() noexcept {
        runtime_operation<result> *operation = std::exchange(operation_, nullptr);
        auto collect = [this]() -> result {
            throw_failures();
            if constexpr (std::is_void_v<T>) {
                return;
            } else {
                std::vector<T> values;
                values.reserve(slots_.size());
                for (auto &slot : slots_) {
                    values.push_back(slot.take());
                }
                return values;
            }
        };
        operation->run(collect);
        operation->complete();
    }

private:
    struct stop_all {
        std::stop_source *source;
        void operator()() const noexcept { source->request_stop(); }
    };

    void throw_failures() {
        std::vector<spawn_all_error::failure> failures;
        for (std::size_t index = 0; index < errors_.size(); ++index) {
            if (errors_[index]) {
                failures.push_back({index, errors_[index]});
            }
        }
        if (failures.size() == 1) {
            std::rethrow_exception(failures.front().error);
        }
        if (!failures.empty()) {
            throw spawn_all_error(std::move(failures), errors_.size());
        }
    }

    runtime_operation<result> *operation_;
    std::vector<Fn> jobs_;
    std::vector<result_slot<T>> slots_;
    std::vector<std::exception_ptr> errors_;
    std::atomic<std::size_t> remaining_;
    std::stop_source stop_;
    std::stop_callback<stop_all> forward_cancellation_;
};

template <typename Fn>
auto run_all_on(runtime &engine, bool blocking, std::vector<Fn> jobs, const char *what) {
    using batch = job_batch<work_result_t<Fn>, Fn>;
    return make_operation_awaiter<typename batch::result>(
        what,
        [&engine, blocking, jobs = std::move(jobs)](runtime_operation<typename batch::result> *operation) mutable {
            auto shared = std::make_shared<batch>(operation, std::move(jobs));
            if (shared->size() == 0) {
                shared->finish();
                return;
            }
            for (std::size_t index = 0; index < shared->size(); ++index) {
                runtime::job job = [shared, index] { shared->run_one(index); };
                blocking ? engine.spawn_blocking(std::move(job)) : engine.spawn(std::move(job));
            }
        });
}

} // namespace detail

/// `co_await pyasync::spawn_all(jobs)` runs every `job()` (or `job(stop_token)`) on the runtime's
/// workers, concurrently, and resumes the task once, on the loop thread, when all have finished:
/// with their values in the order of `jobs` (`std::vector<T>`; nothing for `void` jobs), or with
/// the failure when one failed (`spawn_all_error` holding each when several did). A failure stops
/// the other jobs' tokens; the task still resumes only when every job has finished.
///
/// Lazy: no job starts before `co_await`. Jobs run without the GIL and must not touch Python.
/// Cancelling the awaiting task (asyncio's `cancel()`, a trio cancel scope) resumes it at once
/// with `pyasync::cancelled_error` and stops every job's token; results still to come are dropped.
/// Under trio, the task parks once for the whole batch, so this is the cheap way to wait for many
/// completions (a trio task per completion costs trio about 20 µs each before any work).
template <typename Fn>
auto spawn_all(std::vector<Fn> jobs, runtime &engine = default_runtime()) {
    return detail::run_all_on(engine, false, std::move(jobs), "pyasync::spawn_all");
}

/// As `spawn_all`, on the runtime's blocking pool: every job is its own blocking call, run as
/// the pool has threads for it (`spawn_blocking`'s pool, four threads per worker by default).
template <typename Fn>
auto spawn_blocking_all(std::vector<Fn> jobs, runtime &engine = default_runtime()) {
    return detail::run_all_on(engine, true, std::move(jobs), "pyasync::spawn_blocking_all");
}

} // namespace pyasync
