#pragma once
/// \file
/// `pyasync::future_into_py(task)`: start a task on the runtime now and get an asyncio Future.

#include <pyasync/coroutine.hpp>
#include <pyasync/resume_on.hpp>

namespace pyasync {

/// Starts `t` on a worker of `engine` **now** (eager: it runs while the caller continues) and
/// returns an `asyncio.Task` (an `asyncio.Future`) on the running loop that completes with its
/// converted result or exception (pyo3-asyncio's `future_into_py`).
///
/// For CPU-bound or blocking C++ that must leave the loop. `t` starts away (as after
/// `resume_on(engine)`): it may `co_await pyasync::resume_on_loop()` or Python awaitables, and
/// its result is converted on the loop thread. Cancelling the Future cancels the task as
/// `resume_on` describes. Thread: the loop thread, with a running loop and the GIL held; raises
/// `RuntimeError` otherwise (under trio too, which has no Futures: await the task instead).
template <typename T>
py::object future_into_py(task<T> &&t, runtime &engine = default_runtime()) {
    py::object coroutine = make_coroutine(std::move(t));
    detail::driver &owner = detail::driver_of_coroutine(coroutine.ptr());
    PyObject *loop = owner.loop(); // a RuntimeError naming the fix when no asyncio loop is running
    if (loop == nullptr) {
        python_error pending;      // takes the error out, so close() cannot clobber it
        coroutine.attr("close")(); // never started: no "never awaited" warning
        throw pending;
    }
    try {
        owner.start_away(engine);
    } catch (...) {
        coroutine.attr("close")();
        throw;
    }
    return py::reinterpret_borrow<py::object>(loop).attr("create_task")(coroutine);
}

} // namespace pyasync
