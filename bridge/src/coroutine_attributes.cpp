// What Python reads of a C++ coroutine object: `__name__` and `__qualname__` (derived from the C++
// function on first use, settable), `repr`, and the `cr_*` attributes asyncio, trio and
// debuggers look at. The protocol itself is in coroutine_object.cpp.
#include <pyasync/detail/function_object.hpp>

#include "coroutine_layout.hpp"
#include "function_name.hpp"

#include <string>

namespace pyasync::detail {
namespace {

void derive_names(coroutine_object *self) {
    if (self->name != nullptr && self->qualname != nullptr) {
        return;
    }
    if (self->function != nullptr) {
        const auto *function = reinterpret_cast<const function_object *>(self->function);
        if (self->qualname == nullptr) {
            self->qualname = Py_NewRef(function->qualname);
        }
        if (self->name == nullptr) {
            self->name = Py_NewRef(function->name);
        }
        return;
    }
    const std::string name = self->drive.frameless() ? std::string("<cpp coroutine>")
                                                     : coroutine_function_name(self->drive.location().function_name());
    if (self->qualname == nullptr) {
        self->qualname = PyUnicode_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size()));
    }
    if (self->name == nullptr) {
        self->name = PyUnicode_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size()));
    }
}

} // namespace

PyObject *get_qualname_string(coroutine_object *self) {
    derive_names(self);
    return self->qualname;
}

PyObject *coroutine_repr(PyObject *self) {
    PyObject *qualname = get_qualname_string(as_coroutine(self));
    if (qualname == nullptr) {
        return nullptr;
    }
    return PyUnicode_FromFormat("<pyasync coroutine object %U at %p>", qualname, self);
}

namespace {

PyObject *get_name(PyObject *self, void *) {
    auto *coroutine = as_coroutine(self);
    derive_names(coroutine);
    return Py_XNewRef(coroutine->name);
}

PyObject *get_qualname(PyObject *self, void *) {
    return Py_XNewRef(get_qualname_string(as_coroutine(self)));
}

int set_string(PyObject *&field, PyObject *value, const char *what) {
    if (value == nullptr || !PyUnicode_Check(value)) {
        PyErr_Format(PyExc_TypeError, "%s must be set to a string object", what);
        return -1;
    }
    Py_XSETREF(field, Py_NewRef(value));
    return 0;
}

int set_name(PyObject *self, PyObject *value, void *) {
    derive_names(as_coroutine(self));
    return set_string(as_coroutine(self)->name, value, "__name__");
}

int set_qualname(PyObject *self, PyObject *value, void *) {
    derive_names(as_coroutine(self));
    return set_string(as_coroutine(self)->qualname, value, "__qualname__");
}

PyObject *get_cr_await(PyObject *self, void *) {
    PyObject *awaiting = as_coroutine(self)->drive.awaiting();
    return Py_NewRef(awaiting != nullptr ? awaiting : Py_None);
}

PyObject *get_cr_running(PyObject *self, void *) {
    return PyBool_FromLong(as_coroutine(self)->drive.phase() == coroutine_state::running);
}

PyObject *get_cr_suspended(PyObject *self, void *) {
    return PyBool_FromLong(as_coroutine(self)->drive.phase() == coroutine_state::suspended);
}

PyObject *get_none(PyObject *, void *) {
    Py_RETURN_NONE;
}

} // namespace

PyGetSetDef coroutine_getset[] = {
    {"__name__", get_name, set_name, PyDoc_STR("name of the coroutine"), nullptr},
    {"__qualname__", get_qualname, set_qualname, PyDoc_STR("qualified name of the coroutine"), nullptr},
    {"cr_await", get_cr_await, nullptr, PyDoc_STR("object being awaited on, or None"), nullptr},
    {"cr_running", get_cr_running, nullptr, PyDoc_STR("True while the C++ frame runs"), nullptr},
    {"cr_suspended", get_cr_suspended, nullptr, PyDoc_STR("True while suspended"), nullptr},
    // No cr_frame: the frame is C++. Its absence is how trio (and others) tell a coroutine
    // implemented in C from a Python one whose frame they may inspect.
    {"cr_code", get_none, nullptr, PyDoc_STR("always None: the code is C++"), nullptr},
    {"cr_origin", get_none, nullptr, PyDoc_STR("always None"), nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

} // namespace pyasync::detail
