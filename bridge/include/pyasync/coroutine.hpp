#pragma once
/// \file
/// A C++ coroutine is a real Python coroutine: `pyasync::make_coroutine`.

#include <pyasync/detail/coroutine_object.hpp>
#include <pyasync/task.hpp>

namespace pyasync {

/// Turns `t` into a Python coroutine object that owns it.
///
/// - **Lazy**: nothing runs until the object is first sent to (`await`, `asyncio.run`,
///   `create_task`, ...); the running loop is looked up then, inside the running Task, and only
///   if the frame actually suspends on C++ work.
/// - `asyncio.iscoroutine()` and `inspect.isawaitable()` are true; it has `send`, `throw`,
///   `close`, `__await__`, `__next__`, `am_send`, `__name__`, `__qualname__`, `cr_await`,
///   `cr_running`, and warns "coroutine ... was never awaited" when dropped unstarted.
/// - A frame that finishes without suspending returns its value straight from `am_send`: no
///   Future, no loop turn, no C++ exception.
/// - The result is converted with pybind11's casters (`task<void>` gives None).
/// - Thread: call with the GIL held; the frame then runs on whichever thread drives the object.
/// `keep_alive` is held as long as the coroutine lives (for instance the `self` of a method).
template <typename T>
py::object make_coroutine(task<T> &&t, const detail::coroutine_names &names = {}, py::handle keep_alive = {}) {
    if (!t.valid()) {
        throw py::value_error("pyasync::make_coroutine: the task is empty (moved from or released)");
    }
    auto handle = t.release();
    PyObject *object =
        detail::new_coroutine(handle, handle.promise(), &detail::convert_task_result<T>, names, keep_alive.ptr());
    if (object == nullptr) {
        throw py::error_already_set();
    }
    return py::reinterpret_steal<py::object>(object);
}

} // namespace pyasync
