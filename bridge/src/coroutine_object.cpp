// The Python type of a C++ coroutine: a real coroutine for asyncio (send/throw/close, am_send,
// __await__, the "never awaited" warning), its allocation and recycling. What Python reads of it
// (names, repr, cr_await...) is in coroutine_attributes.cpp; the layout in coroutine_layout.hpp.
#include <pyasync/detail/coroutine_object.hpp>
#include <pyasync/detail/module_state.hpp>
#include <pyasync/detail/python_compat.hpp>
#include <pyasync/detail/type_object.hpp>

#include "coroutine_layout.hpp"
#include "driver_send.hpp"
#include "object_free_list.hpp"
#include "recursion_guard.hpp"
#include "thrown_exception.hpp"

#include <cstdint>
#include <new>
#include <string_view>

namespace pyasync {
namespace detail {
namespace {

/// A loop awaiting coroutines one after another needs one; a gather of many, more. A recycled
/// object is as `initialise` leaves one with an empty frame: an idle driver (`driver::idle`), no
/// names, nothing kept alive, untracked, never finalised; `driver::reuse` readies it again.
object_free_list<coroutine_object, 64> recycled_coroutines;

PySendResult coroutine_am_send(PyObject *self, PyObject *arg, PyObject **result) {
    PYASYNC_ASSERT_GIL_HELD("pyasync coroutine send");
    auto *coroutine = as_coroutine(self);
    // No recursion guard here: the C stack grows where a frame sends into its delegate
    // (send_to_delegate counts that), not when a Task or Python's `await` sends into us.
    // send() sets *result on every path: nullptr with PYGEN_ERROR, as the C API wants it (a debug
    // interpreter asserts it).
    const PySendResult status = coroutine->drive.send(arg, result);
    if (status == PYGEN_NEXT) {
        track(coroutine); // only a suspended coroutine can sit in a reference cycle worth collecting
    }
    return status;
}

/// Turns a send/throw outcome into the generator-method convention (StopIteration on return).
PyObject *as_method_result(coroutine_object *self, PySendResult status, PyObject *result) {
    switch (status) {
    case PYGEN_NEXT: track(self); return result;
    case PYGEN_RETURN:
        if (result == Py_None) {
            PyErr_SetNone(PyExc_StopIteration);
        } else {
            python::set_stop_iteration_value(result);
        }
        Py_DECREF(result);
        return nullptr;
    case PYGEN_ERROR: return nullptr;
    }
    return nullptr;
}

PyObject *coroutine_send(PyObject *self, PyObject *value) {
    auto *coroutine = as_coroutine(self);
    recursion_guard guard;
    if (!guard) {
        return nullptr;
    }
    PyObject *result = nullptr;
    const PySendResult status = coroutine->drive.send(value, &result); // before reading result
    return as_method_result(coroutine, status, result);
}

PyObject *coroutine_iternext(PyObject *self) {
    return coroutine_send(self, Py_None);
}

/// throw(exception) or the deprecated throw(type[, value[, traceback]]), as for generators.
PyObject *coroutine_throw(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    PYASYNC_ASSERT_GIL_HELD("pyasync coroutine throw");
    PyObject *exception = exception_from_throw_arguments(args, nargs);
    if (exception == nullptr) {
        return nullptr;
    }
    PyObject *result = nullptr;
    const PySendResult status = throw_into_cpp_coroutine(self, exception, &result);
    Py_DECREF(exception);
    return as_method_result(as_coroutine(self), status, result);
}

PyObject *coroutine_close(PyObject *self, PyObject *) {
    PYASYNC_ASSERT_GIL_HELD("pyasync coroutine close");
    if (close_cpp_coroutine(self) < 0) {
        return nullptr;
    }
    Py_RETURN_NONE;
}

PyObject *coroutine_am_await(PyObject *self) {
    if (as_coroutine(self)->drive.phase() == coroutine_state::suspended) {
        PyErr_SetString(PyExc_RuntimeError, "coroutine is being awaited already");
        return nullptr;
    }
    return Py_NewRef(self);
}

PyObject *coroutine_await_method(PyObject *self, PyObject *) {
    return coroutine_am_await(self);
}

/// Runs when a coroutine that is not finished is collected: warn if it never ran, then close it
/// so its C++ frame is destroyed (RAII clean-up runs).
void coroutine_finalize(PyObject *self) {
    auto *coroutine = as_coroutine(self);
    coroutine->finalized = true;
    const coroutine_state state = coroutine->drive.phase();
    if (state == coroutine_state::finished) {
        return;
    }
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    if (state == coroutine_state::unstarted && !coroutine->drive.frameless()) {
        PyObject *qualname = get_qualname_string(coroutine);
        if (qualname == nullptr ||
            PyErr_WarnFormat(PyExc_RuntimeWarning, 1, "coroutine '%U' was never awaited", qualname) < 0) {
            PyErr_WriteUnraisable(self);
        }
    }
    if (coroutine->drive.close() < 0) {
        PyErr_WriteUnraisable(self);
    }
    PyErr_Restore(type, value, traceback);
}

/// Sets up the fields of `self`, a new object (its driver not constructed, or destroyed), for a
/// coroutine owning `top` (or frameless).
void initialise(coroutine_object *self, std::coroutine_handle<> top, task_promise_base *promise,
                result_converter convert, detail::source_location where) {
    new (&self->drive) driver(top, promise, convert, where);
    self->drive.set_owner(reinterpret_cast<PyObject *>(self));
    self->name = nullptr;
    self->qualname = nullptr;
    self->function = nullptr;
    self->keep_alive = nullptr;
    self->weakrefs = nullptr;
    self->gc_tracked = false;
    self->finalized = false;
}

/// Drops the names and what the coroutine keeps alive, leaving them null as a recycled object's.
inline void release_references(coroutine_object *coroutine) {
    Py_CLEAR(coroutine->function);
    // Names set or read from Python, and a method's instance, are the rarer case: one test for
    // the three while all are null (3 of the ~850 instructions of `await ready(x)`).
    if ((reinterpret_cast<std::uintptr_t>(coroutine->name) | reinterpret_cast<std::uintptr_t>(coroutine->qualname) |
         reinterpret_cast<std::uintptr_t>(coroutine->keep_alive)) != 0) {
        Py_CLEAR(coroutine->name);
        Py_CLEAR(coroutine->qualname);
        Py_CLEAR(coroutine->keep_alive);
    }
}

/// Releases what a coroutine object holds and frees (or recycles) it.
void release(coroutine_object *coroutine) {
    if (coroutine->weakrefs != nullptr) {
        PyObject_ClearWeakRefs(reinterpret_cast<PyObject *>(coroutine));
    }
    coroutine->drive.~driver();
    release_references(coroutine);
    if (coroutine->finalized) {
        PyObject_GC_Del(coroutine);
    } else {
        initialise(coroutine, {}, nullptr, nullptr, {}); // as recycled objects are kept
        recycled_coroutines.give(coroutine);
    }
}

/// Every other case of `coroutine_dealloc`, out of line: the common one then needs no stack
/// frame of its own (with new_coroutine's split alike: 983 -> 955 instructions per `await ready(x)`).
[[gnu::noinline]] void dealloc_unfinished_or_tracked(PyObject *self);

void coroutine_dealloc(PyObject *self) {
    auto *coroutine = as_coroutine(self);
    if (coroutine->drive.phase() == coroutine_state::finished && !coroutine->gc_tracked &&
        coroutine->weakrefs == nullptr && !coroutine->finalized && coroutine->drive.idle_having_never_suspended()) {
        // The common case (an `await` that completed): the frame is gone already, so there is
        // nothing to finalise and no chain of frames to free recursively, and the driver holds
        // nothing: it is kept for the object's next coroutine. Untracked, it never suspended
        // (`track` comes with every suspension).
        release_references(coroutine);
        recycled_coroutines.give(coroutine);
        return;
    }
    dealloc_unfinished_or_tracked(self);
}

void dealloc_unfinished_or_tracked(PyObject *self) {
    auto *coroutine = as_coroutine(self);
    const bool tracked = coroutine->gc_tracked;
    if (tracked) {
        PyObject_GC_UnTrack(self); // the trashcan takes only untracked objects
    }
    // Deallocations nest when each coroutine owns the next (a deep chain never started): the
    // trashcan defers the deep ones and frees them iteratively, so the C stack cannot overflow.
    Py_TRASHCAN_BEGIN(self, coroutine_dealloc) bool resurrected = false;
    if (coroutine->drive.phase() != coroutine_state::finished) {
        if (tracked) {
            PyObject_GC_Track(self); // a finalizer may resurrect the object: it must be tracked then
        }
        resurrected = PyObject_CallFinalizerFromDealloc(self) < 0;
        if (!resurrected && tracked) {
            PyObject_GC_UnTrack(self);
        }
    }
    if (!resurrected) {
        release(coroutine);
    }
    Py_TRASHCAN_END
}

int coroutine_traverse(PyObject *self, visitproc visit, void *arg) {
    auto *coroutine = as_coroutine(self);
    Py_VISIT(coroutine->keep_alive);
    Py_VISIT(coroutine->function);
    return coroutine->drive.traverse(visit, arg);
}

int coroutine_clear(PyObject *self) {
    auto *coroutine = as_coroutine(self);
    // tp_finalize (which closed the coroutine and destroyed its frame) has run before a clear.
    coroutine->drive.destroy_frame();
    coroutine->drive.clear_python_references();
    Py_CLEAR(coroutine->keep_alive);
    Py_CLEAR(coroutine->function);
    return 0;
}

PyMethodDef coroutine_methods[] = {
    {"send", coroutine_send, METH_O, PyDoc_STR("send(value): resume the coroutine with value.")},
    {"throw", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(coroutine_throw)), METH_FASTCALL,
     PyDoc_STR("throw(exception): raise the exception inside the coroutine at its suspension point.")},
    {"close", coroutine_close, METH_NOARGS,
     PyDoc_STR("close(): destroy the C++ frame (RAII clean-up runs); an awaited Python awaitable gets "
               "CancelledError.")},
    {"__await__", coroutine_await_method, METH_NOARGS, PyDoc_STR("Return an iterator to be used in await expression.")},
    {nullptr, nullptr, 0, nullptr},
};

PyAsyncMethods coroutine_as_async = {coroutine_am_await, nullptr, nullptr, coroutine_am_send};

PyTypeObject coroutine_type_object = make_type_object({
    .name = "pyasync.coroutine",
    .doc = PyDoc_STR("A C++20 coroutine (pyasync::task) exposed as a Python coroutine."),
    .basic_size = sizeof(coroutine_object),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .dealloc = coroutine_dealloc,
    .as_async = &coroutine_as_async,
    .repr = coroutine_repr,
    .traverse = coroutine_traverse,
    .clear = coroutine_clear,
    .weaklist_offset = offsetof(coroutine_object, weakrefs),
    .iter = PyObject_SelfIter,
    .iternext = coroutine_iternext,
    .methods = coroutine_methods,
    .getset = coroutine_getset,
    .finalize = coroutine_finalize,
});

/// A new coroutine object, allocated (readying the type on first use). nullptr with a Python
/// error set on failure.
coroutine_object *allocate_new(std::coroutine_handle<> top, task_promise_base *promise, result_converter convert,
                               detail::source_location where) {
    PyTypeObject *type = coroutine_type();
    auto *self = type != nullptr ? PyObject_GC_New(coroutine_object, type) : nullptr;
    if (self != nullptr) {
        initialise(self, top, promise, convert, where);
    }
    return self;
}

/// A new coroutine object: a recycled one, else one allocated. nullptr with a Python error set on
/// failure.
coroutine_object *allocate(std::coroutine_handle<> top, task_promise_base *promise, result_converter convert,
                           detail::source_location where) {
    if (coroutine_object *self = recycled_coroutines.take_recycled(&coroutine_type_object)) {
        self->drive.reuse(top, promise, convert, where);
        return self;
    }
    return allocate_new(top, promise, convert, where);
}

} // namespace

PyTypeObject *coroutine_type() {
    static const bool ready = [] {
        if (PyType_Ready(&coroutine_type_object) < 0) {
            return false;
        }
        // asyncio's fast check: register as a collections.abc.Coroutine explicitly as well.
        try {
            py::module_::import("collections.abc")
                .attr("Coroutine")
                .attr("register")(py::handle(reinterpret_cast<PyObject *>(&coroutine_type_object)));
        } catch (py::error_already_set &) {
            PyErr_Clear();
        }
        return true;
    }();
    if (!ready) {
        PyErr_SetString(PyExc_SystemError, "pyasync: cannot initialise the coroutine type");
        return nullptr;
    }
    return &coroutine_type_object;
}

namespace {

/// The rest of both ways of `new_coroutine` once `self` (new or recycled: no names, no function,
/// nothing kept alive) is set up: the promise learns its driver; what it keeps alive is taken.
inline PyObject *adopt(coroutine_object *self, task_promise_base &promise, PyObject *keep_alive) noexcept {
    promise.set_driver(&self->drive);
    if (keep_alive != nullptr) { // else null already
        self->keep_alive = Py_NewRef(keep_alive);
    }
    return reinterpret_cast<PyObject *>(self);
}

/// Both ways of `new_coroutine` when no recycled object is at hand (the first calls, a gather of
/// many), out of line and to their end: their common path then needs no stack frame of its own.
[[gnu::noinline]] PyObject *new_coroutine_allocating(std::coroutine_handle<> top, task_promise_base &promise,
                                                     result_converter convert, const coroutine_names &names,
                                                     PyObject *function, PyObject *keep_alive) noexcept {
    coroutine_object *self = allocate_new(top, &promise, convert, promise.location());
    if (self == nullptr) {
        top.destroy();
        return nullptr;
    }
    self->name = Py_XNewRef(names.name);
    self->qualname = Py_XNewRef(names.qualname);
    self->function = Py_XNewRef(function);
    return adopt(self, promise, keep_alive);
}

} // namespace

PyObject *new_coroutine(std::coroutine_handle<> top, task_promise_base &promise, result_converter convert,
                        const coroutine_names &names, PyObject *keep_alive) noexcept {
    coroutine_object *self = recycled_coroutines.take_recycled(&coroutine_type_object);
    if (self == nullptr) {
        return new_coroutine_allocating(top, promise, convert, names, nullptr, keep_alive);
    }
    self->drive.reuse(top, &promise, convert, promise.location());
    self->name = Py_XNewRef(names.name);
    self->qualname = Py_XNewRef(names.qualname);
    return adopt(self, promise, keep_alive);
}

PyObject *new_function_coroutine(std::coroutine_handle<> top, task_promise_base &promise, result_converter convert,
                                 PyObject *function, PyObject *keep_alive) noexcept {
    coroutine_object *self = recycled_coroutines.take_recycled(&coroutine_type_object);
    if (self == nullptr) {
        return new_coroutine_allocating(top, promise, convert, {}, function, keep_alive);
    }
    self->drive.reuse(top, &promise, convert, promise.location());
    self->function = Py_NewRef(function);
    return adopt(self, promise, keep_alive);
}

driver &driver_of_coroutine(PyObject *object) noexcept {
    return as_coroutine(object)->drive;
}

bool is_cpp_coroutine(PyObject *object) noexcept {
    return Py_IS_TYPE(object, &coroutine_type_object);
}

PySendResult throw_into_cpp_coroutine(PyObject *self, PyObject *exception, PyObject **result) {
    auto *coroutine = as_coroutine(self);
    *result = nullptr;
    recursion_guard guard;
    if (!guard) {
        return PYGEN_ERROR;
    }
    const PySendResult status = coroutine->drive.throw_in(exception, result);
    if (status == PYGEN_NEXT) {
        track(coroutine);
    }
    return status;
}

int close_cpp_coroutine(PyObject *self) {
    recursion_guard guard;
    if (!guard) {
        return -1;
    }
    return as_coroutine(self)->drive.close();
}

PyObject *new_delegate_coroutine(PyObject *iterator, PyObject *yielded) noexcept {
    coroutine_object *self = allocate({}, nullptr, nullptr, detail::source_location{});
    if (self == nullptr) {
        Py_DECREF(iterator);
        Py_DECREF(yielded);
        return nullptr;
    }
    self->drive.become_delegate_only(iterator, yielded);
    self->name = PyUnicode_FromString("cleanup");
    self->qualname = PyUnicode_FromString("pyasync.cleanup_after_close");
    return reinterpret_cast<PyObject *>(self);
}

} // namespace detail
} // namespace pyasync
