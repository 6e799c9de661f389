// The callable type behind pyasync::def: vectorcall, binds as a method, looks like a coroutine
// function to asyncio (asyncio.iscoroutinefunction is true).
#include <pyasync/detail/coroutine_object.hpp>
#include <pyasync/detail/function_object.hpp>
#include <pyasync/detail/module_state.hpp>
#include <pyasync/detail/type_object.hpp>
#include <pyasync/errors.hpp>

#include <cstddef>
#include <cstring>
#include <structmember.h>

namespace pyasync {
namespace detail {
namespace {

function_object *as_function(PyObject *self) {
    return reinterpret_cast<function_object *>(self);
}

void function_dealloc(PyObject *self) {
    auto *function = as_function(self);
    PyObject_GC_UnTrack(self);
    if (function->destroy_callable != nullptr) {
        function->destroy_callable(function->callable);
    }
    if (function->defaults != nullptr) {
        for (PyObject *value : *function->defaults) {
            Py_XDECREF(value);
        }
    }
    if (function->parameters != nullptr) {
        for (PyObject *name : *function->parameters) {
            Py_XDECREF(name);
        }
    }
    delete function->defaults;
    delete function->parameters;
    Py_XDECREF(function->name);
    Py_XDECREF(function->qualname);
    Py_XDECREF(function->doc);
    Py_XDECREF(function->module);
    Py_XDECREF(function->dict);
    PyObject_GC_Del(self);
}

int function_traverse(PyObject *self, visitproc visit, void *arg) {
    auto *function = as_function(self);
    Py_VISIT(function->dict);
    Py_VISIT(function->module);
    if (function->defaults != nullptr) {
        for (PyObject *value : *function->defaults) {
            Py_VISIT(value);
        }
    }
    return 0;
}

PyObject *function_descr_get(PyObject *self, PyObject *instance, PyObject *) {
    if (instance == nullptr || instance == Py_None || !as_function(self)->method) {
        return Py_NewRef(self);
    }
    return PyMethod_New(self, instance);
}

PyObject *function_repr(PyObject *self) {
    return PyUnicode_FromFormat("<pyasync async function %U at %p>", as_function(self)->qualname, self);
}

PyMemberDef function_members[] = {
    {"__name__", T_OBJECT, offsetof(function_object, name), READONLY, nullptr},
    {"__qualname__", T_OBJECT, offsetof(function_object, qualname), READONLY, nullptr},
    {"__doc__", T_OBJECT, offsetof(function_object, doc), READONLY, nullptr},
    {"__module__", T_OBJECT, offsetof(function_object, module), 0, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyGetSetDef function_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyTypeObject function_type_object = make_type_object({
    .name = "pyasync.async_function",
    .doc = PyDoc_STR("A C++ coroutine function bound by pyasync::def; calling it returns a coroutine."),
    .basic_size = sizeof(function_object),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .dealloc = function_dealloc,
    .vectorcall_offset = offsetof(function_object, vectorcall),
    .repr = function_repr,
    .call = PyVectorcall_Call,
    .traverse = function_traverse,
    .members = function_members,
    .getset = function_getset,
    .descr_get = function_descr_get,
    .dict_offset = offsetof(function_object, dict),
});

PyTypeObject *function_type() {
    static const bool ready = PyType_Ready(&function_type_object) == 0;
    if (!ready) {
        throw py::error_already_set();
    }
    return &function_type_object;
}

std::string qualified_name_of(py::handle scope, const char *name) {
    if (PyType_Check(scope.ptr())) {
        return py::str(scope.attr("__qualname__")).cast<std::string>() + "." + name;
    }
    return name;
}

py::object module_name_of(py::handle scope) {
    if (PyModule_Check(scope.ptr())) {
        return scope.attr("__name__");
    }
    return py::getattr(scope, "__module__", py::none());
}

} // namespace

py::object new_function(py::handle scope, function_spec spec, function_invoker invoke, void *callable,
                        void (*destroy_callable)(void *)) {
    auto *self = PyObject_GC_New(function_object, function_type());
    if (self == nullptr) {
        destroy_callable(callable);
        throw py::error_already_set();
    }
    self->vectorcall = invoke; // no trampoline of ours between the interpreter and the C++ call
    self->callable = callable;
    self->destroy_callable = destroy_callable;
    self->name = self->qualname = self->doc = self->module = self->dict = nullptr;
    self->parameters = new std::vector<PyObject *>();
    self->defaults = new std::vector<PyObject *>();
    self->has_varargs = spec.has_varargs;
    self->method = spec.method;
    py::object result = py::reinterpret_steal<py::object>(reinterpret_cast<PyObject *>(self));
    for (std::size_t i = 0; i < spec.parameter_names.size(); ++i) {
        PyObject *interned = PyUnicode_InternFromString(spec.parameter_names[i].c_str());
        if (interned == nullptr) {
            throw py::error_already_set();
        }
        self->parameters->push_back(interned);
        self->defaults->push_back(spec.defaults[i] ? spec.defaults[i].release().ptr() : nullptr);
    }
    std::string signature = std::string(spec.name) + "(";
    for (std::size_t i = 0; i < spec.parameter_names.size(); ++i) {
        signature += (i > 0 ? ", " : "") + spec.parameter_names[i];
        if ((*self->defaults)[i] != nullptr) {
            signature += "=" + py::repr((*self->defaults)[i]).cast<std::string>();
        }
    }
    signature += spec.has_varargs ? (spec.parameter_names.empty() ? "*args)" : ", *args)") : ")";
    self->name = py::str(spec.name).release().ptr();
    self->qualname = py::str(qualified_name_of(scope, spec.name)).release().ptr();
    self->doc = py::str("async " + signature + (spec.doc.empty() ? "" : "\n\n" + spec.doc)).release().ptr();
    self->module = module_name_of(scope).release().ptr();
    PyObject_GC_Track(self);
    // asyncio.iscoroutinefunction() and pytest-asyncio recognise the marker.
    result.attr("_is_coroutine") = py::handle(state().is_coroutine_marker);
    scope.attr(spec.name) = result;
    return result;
}

bool bind_arguments(function_object *self, PyObject *const *args, std::size_t nargsf, PyObject *kwnames,
                    PyObject **slots, PyObject **varargs) {
    const auto &parameters = *self->parameters;
    const std::size_t named = parameters.size();
    const auto given = static_cast<std::size_t>(PyVectorcall_NARGS(nargsf));
    for (std::size_t i = 0; i < named; ++i) {
        slots[i] = i < given ? args[i] : nullptr;
    }
    if (given > named) {
        if (!self->has_varargs) {
            PyErr_Format(PyExc_TypeError, "%U() takes %zu positional argument%s but %zu were given", self->qualname,
                         named, named == 1 ? "" : "s", given);
            return false;
        }
    }
    if (self->has_varargs) {
        const std::size_t extra = given > named ? given - named : 0;
        *varargs = PyTuple_New(static_cast<Py_ssize_t>(extra));
        if (*varargs == nullptr) {
            return false;
        }
        for (std::size_t i = 0; i < extra; ++i) {
            PyTuple_SET_ITEM(*varargs, static_cast<Py_ssize_t>(i), Py_NewRef(args[named + i]));
        }
    }
    const Py_ssize_t keywords = kwnames != nullptr ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < keywords; ++k) {
        PyObject *keyword = PyTuple_GET_ITEM(kwnames, k);
        std::size_t index = named;
        for (std::size_t i = self->method ? 1 : 0; i < named && index == named; ++i) {
            if (parameters[i] == keyword || PyUnicode_Compare(parameters[i], keyword) == 0) {
                index = i;
            }
        }
        if (index == named) {
            PyErr_Format(PyExc_TypeError, "%U() got an unexpected keyword argument '%U'", self->qualname, keyword);
            Py_CLEAR(*varargs);
            return false;
        }
        if (slots[index] != nullptr) {
            PyErr_Format(PyExc_TypeError, "%U() got multiple values for argument '%U'", self->qualname, keyword);
            Py_CLEAR(*varargs);
            return false;
        }
        slots[index] = args[static_cast<std::size_t>(given) + static_cast<std::size_t>(k)];
    }
    for (std::size_t i = 0; i < named; ++i) {
        if (slots[i] == nullptr) {
            slots[i] = (*self->defaults)[i];
            if (slots[i] == nullptr) {
                PyErr_Format(PyExc_TypeError, "%U() missing required argument '%U' (pos %zu)", self->qualname,
                             parameters[i], i + 1);
                Py_CLEAR(*varargs);
                return false;
            }
        }
    }
    return true;
}

void raise_bad_argument(function_object *self, std::size_t index, PyObject *given, const char *expected) {
    if (PyErr_Occurred()) {
        return; // the caster raised something more precise
    }
    const auto &parameters = *self->parameters;
    if (index < parameters.size()) {
        // The right Python type whose value the C++ type cannot hold: say why, not "must be int, not int".
        const char *why = nullptr;
        if (PyLong_Check(given) && !PyBool_Check(given)) {
            why = "is out of range for the C++ parameter";
        } else if (PyUnicode_Check(given)) {
            why = "cannot be encoded as UTF-8 for the C++ parameter (it holds a lone surrogate)";
        }
        if (why != nullptr && std::strcmp(expected, Py_TYPE(given)->tp_name) == 0) {
            // An int out of range is an OverflowError, as Python's own conversions report it.
            PyErr_Format(PyLong_Check(given) ? PyExc_OverflowError : PyExc_TypeError,
                         "%U(): argument '%U' (pos %zu) must be %s: %.200R %s", self->qualname, parameters[index],
                         index + 1, expected, given, why);
            return;
        }
        PyErr_Format(PyExc_TypeError, "%U(): argument '%U' (pos %zu) must be %s, not %.200s", self->qualname,
                     parameters[index], index + 1, expected, Py_TYPE(given)->tp_name);
    } else {
        PyErr_Format(PyExc_TypeError, "%U(): extra positional arguments must be %s", self->qualname, expected);
    }
}

void raise_call_error(function_object *self) noexcept {
    std::string where = "pyasync::def ";
    const char *name = PyUnicode_AsUTF8(self->qualname);
    where += name != nullptr ? name : "?";
    raise_in_python(std::current_exception(), detail::source_location{}, where.c_str());
}

} // namespace detail
} // namespace pyasync
