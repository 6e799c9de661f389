#pragma once
// Internal: what a suspended C++ frame waits on, as its driver sees it: the target of a
// delegation to a Python awaitable, or a parked C++ operation. See driver.hpp.

#include <pyasync/config.hpp>

#include <coroutine>

namespace pyasync::detail {

/// Where the driver delivers the outcome of a Python awaitable it delegated to.
struct delegation_target {
    PyObject *value = nullptr; ///< new reference after PYGEN_RETURN
    PyObject *error = nullptr; ///< new reference to the normalized exception after PYGEN_ERROR
    std::coroutine_handle<> waiter;
    /// Set by an awaiter whose frame is away (on a runtime): called on the loop thread with the
    /// outcome above, to turn it into C++ values there, before the frame is resumed on the runtime.
    void (*settle_on_loop)(delegation_target *self) noexcept = nullptr;
};

/// An awaiter suspended on C++-side work. The work completes the driver's suspension future on
/// the loop thread; a cancellation calls `cancel` first (to stop timers, child tasks, ...), then
/// resumes the frame with the exception at once, unless `still_running` says the work has not
/// reported yet: then the frame stays parked until it does (Asio operations, whose I/O objects
/// live in the frame and must outlive them).
struct parked_operation {
    std::coroutine_handle<> waiter;
    void (*cancel)(parked_operation *self) noexcept = nullptr;
    bool (*still_running)(parked_operation *self) noexcept = nullptr;
    PyObject *error = nullptr; ///< new reference: the exception thrown in while parked
};

} // namespace pyasync::detail
