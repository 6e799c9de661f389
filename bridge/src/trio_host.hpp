#pragma once
// Internal: what a driver needs to park under trio instead of asyncio (trio_host.cpp), and the
// trio objects pyasync looks up once trio is running. Loop (trio) thread, GIL held throughout.
//
// Under asyncio a parked driver yields an asyncio.Future to its Task. trio has no futures: a
// task blocks by yielding the message `trio.lowlevel.wait_task_rescheduled` yields, and
// resumes when someone calls `trio.lowlevel.reschedule(task)`; a cancel scope that fires meanwhile
// calls the abort function in that message instead of throwing into the coroutine.

#include <pyasync/detail/completion_queue.hpp>
#include <pyasync/detail/python_awaiter.hpp>
#include <pyasync/detail/trio_wait.hpp>

#include <memory>
#include <vector>

namespace pyasync::detail {

class driver;

/// The trio side of one driver, made at its first park under trio and kept until the driver goes.
struct trio_parking {
    PyObject *task = nullptr; ///< the trio Task driving the coroutine (owned)
    PyObject *trap = nullptr; ///< the message the driver yields to block the task (owned)
    /// The driver the abort function calls; nulled when the driver goes, since trio may keep the
    /// function (in the trap) longer than the driver lives.
    std::shared_ptr<driver *> abort_target;
    std::shared_ptr<completion_queue> queue; ///< the trio run's, where runtime work completes
    bool rescheduled = false;                ///< trio was told to resume the task: its next send is ours

    trio_parking() = default;
    trio_parking(const trio_parking &) = delete;
    trio_parking &operator=(const trio_parking &) = delete;
    ~trio_parking();
};

/// A Python awaitable a pyasync awaiter awaits by delegation under trio, where the asyncio
/// mechanism it uses does not exist (loop_sleep awaits trio.sleep, gather a nursery). Opaque to
/// the public headers, which hold it by pointer.
struct trio_wait {
    python_awaiter<py::object> awaiter;
    trio_wait(driver &owner, PyObject *awaitable) noexcept : awaiter(&owner, awaitable, true) {}
};

/// Starts awaiting `awaitable` (a new reference, or nullptr with a Python error: thrown) for
/// the frame `waiter` of `owner`; returns false when it finished at once (no suspension).
bool start_trio_wait(trio_wait_pointer &slot, driver &owner, PyObject *awaitable, std::coroutine_handle<> waiter);

/// 1 when the async library running in this context is trio (sniffio's answer, which trio and
/// anyio's trio backend set), 0 when not, -1 with a Python error. Never called on a fast path:
/// only when a driver parks and no asyncio loop runs, or closes while delegating.
int running_under_trio();

/// The trio side for `owner`, inside a running trio task. nullptr with a Python error on failure.
trio_parking *make_trio_parking(driver &owner);

/// Tells trio to resume the parked task, once per park (its next send continues the frame).
/// Errors are reported as unraisable: the task would stay blocked, which trio then reports.
void reschedule_trio_task(trio_parking &parking) noexcept;

/// trio.lowlevel.Abort.FAILED and .SUCCEEDED (borrowed); trio objects exist once a driver parked.
PyObject *abort_failed() noexcept;
PyObject *abort_succeeded() noexcept;

/// True for an `outcome.Value` (what `trio.lowlevel.reschedule` sends by default).
bool is_trio_value(PyObject *sent) noexcept;

/// `trio.Cancelled` (borrowed) once trio is imported, else nullptr. No error is set.
PyObject *trio_cancelled_type() noexcept;

/// A new `trio.sleep(seconds)` coroutine, or nullptr with a Python error.
PyObject *new_trio_sleep(double seconds) noexcept;

/// A new coroutine awaiting every awaitable concurrently in a trio nursery, returning their
/// results in order as a list; or nullptr with a Python error.
PyObject *new_trio_gather(const std::vector<py::object> &awaitables) noexcept;

/// A coroutine running as a trio system task in the caller's context (what an asyncio Task
/// started with create_task is to asyncio): cancel `scope` to stop it; `ended` (a trio.Event) is
/// set when it has ended. Loop thread, GIL held, inside a trio run; throws py::error_already_set.
struct trio_background_task {
    py::object scope;
    py::object ended;
};
trio_background_task spawn_trio_background_task(const py::object &coroutine);

/// Traverses (for the collector) and releases the references the parking holds.
int traverse_trio_parking(const trio_parking &parking, visitproc visit, void *arg);

} // namespace pyasync::detail
