// What delegating to a Python awaitable needs: the awaitable's iterator (CPython's own rules for
// `await`), throwing into it as `yield from` does, and the error when no driver runs the task.
#include <pyasync/detail/coroutine_object.hpp>
#include <pyasync/detail/module_state.hpp>
#include <pyasync/detail/python_awaiter.hpp>
#include <pyasync/detail/python_compat.hpp>

#include "recursion_guard.hpp"
#include "trio_host.hpp"

namespace pyasync {
namespace detail {

PyObject *get_awaitable_iterator(PyObject *awaitable) noexcept {
    if (PyCoro_CheckExact(awaitable)) {
        return Py_NewRef(awaitable); // CPython's own shortcut: a coroutine is its own iterator
    }
    PyTypeObject *type = Py_TYPE(awaitable);
    if (PyGen_CheckExact(awaitable)) {
        PyObject *code = PyObject_GetAttrString(awaitable, "gi_code");
        const bool iterable_coroutine =
            code != nullptr && (reinterpret_cast<PyCodeObject *>(code)->co_flags & CO_ITERABLE_COROUTINE) != 0;
        Py_XDECREF(code);
        PyErr_Clear();
        if (iterable_coroutine) {
            return Py_NewRef(awaitable); // a @types.coroutine generator
        }
    }
    if (type->tp_as_async != nullptr && type->tp_as_async->am_await != nullptr) {
        PyObject *iterator = type->tp_as_async->am_await(awaitable);
        if (iterator == nullptr) {
            return nullptr;
        }
        if (PyCoro_CheckExact(iterator)) {
            Py_DECREF(iterator);
            PyErr_SetString(PyExc_TypeError, "__await__() returned a coroutine");
            return nullptr;
        }
        if (!PyIter_Check(iterator)) {
            PyErr_Format(PyExc_TypeError, "__await__() returned non-iterator of type '%.100s'",
                         Py_TYPE(iterator)->tp_name);
            Py_DECREF(iterator);
            return nullptr;
        }
        return iterator;
    }
    PyErr_Format(PyExc_TypeError,
                 "pyasync: co_await expected an awaitable (a coroutine, Future, Task or object with __await__), "
                 "got %.200s object",
                 type->tp_name);
    return nullptr;
}

[[noreturn]] void throw_no_driver(PyObject *awaitable) {
    throw py::type_error(std::string("pyasync: co_await on a Python ") + Py_TYPE(awaitable)->tp_name +
                         " needs the task to be driven by Python on the event-loop thread; return the task from "
                         "a bound function, wrap it with pyasync::make_coroutine, or run it with pyasync::run");
}

PySendResult send_counted(PyObject *iterator, PyObject *value, PyObject **result) {
    recursion_guard guard;
    if (!guard) {
        return PYGEN_ERROR;
    }
    return PyIter_Send(iterator, value, result);
}

PySendResult throw_into(PyObject *iterator, PyObject *exception, PyObject **result) {
    if (is_cpp_coroutine(iterator)) {
        return throw_into_cpp_coroutine(iterator, exception, result); // counted once per link
    }
    PyObject *method = nullptr;
    if (python::lookup_optional_attr(iterator, state().str_throw, &method) < 0) {
        return PYGEN_ERROR;
    }
    if (method == nullptr) {
        PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(exception)), exception);
        return PYGEN_ERROR;
    }
    PyObject *yielded = PyObject_CallOneArg(method, exception);
    Py_DECREF(method);
    if (yielded != nullptr) {
        *result = yielded;
        return PYGEN_NEXT;
    }
    if (PyErr_ExceptionMatches(PyExc_StopIteration)) {
        PyObject *value = nullptr;
        if (python::fetch_stop_iteration_value(&value) == 0) {
            *result = value;
            return PYGEN_RETURN;
        }
    }
    return PYGEN_ERROR;
}

bool is_cancellation(PyObject *exception) {
    if (PyObject_TypeCheck(exception, reinterpret_cast<PyTypeObject *>(state().cancelled_error)) != 0) {
        return true;
    }
    PyObject *trio_cancelled = trio_cancelled_type();
    return trio_cancelled != nullptr && PyObject_TypeCheck(exception, reinterpret_cast<PyTypeObject *>(trio_cancelled));
}

} // namespace detail
} // namespace pyasync
