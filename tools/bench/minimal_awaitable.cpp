// `minimal_ready(x)`: the least any C-implemented awaitable costs for `await minimal_ready(x)`,
// written directly against the C API, so the await rows can be read against it as well as against
// Python's own `await f(x)`.
//
// What it keeps from what every C awaitable pays: a vectorcall builtin, an object created per
// call (from a free list, as pyasync's coroutine objects are), `am_await` returning itself, the
// interpreter's checks of that result (GET_AWAITABLE: it must be an iterator), one `am_send` that
// returns the value (SEND), and the deallocation. What it leaves out is everything a coroutine
// needs: no C++ frame, no promise, no driver state, no names, no cancellation, no GC tracking.
// The gap between this row and the floor is the interpreter's fixed cost of a non-native
// awaitable; the gap between pyasync's `ready` row and this row is pyasync's own.
#include "minimal_awaitable.hpp"

#include <Python.h>

namespace {

struct minimal_awaitable {
    PyObject_HEAD PyObject *value; // nullptr once sent
};

constexpr int kept_objects = 16;
minimal_awaitable *recycled[kept_objects];
int recycled_count = 0;

PyObject *awaitable_self(PyObject *self) {
    return Py_NewRef(self);
}

PySendResult send_value(PyObject *self, PyObject *, PyObject **result) {
    auto *awaitable = reinterpret_cast<minimal_awaitable *>(self);
    if (awaitable->value == nullptr) {
        PyErr_SetString(PyExc_RuntimeError, "cannot reuse an already awaited minimal_ready awaitable");
        *result = nullptr;
        return PYGEN_ERROR;
    }
    *result = awaitable->value;
    awaitable->value = nullptr;
    return PYGEN_RETURN;
}

/// Present because `await` requires an iterator from `__await__`; SEND uses am_send instead.
PyObject *next_value(PyObject *self) {
    PyObject *result = nullptr;
    if (send_value(self, Py_None, &result) == PYGEN_RETURN) {
        PyErr_SetObject(PyExc_StopIteration, result);
        Py_DECREF(result);
    }
    return nullptr;
}

void release(PyObject *self) {
    auto *awaitable = reinterpret_cast<minimal_awaitable *>(self);
    Py_CLEAR(awaitable->value);
    if (recycled_count < kept_objects) {
        recycled[recycled_count++] = awaitable;
        return;
    }
    PyObject_Free(self);
}

PyAsyncMethods async_methods = {awaitable_self, nullptr, nullptr, send_value};

PyTypeObject awaitable_type = [] {
    PyTypeObject type{PyVarObject_HEAD_INIT(nullptr, 0)};
    type.tp_name = "bench_runtime_native.minimal_awaitable";
    type.tp_basicsize = sizeof(minimal_awaitable);
    type.tp_flags = Py_TPFLAGS_DEFAULT;
    type.tp_dealloc = release;
    type.tp_as_async = &async_methods;
    type.tp_iter = PyObject_SelfIter;
    type.tp_iternext = next_value;
    return type;
}();

PyObject *minimal_ready(PyObject *, PyObject *const *args, Py_ssize_t count) {
    if (count != 1) {
        PyErr_Format(PyExc_TypeError, "minimal_ready() takes exactly 1 argument (%zd given)", count);
        return nullptr;
    }
    minimal_awaitable *awaitable =
        recycled_count > 0 ? recycled[--recycled_count] : PyObject_New(minimal_awaitable, &awaitable_type);
    if (awaitable == nullptr) {
        return nullptr;
    }
    Py_SET_REFCNT(reinterpret_cast<PyObject *>(awaitable), 1);
    awaitable->value = Py_NewRef(args[0]);
    return reinterpret_cast<PyObject *>(awaitable);
}

PyMethodDef minimal_ready_method = {"minimal_ready",
                                    reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(minimal_ready)),
                                    METH_FASTCALL, "minimal_ready(x): an awaitable giving x, at the least cost"};

} // namespace

void add_minimal_awaitable(pybind11::module_ &m) {
    if (PyType_Ready(&awaitable_type) < 0) {
        throw pybind11::error_already_set();
    }
    PyObject *function = PyCFunction_New(&minimal_ready_method, nullptr);
    if (function == nullptr) {
        throw pybind11::error_already_set();
    }
    m.add_object("minimal_ready", pybind11::reinterpret_steal<pybind11::object>(function));
}
