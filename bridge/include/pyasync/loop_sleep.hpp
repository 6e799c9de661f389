#pragma once
/// \file
/// `pyasync::loop_sleep`: suspend a task on the event loop's own timer and clock (the clock
/// `fixtures::virtual_clock` controls). `pyasync::sleep` (`sleep.hpp`) uses runtime timers.

#include <pyasync/detail/driver_access.hpp>
#include <pyasync/detail/trio_wait.hpp>
#include <pyasync/errors.hpp>

#include <chrono>
#include <memory>

namespace pyasync {
namespace detail {

class sleep_awaiter : private parked_operation {
public:
    explicit sleep_awaiter(double seconds) noexcept : seconds_(seconds) {}
    /// Moved only before `co_await` starts it (GCC moves awaiters into the frame).
    sleep_awaiter(sleep_awaiter &&other) noexcept : parked_operation(), seconds_(other.seconds_) {}
    sleep_awaiter(const sleep_awaiter &) = delete;
    sleep_awaiter &operator=(const sleep_awaiter &) = delete;
    PYASYNC_API ~sleep_awaiter();

    bool await_ready() const noexcept { return false; } // like asyncio.sleep(0), a zero sleep yields once

    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) {
        driver &owner = loop_driver_of(awaiting, "pyasync::loop_sleep");
        waiter = awaiting;
        return start(owner, awaiting);
    }

    PYASYNC_API void await_resume();

private:
    /// False when the sleep is over already (a trio.sleep that did not block).
    PYASYNC_API bool start(driver &d, std::coroutine_handle<> awaiting);
    PYASYNC_API static void cancel_timer(parked_operation *self) noexcept;

    double seconds_;
    PyObject *timer_ = nullptr;
    /// Under trio, which has no call_later: the frame awaits trio.sleep, so trio's clock (and a
    /// MockClock) drives it and trio's cancel scopes cancel it.
    trio_wait_pointer trio_sleep_; ///< opaque: the fast paths of other awaiters stay as they were
};

} // namespace detail

/// Suspends the calling task for `seconds` on the running loop's timer (`loop.call_later`), in
/// the loop's time: what `asyncio.sleep` does, and what a virtual clock can jump over; zero or
/// less is one turn of the loop (no timer), as `asyncio.sleep(0)` is. Under
/// trio it awaits `trio.sleep` instead: trio's clock (a `trio.testing.MockClock` too) and
/// trio's cancel scopes apply.
///
/// Lazy (nothing happens until `co_await`). Parks the frame behind one asyncio.Future, so the
/// driving Task sleeps like `asyncio.sleep` (zero or negative yields once, `inf` sleeps until
/// cancelled, NaN throws `std::invalid_argument`, a ValueError); cancelling the Task (or the
/// trio cancel scope) cancels the timer and throws `pyasync::cancelled_error` here. Thread: the
/// event-loop thread, GIL held (a frame away on a runtime gets a TypeError: use
/// `pyasync::sleep` there).
inline detail::sleep_awaiter loop_sleep(double seconds) noexcept {
    return detail::sleep_awaiter(seconds);
}

/// As `loop_sleep(double)`, for a `std::chrono` duration.
template <typename Rep, typename Period>
detail::sleep_awaiter loop_sleep(std::chrono::duration<Rep, Period> delay) noexcept {
    return detail::sleep_awaiter(std::chrono::duration<double>(delay).count());
}

} // namespace pyasync
