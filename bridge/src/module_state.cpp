#include <pyasync/detail/bridge_identity.hpp>
#include <pyasync/detail/module_state.hpp>

namespace pyasync {
namespace detail {
namespace {

PyObject *import_attr(const char *module, const char *name) {
    py::object value = py::module_::import(module).attr(name);
    return value.release().ptr();
}

PyObject *intern(const char *text) {
    PyObject *s = PyUnicode_InternFromString(text);
    if (s == nullptr) {
        throw py::error_already_set();
    }
    return s;
}

/// `pyasync.CppError`: one class per process, since this library is one per process (the
/// `pyasync` package re-exports it from `pyasync._core`).
PyObject *new_cpp_error_type() {
    PyObject *type = PyErr_NewExceptionWithDoc(
        "pyasync.CppError",
        "A C++ exception that is not a std::exception and that no pybind11 translator knows,\n"
        "raised from a pyasync C++ coroutine. Its message names the C++ type.",
        PyExc_RuntimeError, nullptr);
    if (type == nullptr) {
        throw py::error_already_set();
    }
    return type;
}

module_state make_state() {
    // pybind11 makes its shared state in each binary on first use. Here, at import, not later:
    // the first use in this library can be a py::error_already_set destroyed while a
    // RecursionError unwinds a chain at the limit, where making it raises inside a noexcept
    // destructor and terminates the process.
    py::detail::get_internals();
    module_state s{};
    s.cancelled_error = import_attr("asyncio", "CancelledError");
    s.get_running_loop = import_attr("asyncio", "get_running_loop");
    s.running_loop_or_none = import_attr("asyncio.events", "_get_running_loop");
    s.set_result_unless_cancelled = import_attr("asyncio.futures", "_set_result_unless_cancelled");
    s.is_coroutine_marker = import_attr("asyncio.coroutines", "_is_coroutine");
    if (register_bridge("this process's first use of pyasync") == nullptr) {
        throw py::error_already_set();
    }
    s.cpp_error = new_cpp_error_type();
    s.str_create_future = intern("create_future");
    s.str_future_blocking = intern("_asyncio_future_blocking");
    s.str_done = intern("done");
    s.str_throw = intern("throw");
    s.str_close = intern("close");
    s.str_add_note = intern("add_note");
    s.str_call_later = intern("call_later");
    s.str_cancel = intern("cancel");
    s.str_create_task = intern("create_task");
    s.str_set_result = intern("set_result");
    return s;
}

} // namespace

const module_state &state() {
    // NOTE: the references are kept for the life of the process; an embedding application that
    // finalizes and re-initializes the interpreter must not reuse pyasync objects across that.
    static const module_state instance = make_state();
    return instance;
}

} // namespace detail
} // namespace pyasync
