#pragma once
/// \file
/// The GIL from C++: `pyasync::with_gil` for a runtime thread that must touch Python briefly,
/// and `pyasync::without_gil` for a blocking section on the loop thread.
///
/// pyasync itself takes the GIL on a runtime thread only to wake a loop that cannot watch a file
/// descriptor (no `add_reader`): the completion queue then calls `call_soon_threadsafe`. On
/// every other loop completions go through the queue's eventfd, and the loop thread does the
/// Python work. These helpers are for user code; prefer converting values on the
/// loop (`await_as<T>`, task results) over taking the GIL away from it.

#include <pyasync/config.hpp>
#include <pyasync/detail/python_compat.hpp>

#include <stdexcept>
#include <type_traits>
#include <utility>

namespace pyasync {

/// Runs `fn()` with the GIL held and returns its result; any thread. Eager. Blocks until the
/// loop thread lets go of the GIL (between callbacks, or inside `without_gil`), so keep `fn`
/// short. Raises `RuntimeError` when the interpreter is finalizing (taking the GIL then would
/// hang the thread).
template <typename Fn>
std::invoke_result_t<Fn &> with_gil(Fn &&fn) {
    if (Py_IsInitialized() == 0 || detail::python::interpreter_finalizing()) {
        throw std::runtime_error("pyasync::with_gil: the Python interpreter is not running (finalizing or not "
                                 "started); the GIL cannot be taken now");
    }
    py::gil_scoped_acquire gil;
    return fn();
}

/// Runs `fn()` with the GIL released and returns its result (exceptions propagate); the thread
/// must hold the GIL, typically the loop thread inside a bound function. Eager. Other Python
/// threads run meanwhile; the loop itself does not (it is this thread), so use it for short
/// blocking sections, and `pyasync::spawn_blocking` for long ones. `fn` must not touch Python.
template <typename Fn>
std::invoke_result_t<Fn &> without_gil(Fn &&fn) {
    PYASYNC_ASSERT_GIL_HELD("pyasync::without_gil");
    py::gil_scoped_release released;
    return fn();
}

} // namespace pyasync
