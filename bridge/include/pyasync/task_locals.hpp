#pragma once
/// \file
/// Task locals: the running loop and the `contextvars` context of the calling coroutine.

#include <pyasync/config.hpp>

namespace pyasync {

/// The event loop and context a conversion captured (pyo3-asyncio's `TaskLocals`).
struct task_locals {
    py::object loop;    ///< the running event loop
    py::object context; ///< a copy of the current `contextvars.Context`
};

/// The running event loop of the calling thread (`asyncio.get_running_loop()`). Inside a task
/// driven by Python this is the loop of the Task driving it. Eager; throws `python_error`
/// (RuntimeError) when no loop runs, naming the trio alternative under trio. GIL held.
PYASYNC_API py::object get_running_loop();

/// The running loop and a copy of the current context. Python awaitables a task awaits run in
/// the driving Task's context already; use this to run callbacks elsewhere in the same context
/// (`context.run(fn)`, `loop.call_soon(fn, context=...)`). Eager; GIL held.
PYASYNC_API task_locals current_locals();

} // namespace pyasync
