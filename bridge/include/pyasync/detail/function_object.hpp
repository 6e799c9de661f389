#pragma once
/// \file
/// The Python callable behind `pyasync::def` (internal): a vectorcall object that is also a
/// method descriptor, so it binds like a Python function.

#include <pyasync/config.hpp>

#include <vector>

namespace pyasync {
namespace detail {

/// The vectorcall entry of one `pyasync::def` function (`bound_callable<F>::invoke`): called by
/// the interpreter directly, with the function object as `self`.
using function_invoker = vectorcallfunc;

struct function_object {
    PyObject_HEAD vectorcallfunc vectorcall; ///< the invoker
    void *callable;                          ///< the C++ callable, heap-allocated
    void (*destroy_callable)(void *);
    PyObject *name, *qualname, *doc, *module, *dict;
    std::vector<PyObject *> *parameters; ///< interned names of the named parameters
    std::vector<PyObject *> *defaults;   ///< default per parameter (nullptr: required)
    bool has_varargs;                    ///< trailing `py::args`
    bool method;                         ///< first parameter is `self`
};

struct function_spec {
    const char *name;
    std::vector<std::string> parameter_names;
    std::vector<py::object> defaults; ///< one per parameter; empty object: required
    std::string doc;
    bool has_varargs = false;
    bool method = false;
};

/// Creates the function object (new reference). `scope` is a module or a class.
PYASYNC_API py::object new_function(py::handle scope, function_spec spec, function_invoker invoke, void *callable,
                                    void (*destroy_callable)(void *));

/// Matches vectorcall arguments to the named parameters of `self`: fills `slots` (borrowed) and
/// `*varargs` (new reference, only with `has_varargs`). Returns false with a TypeError set.
PYASYNC_API bool bind_arguments(function_object *self, PyObject *const *args, std::size_t nargsf, PyObject *kwnames,
                                PyObject **slots, PyObject **varargs);

/// Raises the TypeError for a parameter whose value does not convert.
PYASYNC_API void raise_bad_argument(function_object *self, std::size_t index, PyObject *given, const char *expected);

/// Raises the Python error for an exception thrown by the callable before its coroutine exists.
PYASYNC_API void raise_call_error(function_object *self) noexcept;

} // namespace detail
} // namespace pyasync
