#pragma once
// Internal: how pyasync defines its Python types (pyasync.coroutine, .async_generator,
// .async_function, .buffered, .buffered_item). Each names only the slots it fills, with
// designated initializers; every other slot stays empty, as in a static PyTypeObject in C.
// The object is built during static initialisation (no Python) and readied with PyType_Ready
// on first use (GIL held).

#include <Python.h>

namespace pyasync::detail {

/// The slots a pyasync type fills, in PyTypeObject's order.
struct type_slots {
    const char *name;
    const char *doc;
    Py_ssize_t basic_size;
    unsigned long flags = Py_TPFLAGS_DEFAULT;
    destructor dealloc = nullptr;
    Py_ssize_t vectorcall_offset = 0;
    PyAsyncMethods *as_async = nullptr;
    reprfunc repr = nullptr;
    ternaryfunc call = nullptr;
    traverseproc traverse = nullptr;
    inquiry clear = nullptr;
    Py_ssize_t weaklist_offset = 0;
    getiterfunc iter = nullptr;
    iternextfunc iternext = nullptr;
    PyMethodDef *methods = nullptr;
    PyMemberDef *members = nullptr;
    PyGetSetDef *getset = nullptr;
    descrgetfunc descr_get = nullptr;
    Py_ssize_t dict_offset = 0;
    destructor finalize = nullptr;
};

/// A static type object with `slots` filled in. Not readied: call PyType_Ready on first use.
inline PyTypeObject make_type_object(const type_slots &slots) noexcept {
    PyTypeObject type{PyVarObject_HEAD_INIT(nullptr, 0)};
    type.tp_name = slots.name;
    type.tp_doc = slots.doc;
    type.tp_basicsize = slots.basic_size;
    type.tp_flags = slots.flags;
    type.tp_dealloc = slots.dealloc;
    type.tp_vectorcall_offset = slots.vectorcall_offset;
    type.tp_as_async = slots.as_async;
    type.tp_repr = slots.repr;
    type.tp_call = slots.call;
    type.tp_traverse = slots.traverse;
    type.tp_clear = slots.clear;
    type.tp_weaklistoffset = slots.weaklist_offset;
    type.tp_iter = slots.iter;
    type.tp_iternext = slots.iternext;
    type.tp_methods = slots.methods;
    type.tp_members = slots.members;
    type.tp_getset = slots.getset;
    type.tp_descr_get = slots.descr_get;
    type.tp_dictoffset = slots.dict_offset;
    type.tp_finalize = slots.finalize;
    return type;
}

} // namespace pyasync::detail
