#pragma once
/// \file
/// Internal: the one seam for CPython's and pybind11's private API. Nothing else in pyasync
/// calls a `_Py*` function or reaches into `pybind11::detail`'s internals; each wrapper says
/// what it is for and what replaces it on newer Pythons, selected by `PY_VERSION_HEX`.

#include <pyasync/config.hpp>

namespace pyasync {
namespace detail::python {

/// `getattr(object, name)` where a missing attribute is not an error: 1 with `*result` set (a
/// new reference), 0 with `*result` null and no error, -1 with an error set.
/// 3.13 made it public as `PyObject_GetOptionalAttr`; before, `_PyObject_LookupAttr`.
inline int lookup_optional_attr(PyObject *object, PyObject *name, PyObject **result) noexcept {
#if PY_VERSION_HEX >= 0x030D0000
    return PyObject_GetOptionalAttr(object, name, result);
#else
    return _PyObject_LookupAttr(object, name, result);
#endif
}

/// Takes the return value out of a pending StopIteration (what `yield from` does when its
/// delegate returns): 0 with `*value` a new reference (None when it had none) and the error
/// cleared, -1 when another error is pending (left set).
/// `_PyGen_FetchStopIterationValue` until 3.12; 3.13 moved it to the internal API, so there the
/// public `PyErr_GetRaisedException` does the same.
inline int fetch_stop_iteration_value(PyObject **value) noexcept {
#if PY_VERSION_HEX >= 0x030D0000
    if (!PyErr_Occurred()) {
        *value = Py_NewRef(Py_None);
        return 0;
    }
    if (!PyErr_ExceptionMatches(PyExc_StopIteration)) {
        return -1;
    }
    PyObject *raised = PyErr_GetRaisedException();
    *value = PyObject_GetAttrString(raised, "value");
    Py_DECREF(raised);
    return *value != nullptr ? 0 : -1;
#else
    return _PyGen_FetchStopIterationValue(value);
#endif
}

/// Raises StopIteration carrying `value` (a return value), wrapped so that a tuple or an
/// exception instance arrives as itself. `_PyGen_SetStopIterationValue` until 3.12; on 3.13
/// the same through the public API (an instance built with the value as its one argument).
inline void set_stop_iteration_value(PyObject *value) noexcept {
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *stop = PyObject_CallOneArg(PyExc_StopIteration, value);
    if (stop != nullptr) {
        PyErr_SetObject(PyExc_StopIteration, stop);
        Py_DECREF(stop);
    }
#else
    _PyGen_SetStopIterationValue(value);
#endif
}

/// True once the interpreter has begun finalizing (threads must not take the GIL any more).
/// Public as `Py_IsFinalizing` from 3.13; `_Py_IsFinalizing` before.
inline bool interpreter_finalizing() noexcept {
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsFinalizing() != 0;
#else
    return _Py_IsFinalizing() != 0;
#endif
}

/// Runs pybind11's exception translators on the exception being handled, module-local ones
/// first, as pybind11's own dispatcher does: true when one set a Python error. pybind11 has no
/// public call for this (`py::detail::apply_exception_translators`, stable from 2.10 to 2.13).
/// Inside a catch handler; GIL held; throws what a translator throws.
inline bool apply_pybind11_translators() {
    return py::detail::apply_exception_translators(
               py::detail::get_local_internals().registered_exception_translators) ||
           py::detail::apply_exception_translators(py::detail::get_internals().registered_exception_translators);
}

} // namespace detail::python
} // namespace pyasync
