#pragma once
/// \file
/// The state of one Python-visible C++ coroutine (internal): the outermost task it owns, the
/// Python awaitable it currently delegates to, or the C++ operation it is parked on.
///
/// Everything here runs on the thread that drives the coroutine (the event-loop thread) with
/// the GIL held.

#include <pyasync/config.hpp>

#include <coroutine>
#include <memory>
#include <source_location>
#include <stop_token>

PYASYNC_NAMESPACE_BEGIN
namespace detail {

class task_promise_base;

/// Where the driver delivers the outcome of a Python awaitable it delegated to.
struct delegation_target {
    PyObject *value = nullptr; ///< new reference after PYGEN_RETURN
    PyObject *error = nullptr; ///< new reference to the normalized exception after PYGEN_ERROR
    std::coroutine_handle<> waiter;
};

/// An awaiter suspended on C++-side work. The work completes the driver's suspension future on
/// the loop thread; a cancellation calls `cancel` first (to stop timers, child tasks, ...).
struct parked_operation {
    std::coroutine_handle<> waiter;
    void (*cancel)(parked_operation *self) noexcept = nullptr;
    PyObject *error = nullptr; ///< new reference: the exception thrown in while parked
};

enum class coroutine_state : unsigned char { unstarted, suspended, running, finished };

/// Converts the outermost task's result to a new Python reference (nullptr + error on failure).
using result_converter = PyObject *(*) (task_promise_base &promise);

class driver {
public:
    driver(std::coroutine_handle<> top, task_promise_base *promise, result_converter convert,
           std::source_location where) noexcept
        : top_(top), top_promise_(promise), convert_(convert), location_(where) {}
    driver(const driver &) = delete;
    driver &operator=(const driver &) = delete;

    // --- Used by awaiters, while the frame runs inside `send`. ---

    /// Delegates to the Python iterator `iterator` (new reference) that just yielded `yielded`
    /// (new reference): the yielded value goes to the driving Task, later sends and throws go to
    /// `iterator`, and its outcome goes to `target` before `target.waiter` is resumed.
    void delegate(PyObject *iterator, PyObject *yielded, delegation_target &target) noexcept {
        delegate_ = iterator;
        pending_yield_ = yielded;
        delegate_target_ = &target;
    }

    /// Parks the frame on C++-side work; the driver yields `suspension_future()` to the Task.
    void park(parked_operation &operation) noexcept { parked_ = &operation; }

    /// The asyncio.Future the driver yields while parked (borrowed), created on first use for
    /// the current suspension. Returns nullptr with a Python error set on failure.
    PyObject *suspension_future();

    /// The running loop, looked up on first use inside the running Task and kept (borrowed).
    /// Returns nullptr with a Python error set when no loop is running.
    PyObject *loop();

    /// A token whose stop is requested when the Python side cancels this coroutine.
    std::stop_token stop_token();

    // --- Used by the Python coroutine object. ---

    PySendResult send(PyObject *value, PyObject **result);
    PySendResult throw_in(PyObject *exception, PyObject **result);
    /// close(): returns 0, or -1 with a Python error set.
    int close();
    [[nodiscard]] coroutine_state phase() const noexcept { return state_; }
    [[nodiscard]] bool started() const noexcept { return state_ != coroutine_state::unstarted; }
    [[nodiscard]] PyObject *awaiting() const noexcept; ///< for cr_await (borrowed or nullptr)
    /// Where the outermost coroutine is defined (kept after the frame is gone; empty when
    /// frameless).
    [[nodiscard]] const std::source_location &location() const noexcept { return location_; }
    [[nodiscard]] bool frameless() const noexcept { return convert_ == nullptr; }
    int traverse(visitproc visit, void *arg) const;
    void clear_python_references() noexcept;
    /// Destroys the frame of a coroutine that never ran or can no longer run.
    void destroy_frame() noexcept;
    /// Makes this (frameless) driver only finish delegating to `iterator` (new reference) that
    /// last yielded `yielded` (new reference): used when a close finds the delegate still needing
    /// the loop for its clean-up.
    void become_delegate_only(PyObject *iterator, PyObject *yielded) noexcept;
    ~driver();

private:
    PySendResult resume(std::coroutine_handle<> handle, PyObject **result);
    PySendResult settle(PyObject **result);
    PySendResult forward_to_delegate(PyObject *value, PyObject *exception, PyObject **result);
    PySendResult finish(PyObject **result);
    void request_stop() noexcept;
    void release_suspension_future() noexcept;

    std::coroutine_handle<> top_;
    task_promise_base *top_promise_;
    result_converter convert_;
    PyObject *delegate_ = nullptr;
    PyObject *pending_yield_ = nullptr;
    delegation_target *delegate_target_ = nullptr;
    parked_operation *parked_ = nullptr;
    PyObject *suspension_future_ = nullptr;
    PyObject *loop_ = nullptr;
    std::unique_ptr<std::stop_source> stop_;
    bool stop_requested_ = false;
    std::source_location location_;
    coroutine_state state_ = coroutine_state::unstarted;
};

} // namespace detail
PYASYNC_NAMESPACE_END
