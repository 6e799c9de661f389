#pragma once
// Internal: throw()'s arguments made into the exception to raise inside a coroutine.

#include <Python.h>

namespace pyasync::detail {

/// throw(exception) or the deprecated throw(type[, value[, traceback]]), as for generators: the
/// exception instance (a new reference, its traceback set when one is given), or nullptr with
/// the TypeError CPython raises for the same arguments. GIL held.
PyObject *exception_from_throw_arguments(PyObject *const *args, Py_ssize_t nargs);

} // namespace pyasync::detail
