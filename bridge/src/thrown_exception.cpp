// The exception a coroutine's throw() raises inside it, from throw()'s arguments, with the
// checks and messages of CPython's generators.
#include "thrown_exception.hpp"

namespace pyasync::detail {

PyObject *exception_from_throw_arguments(PyObject *const *args, Py_ssize_t nargs) {
    if (nargs < 1 || nargs > 3) {
        PyErr_Format(PyExc_TypeError, "throw expected 1 to 3 arguments, got %zd", nargs);
        return nullptr;
    }
    PyObject *type = args[0];
    PyObject *value = nargs > 1 ? args[1] : Py_None;
    PyObject *traceback = nargs > 2 ? args[2] : Py_None;
    PyObject *exception = nullptr;
    if (PyExceptionInstance_Check(type)) {
        if (value != Py_None) {
            PyErr_SetString(PyExc_TypeError, "instance exception may not have a separate value");
            return nullptr;
        }
        exception = Py_NewRef(type);
    } else if (PyExceptionClass_Check(type)) {
        if (PyExceptionInstance_Check(value) && PyObject_IsInstance(value, type) == 1) {
            exception = Py_NewRef(value);
        } else if (value == Py_None) {
            exception = PyObject_CallNoArgs(type);
        } else if (PyTuple_Check(value)) {
            exception = PyObject_Call(type, value, nullptr);
        } else {
            exception = PyObject_CallOneArg(type, value);
        }
        if (exception == nullptr) {
            return nullptr;
        }
        if (!PyExceptionInstance_Check(exception)) { // a __new__ that returns something else
            PyErr_Format(PyExc_TypeError, "calling %R should have returned an instance of BaseException, not %s", type,
                         Py_TYPE(exception)->tp_name);
            Py_DECREF(exception);
            return nullptr;
        }
    } else {
        PyErr_Format(PyExc_TypeError, "exceptions must be classes or instances deriving from BaseException, not %s",
                     Py_TYPE(type)->tp_name);
        return nullptr;
    }
    if (traceback != Py_None) {
        if (!PyTraceBack_Check(traceback)) {
            Py_DECREF(exception);
            PyErr_SetString(PyExc_TypeError, "throw() third argument must be a traceback object");
            return nullptr;
        }
        PyException_SetTraceback(exception, traceback);
    }
    return exception;
}

} // namespace pyasync::detail
