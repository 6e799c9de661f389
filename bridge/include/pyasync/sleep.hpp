#pragma once
/// \file
/// `pyasync::sleep`: suspend a task on a runtime timer.

#include <pyasync/detail/delay.hpp>
#include <pyasync/detail/runtime_operation.hpp>

#include <atomic>
#include <chrono>
#include <memory>

namespace pyasync {

/// `co_await pyasync::sleep(delay)` suspends the calling task for `delay` on a timer of `engine`
/// (the default runtime's unless given), not on the loop: the loop thread does nothing until
/// the timer fires and its completion comes back through the loop's queue.
///
/// Lazy: the timer starts at `co_await`. Cancelling the awaiting Task cancels the timer and
/// throws `pyasync::cancelled_error` here. Works on the loop thread (GIL held) and in a frame
/// away on a runtime (`resume_on`), where the frame resumes on the runtime. A zero or negative
/// delay still suspends once; an infinite one (or one too long for the clock) sleeps until
/// cancelled; NaN throws `std::invalid_argument` (ValueError) at the call. For the loop's own
/// clock (which `fixtures::virtual_clock` controls), use `pyasync::loop_sleep`.
template <typename Rep, typename Period>
auto sleep(std::chrono::duration<Rep, Period> delay, runtime &engine = default_runtime()) {
    const std::chrono::nanoseconds nanoseconds = detail::timer_delay(delay, "pyasync::sleep");
    return detail::make_operation_awaiter<void>(
        "pyasync::sleep", [&engine, nanoseconds](detail::runtime_operation<void> *operation) {
            // A timer cancelled by the runtime itself (shut down) ends the sleep with
            // cancelled_error, never as if the delay had passed.
            auto fired = std::make_shared<std::atomic<bool>>(false);
            auto end_of_sleep = [fired] {
                if (!fired->load(std::memory_order_acquire)) {
                    throw cancelled_error();
                }
            };
            auto work = std::make_shared<detail::work_reference<void, decltype(end_of_sleep)>>(operation, end_of_sleep);
            operation->timer = engine.schedule_after(nanoseconds, [work, fired](bool expired) {
                fired->store(expired, std::memory_order_release);
                work->run_and_complete();
            });
        });
}

/// As above, for a delay in seconds.
inline auto sleep(double seconds, runtime &engine = default_runtime()) {
    return sleep(std::chrono::duration<double>(seconds), engine);
}

} // namespace pyasync
