#pragma once
/// \file
/// The native Python coroutine type that owns a task (internal; see `pyasync/coroutine.hpp`).

#include <pyasync/detail/driver.hpp>
#include <pyasync/detail/task_promise.hpp>

namespace pyasync {
namespace detail {

/// Names shown by `__name__`/`__qualname__`: both nullptr means "derive from the C++ function".
struct coroutine_names {
    PyObject *name = nullptr;
    PyObject *qualname = nullptr;
};

/// Creates the Python coroutine object owning the frame `top` (a new reference, or nullptr with
/// a Python error set; the frame is destroyed on failure). `keep_alive` (may be nullptr) is held
/// for the coroutine's life: the `self` of a method, arguments a frame refers to.
PYASYNC_API PyObject *new_coroutine(std::coroutine_handle<> top, task_promise_base &promise, result_converter convert,
                                    const coroutine_names &names, PyObject *keep_alive) noexcept;

/// The same for a coroutine made by calling `function`, a `pyasync::def` function (not nullptr):
/// its `__name__` and `__qualname__` are the function's until set.
PYASYNC_API PyObject *new_function_coroutine(std::coroutine_handle<> top, task_promise_base &promise,
                                             result_converter convert, PyObject *function,
                                             PyObject *keep_alive) noexcept;

/// A frameless coroutine that re-yields `yielded` and then delegates to `iterator` until it
/// finishes (both new references, consumed). Returns a new reference or nullptr with an error.
PYASYNC_API PyObject *new_delegate_coroutine(PyObject *iterator, PyObject *yielded) noexcept;

/// The type object (ready on return). GIL held.
PYASYNC_API PyTypeObject *coroutine_type();

/// The driver of a coroutine object made by `new_coroutine` (`object` must be one).
PYASYNC_API driver &driver_of_coroutine(PyObject *object) noexcept;

/// True for a coroutine object made by `new_coroutine`. GIL held.
PYASYNC_API bool is_cpp_coroutine(PyObject *object) noexcept;

/// `coroutine.throw(exception)` and `coroutine.close()` of one (`coroutine` must be one), as its
/// methods do them, without calling a bound method: Python counts that call against the
/// recursion limit too, so a chain of C++ coroutines would count two per link when cancelled
/// or closed and one when started, and a chain that could start could not be cancelled. Each
/// counts one per link here, as a chain of Python coroutines does. GIL held.
PYASYNC_API PySendResult throw_into_cpp_coroutine(PyObject *coroutine, PyObject *exception, PyObject **result);
PYASYNC_API int close_cpp_coroutine(PyObject *coroutine);

/// Converts a C++ value to a new Python reference with pybind11's casters, or returns nullptr
/// with a Python error set; `what` names the value in the TypeError ("coroutine's ... result").
template <typename T, typename Value>
PyObject *to_python(Value &&value, py::return_value_policy policy, const char *what) noexcept {
    try {
        return py::detail::make_caster<T>::cast(std::forward<Value>(value), policy, nullptr).ptr();
    } catch (py::error_already_set &error) {
        error.restore();
    } catch (py::builtin_exception &error) {
        error.set_error();
    } catch (const std::exception &error) {
        PyErr_Format(PyExc_TypeError, "pyasync: cannot convert the C++ %s %s to Python: %s", what,
                     py::type_id<T>().c_str(), error.what());
    }
    return nullptr;
}

/// The outermost task's result as a new reference (nullptr with a Python error set): taken from
/// the promise, which is destroyed right after (the driver converts once, then frees the frame).
template <typename T>
PyObject *convert_task_result(task_promise_base &base) {
    auto &promise = static_cast<task_promise<T> &>(base);
    if constexpr (std::is_void_v<T>) {
        (void)promise;
        Py_RETURN_NONE;
    } else if constexpr (std::is_base_of_v<py::handle, std::remove_cvref_t<T>>) {
        // An object held by value is taken, not copied; a handle or a reference is borrowed.
        PyObject *value = nullptr;
        if constexpr (std::is_base_of_v<py::object, T>) {
            value = promise.value().release().ptr();
        } else {
            value = Py_XNewRef(promise.value().ptr());
        }
        // A default-constructed py::object means "no value": Python sees None.
        return value != nullptr ? value : Py_NewRef(Py_None);
    } else {
        constexpr auto policy =
            std::is_lvalue_reference_v<T> ? py::return_value_policy::copy : py::return_value_policy::move;
        return to_python<std::remove_reference_t<T>>(std::forward<T>(promise.value()), policy, "coroutine's result");
    }
}

} // namespace detail
} // namespace pyasync
