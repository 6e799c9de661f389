#pragma once
/// \file
/// `pyasync::gather`: await several Python awaitables concurrently from C++.

#include <pyasync/detail/driver_access.hpp>
#include <pyasync/detail/trio_wait.hpp>
#include <pyasync/errors.hpp>

#include <memory>
#include <vector>

namespace pyasync {
namespace detail {

struct gather_state;

class gather_awaiter : private parked_operation {
public:
    explicit gather_awaiter(std::vector<py::object> awaitables) noexcept : awaitables_(std::move(awaitables)) {}
    /// Moved only before `co_await` starts it (GCC moves awaiters into the frame).
    gather_awaiter(gather_awaiter &&other) noexcept : parked_operation(), awaitables_(std::move(other.awaitables_)) {}
    gather_awaiter(const gather_awaiter &) = delete;
    gather_awaiter &operator=(const gather_awaiter &) = delete;
    PYASYNC_API ~gather_awaiter();

    bool await_ready() const noexcept { return awaitables_.empty(); }
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) {
        driver &owner = loop_driver_of(awaiting, "pyasync::gather");
        waiter = awaiting;
        return start(owner, awaiting);
    }
    PYASYNC_API std::vector<py::object> await_resume();

private:
    /// False when every child finished at once (under trio, where a nursery runs them).
    PYASYNC_API bool start(driver &d, std::coroutine_handle<> awaiting);
    PYASYNC_API static void cancel_children(parked_operation *self) noexcept;

    std::vector<py::object> awaitables_;
    std::shared_ptr<gather_state> state_;
    /// Under trio: the frame awaits a nursery running every child (trio has no loop tasks).
    trio_wait_pointer trio_nursery_; ///< opaque: the fast paths of other awaiters stay as they were
};

} // namespace detail

/// Runs every awaitable concurrently as a Task on the running loop (in the caller's
/// `contextvars` context) and resumes with their results, in order. Under trio, they run as the
/// tasks of a nursery the calling frame awaits.
///
/// Structured: if one fails, the others are cancelled and the first error is rethrown here
/// (under trio, the nursery's error: several at once make an exception group); if the calling
/// coroutine is cancelled, every child is cancelled. Lazy: nothing starts before `co_await`.
/// Thread: the event-loop thread, GIL held.
inline detail::gather_awaiter gather(std::vector<py::object> awaitables) noexcept {
    return detail::gather_awaiter(std::move(awaitables));
}

} // namespace pyasync
