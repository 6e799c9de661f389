#pragma once
// Internal: the layout of the Python object of a C++ coroutine, shared by coroutine_object.cpp
// (its protocol: send, throw, close, await, finalisation, allocation) and
// coroutine_attributes.cpp (what Python reads of it: names, repr, cr_* attributes). GIL held
// for every function here.
#include <pyasync/detail/driver.hpp>

#include <Python.h>

namespace pyasync::detail {

/// The object `pyasync.coroutine`: a driver (the frame's state machine) and what Python sees.
struct coroutine_object {
    PyObject_HEAD driver drive;
    PyObject *name;     ///< nullptr: `function`'s, else derived from the C++ function, on first access
    PyObject *qualname; ///< likewise
    /// The `pyasync::def` function that made the coroutine (its names are taken from it on first
    /// access: one reference instead of two per coroutine), or nullptr.
    PyObject *function;
    PyObject *keep_alive; ///< held for the coroutine's life (a method's `self`, arguments), or nullptr
    PyObject *weakrefs;   ///< the weak-reference list
    bool gc_tracked;      ///< tracked by the GC (from its first suspension on)
    bool finalized;       ///< tp_finalize ran: the object must not be recycled (object_free_list.hpp)
};

/// `self`, which must be a `pyasync.coroutine`.
inline coroutine_object *as_coroutine(PyObject *self) {
    return reinterpret_cast<coroutine_object *>(self);
}

/// Lets the GC see `self`: only a suspended coroutine can sit in a reference cycle worth collecting.
inline void track(coroutine_object *self) {
    if (!self->gc_tracked) {
        self->gc_tracked = true;
        PyObject_GC_Track(self);
    }
}

/// The coroutine's `__qualname__` (borrowed; derived from the C++ function on first use), or
/// nullptr with a Python error set.
PyObject *get_qualname_string(coroutine_object *self);
/// `repr(coroutine)`.
PyObject *coroutine_repr(PyObject *self);
/// The attributes Python reads: `__name__`, `__qualname__`, `cr_await`, `cr_running`, ...
extern PyGetSetDef coroutine_getset[];

} // namespace pyasync::detail
