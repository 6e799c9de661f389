// The Python async iterator around a C++ async generator: `__anext__` hands out the one
// coroutine object that drives the generator's frame (each send runs the frame to its next
// co_yield and returns the item), so an item costs no allocation beyond the item itself.
#include <pyasync/async_generator.hpp>
#include <pyasync/detail/coroutine_object.hpp>
#include <pyasync/detail/type_object.hpp>

namespace pyasync {
namespace detail {
namespace {

struct async_generator_object {
    PyObject_HEAD PyObject *coroutine; // the pyasync.coroutine driving the frame
};

async_generator_object *as_generator(PyObject *self) {
    return reinterpret_cast<async_generator_object *>(self);
}

driver &driver_of_generator(PyObject *self) {
    return driver_of_coroutine(as_generator(self)->coroutine);
}

PyObject *generator_aiter(PyObject *self) {
    return Py_NewRef(self);
}

PyObject *generator_anext(PyObject *self) {
    return Py_NewRef(as_generator(self)->coroutine);
}

task<void> already_closed() {
    co_return;
}

/// aclose(): destroys a frame waiting at a co_yield (its RAII clean-up runs now) and returns an
/// awaitable that finishes at once, so `await agen.aclose()` and asyncio's shutdown both work.
PyObject *generator_aclose(PyObject *self, PyObject *) {
    driver &owner = driver_of_generator(self);
    const coroutine_state state = owner.phase();
    if (state == coroutine_state::suspended || state == coroutine_state::running) {
        PyErr_SetString(PyExc_RuntimeError,
                        "aclose(): asynchronous generator is already running (an __anext__ is still awaited; "
                        "cancel it first)");
        return nullptr;
    }
    if (owner.close() < 0) {
        return nullptr;
    }
    try {
        return make_coroutine(already_closed()).release().ptr();
    } catch (py::error_already_set &error) {
        error.restore();
        return nullptr;
    }
}

PyObject *generator_repr(PyObject *self) {
    return PyUnicode_FromFormat("<pyasync.async_generator %R>", as_generator(self)->coroutine);
}

int generator_traverse(PyObject *self, visitproc visit, void *arg) {
    Py_VISIT(as_generator(self)->coroutine);
    return 0;
}

int generator_clear(PyObject *self) {
    Py_CLEAR(as_generator(self)->coroutine);
    return 0;
}

void generator_dealloc(PyObject *self) {
    PyObject_GC_UnTrack(self);
    auto *generator = as_generator(self);
    if (generator->coroutine != nullptr && driver_of_generator(self).phase() == coroutine_state::unstarted) {
        // Never iterated: close quietly (an async generator never awaited does not warn).
        if (driver_of_generator(self).close() < 0) {
            PyErr_WriteUnraisable(self);
        }
    }
    Py_CLEAR(generator->coroutine); // a frame left at a co_yield is destroyed with it
    Py_TYPE(self)->tp_free(self);
}

PyMethodDef generator_methods[] = {
    {"aclose", generator_aclose, METH_NOARGS,
     PyDoc_STR("aclose(): an awaitable that destroys the C++ frame waiting at a co_yield (RAII clean-up runs).")},
    {nullptr, nullptr, 0, nullptr},
};

PyAsyncMethods generator_as_async = {nullptr, generator_aiter, generator_anext, nullptr};

PyTypeObject generator_type_object = make_type_object({
    .name = "pyasync.async_generator",
    .doc = PyDoc_STR("A C++20 async generator (pyasync::async_generator) exposed as a Python async iterator."),
    .basic_size = sizeof(async_generator_object),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .dealloc = generator_dealloc,
    .as_async = &generator_as_async,
    .repr = generator_repr,
    .traverse = generator_traverse,
    .clear = generator_clear,
    .methods = generator_methods,
});

} // namespace

PyTypeObject *async_generator_type() {
    static const bool ready = PyType_Ready(&generator_type_object) == 0;
    return ready ? &generator_type_object : nullptr;
}

PyObject *new_async_generator(PyObject *coroutine) noexcept {
    PyTypeObject *type = async_generator_type();
    if (type == nullptr) {
        Py_DECREF(coroutine);
        return nullptr;
    }
    auto *self = PyObject_GC_New(async_generator_object, type);
    if (self == nullptr) {
        Py_DECREF(coroutine);
        return nullptr;
    }
    driver_of_coroutine(coroutine).set_generator();
    self->coroutine = coroutine;
    PyObject_GC_Track(self);
    return reinterpret_cast<PyObject *>(self);
}

} // namespace detail
} // namespace pyasync
