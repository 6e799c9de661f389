#pragma once
/// \file
/// Running C++ work off the event loop from a task: `pyasync::spawn` (CPU work on the runtime's
/// workers) and `pyasync::spawn_blocking` (calls that block). Each result comes back through the
/// loop's completion queue: the worker never takes the GIL, and the loop is woken once per batch
/// of completions. From a frame away on a runtime (`resume_on`), the frame resumes on the thread
/// that finished the work instead, with no loop involved.

#include <pyasync/detail/runtime_operation.hpp>

#include <memory>
#include <stop_token>
#include <type_traits>

namespace pyasync {
namespace detail {

template <typename Fn>
using work_result_t =
    typename std::conditional_t<std::is_invocable_v<Fn &, std::stop_token>, std::invoke_result<Fn &, std::stop_token>,
                                std::invoke_result<Fn &>>::type;

template <typename Fn>
auto run_on(runtime &engine, bool blocking, Fn fn, const char *what) {
    using result = work_result_t<Fn>;
    return make_operation_awaiter<result>(
        what, [&engine, blocking, fn = std::move(fn)](runtime_operation<result> *operation) mutable {
            auto work = std::make_shared<work_reference<result, Fn>>(operation, std::move(fn));
            runtime::job job = [work] { work->run_and_complete(); };
            blocking ? engine.spawn_blocking(std::move(job)) : engine.spawn(std::move(job));
        });
}

} // namespace detail

/// `co_await pyasync::spawn(fn)` runs `fn()` (or `fn(stop_token)`) on a runtime worker and
/// resumes the task on the loop thread with its value or exception.
///
/// Lazy: `fn` starts at `co_await`. `fn` runs without the GIL and must not touch Python (see
/// `pyasync/gil.hpp`). When the awaiting Task is cancelled, the task resumes at once with
/// `pyasync::cancelled_error`, `fn`'s stop token is stopped, and its late result is dropped on
/// the loop thread. The awaiting task must be driven by Python on the loop thread.
///
/// GCC 12: name a callable that owns non-trivial state (`auto work = [text] {...};
/// co_await pyasync::spawn(std::move(work));`). A lambda temporary with such captures written
/// inside the `co_await` expression reaches `spawn` corrupted (seen with a captured
/// `std::string`; captures of scalars are fine). Not yet reduced to a GCC report.
template <typename Fn>
auto spawn(Fn &&fn, runtime &engine = default_runtime()) {
    return detail::run_on(engine, false, std::decay_t<Fn>(std::forward<Fn>(fn)), "pyasync::spawn");
}

/// As `spawn`, on the runtime's blocking pool: for calls that block (files, locks, `sleep`,
/// foreign libraries), so they never hold up the workers or the loop.
template <typename Fn>
auto spawn_blocking(Fn &&fn, runtime &engine = default_runtime()) {
    return detail::run_on(engine, true, std::decay_t<Fn>(std::forward<Fn>(fn)), "pyasync::spawn_blocking");
}

} // namespace pyasync
