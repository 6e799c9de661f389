// Errors both ways: Python exceptions into C++ (python_error, cancelled_error) and C++
// exceptions into Python (pybind11's translators, an origin note, pyasync.CppError).
#include <pyasync/detail/module_state.hpp>
#include <pyasync/detail/python_awaiter.hpp>
#include <pyasync/detail/python_compat.hpp>
#include <pyasync/errors.hpp>

#include "function_name.hpp"

#include <asio/error.hpp>

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace pyasync {

cancelled_error::cancelled_error() : message_("cancelled") {}

cancelled_error::cancelled_error(py::object exception) : message_("cancelled") {
    if (!exception || exception.is_none()) {
        return;
    }
    if (PyObject *text = PyObject_Str(exception.ptr())) {
        const char *utf8 = PyUnicode_AsUTF8(text);
        if (utf8 != nullptr && *utf8 != '\0') {
            message_ += ": ";
            message_ += utf8;
        }
        Py_DECREF(text);
    }
    PyErr_Clear();
    // Copies of the error may be dropped on a runtime thread: the last one takes the GIL to
    // release the Python object (as pybind11's error_already_set does).
    exception_ = std::shared_ptr<py::object>(new py::object(std::move(exception)), [](py::object *held) {
        py::gil_scoped_acquire gil;
        delete held;
    });
}

const py::object &cancelled_error::exception() const noexcept {
    static const py::object none_made_in_cpp;
    return exception_ ? *exception_ : none_made_in_cpp;
}

cancelled_error::~cancelled_error() = default;

py::handle cpp_error_type() {
    return detail::state().cpp_error;
}

namespace detail {

std::string demangle(const char *mangled) {
    int status = 0;
    std::unique_ptr<char, void (*)(void *)> readable(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                                     std::free);
    return status == 0 && readable ? std::string(readable.get()) : std::string(mangled);
}

namespace {

void add_origin_note(const detail::source_location &origin, const char *coroutine_name) {
    PyObject *exception = fetch_exception();
    if (exception == nullptr) {
        return;
    }
    std::string note = "raised in C++ coroutine ";
    note += coroutine_name != nullptr ? std::string(coroutine_name) : coroutine_function_name(origin.function_name());
    note += " at ";
    note += origin.file_name();
    note += ':';
    note += std::to_string(origin.line());
    PyObject *added = PyObject_CallMethodOneArg(exception, state().str_add_note, py::str(note).ptr());
    if (added == nullptr) {
        PyErr_Clear(); // a note is a courtesy: never replace the real error with a note failure
    }
    Py_XDECREF(added);
    PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(exception)), exception);
    Py_DECREF(exception);
}

} // namespace

PyObject *fetch_exception() noexcept {
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    if (type == nullptr) {
        return nullptr;
    }
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback != nullptr && value != nullptr) {
        PyException_SetTraceback(value, traceback);
    }
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    return value;
}

[[noreturn]] void throw_python_exception(PyObject *exception) {
    if (detail::is_cancellation(exception)) { // asyncio's, or trio's (kept: trio's cancel scope catches it)
        throw cancelled_error(py::reinterpret_steal<py::object>(exception));
    }
    PyObject *traceback = PyException_GetTraceback(exception);
    PyErr_Restore(Py_NewRef(reinterpret_cast<PyObject *>(Py_TYPE(exception))), exception, traceback);
    throw python_error();
}

namespace {

/// Raises the Python exception for `code` when there is one (an errno: `OSError(errno, text)`,
/// which picks the subclass, such as ConnectionRefusedError; Asio's end of file: EOFError).
bool raise_system_error(const std::error_code &code, const std::string &text) noexcept {
    const std::error_category &category = code.category();
    if (category == std::system_category() || category == std::generic_category() ||
        category == asio::error::get_system_category()) {
        PyObject *error = PyObject_CallFunction(PyExc_OSError, "is", code.value(), text.c_str());
        if (error == nullptr) {
            return false;
        }
        PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(error)), error);
        Py_DECREF(error);
        return true;
    }
    if (code == asio::error::eof) {
        PyErr_SetString(PyExc_EOFError, text.c_str());
        return true;
    }
    return false;
}

bool is_utf8(const std::string &text) noexcept {
    PyObject *type = nullptr, *value = nullptr, *traceback = nullptr;
    PyErr_Fetch(&type, &value, &traceback); // the decode below must not disturb the error being raised
    PyObject *decoded = PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "strict");
    Py_XDECREF(decoded);
    PyErr_Clear();
    PyErr_Restore(type, value, traceback);
    return decoded != nullptr;
}

/// The Python type pybind11's standard translator gives a std exception: what a non-UTF-8
/// message's exception is raised as once CPython has lost the type (3.12+, below).
PyObject *standard_python_type(const std::exception_ptr &error) noexcept {
    try {
        std::rethrow_exception(error);
    } catch (const std::bad_alloc &) {
        return PyExc_MemoryError;
    } catch (const std::out_of_range &) {
        return PyExc_IndexError;
    } catch (const std::overflow_error &) {
        return PyExc_OverflowError;
    } catch (const std::domain_error &) {
        return PyExc_ValueError;
    } catch (const std::invalid_argument &) {
        return PyExc_ValueError;
    } catch (const std::length_error &) {
        return PyExc_ValueError;
    } catch (const std::range_error &) {
        return PyExc_ValueError;
    } catch (...) {
        return PyExc_RuntimeError;
    }
}

/// Whether the pending error is the UnicodeDecodeError CPython raised decoding `text` itself.
bool is_decode_error_of(PyObject *type, PyObject *value, const std::string &text) noexcept {
    if (type == nullptr || value == nullptr || !PyErr_GivenExceptionMatches(type, PyExc_UnicodeDecodeError)) {
        return false;
    }
    PyObject *object = PyObject_GetAttrString(value, "object");
    const bool same =
        object != nullptr && PyBytes_Check(object) &&
        std::string_view(PyBytes_AS_STRING(object), static_cast<std::size_t>(PyBytes_GET_SIZE(object))) == text;
    Py_XDECREF(object);
    PyErr_Clear();
    return same;
}

/// A translator raises with PyErr_SetString, which cannot decode a message that is not UTF-8.
/// Up to 3.11 that leaves the intended exception without a message; from 3.12 it leaves the
/// UnicodeDecodeError instead, and the intended type is gone: raise it as pybind11's standard
/// translator types the exception. Either way the message comes back, undecodable bytes escaped.
void restore_a_lost_message(const std::string &text, const std::exception_ptr &error) noexcept {
    if (is_utf8(text)) {
        return; // the translator had a message it could use
    }
    PyObject *type = nullptr, *value = nullptr, *traceback = nullptr;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    PyErr_Clear();
    bool lost = value == nullptr || value == Py_None;
    if (is_decode_error_of(type, value, text)) {
        lost = true;
        Py_XSETREF(type, Py_NewRef(standard_python_type(error)));
        Py_CLEAR(value);
        Py_CLEAR(traceback);
    } else if (!lost && PyExceptionInstance_Check(value)) {
        PyObject *args = PyObject_GetAttrString(value, "args");
        lost = args != nullptr && PyTuple_Check(args) && PyTuple_GET_SIZE(args) == 0;
        Py_XDECREF(args);
        PyErr_Clear();
    }
    if (lost && type != nullptr) {
        if (PyObject *message =
                PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "backslashreplace")) {
            Py_XSETREF(value, message); // normalised into type(message) when read
            Py_CLEAR(traceback);
        }
        PyErr_Clear();
    }
    PyErr_Restore(type, value, traceback);
}

} // namespace

void raise_in_python(const std::exception_ptr &error, const detail::source_location &origin,
                     const char *coroutine_name) noexcept {
    try {
        std::rethrow_exception(error);
    } catch (py::error_already_set &python) {
        python.restore(); // the original exception and its traceback frames, untouched
        return;
    } catch (cancelled_error &cancelled) {
        if (cancelled.exception() && !cancelled.exception().is_none()) {
            PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(cancelled.exception().ptr())),
                            cancelled.exception().ptr());
        } else {
            PyErr_SetNone(state().cancelled_error);
        }
        return;
    } catch (...) {
        // pybind11's translators: module-local first, then global, as its dispatcher does.
        // They map std::invalid_argument/domain_error -> ValueError, out_of_range -> IndexError,
        // overflow_error -> OverflowError, bad_alloc -> MemoryError, other std::exception ->
        // RuntimeError, plus every translator the user registered.
        bool is_std_exception = false;
        std::optional<std::error_code> error_code;
        std::string error_text;
        try {
            throw;
        } catch (const std::system_error &system) {
            is_std_exception = true;
            error_code = system.code();
            error_text = system.what();
        } catch (const std::exception &std_error) {
            is_std_exception = true;
            error_text = std_error.what();
        } catch (...) {
        }
        bool translated = false;
        try {
            translated = python::apply_pybind11_translators();
        } catch (...) {
            translated = false;
        }
        // pybind11's last-resort translator turns an unknown type into a bare RuntimeError
        // ("Caught an unknown exception!"); pyasync names the C++ type in pyasync.CppError.
        const bool unknown =
            !translated || !PyErr_Occurred() || (!is_std_exception && PyErr_Occurred() == PyExc_RuntimeError);
        // pybind11 has no rule for std::system_error (Asio's errors among them) and makes it a
        // bare RuntimeError; Python code expects OSError with its errno subclass, and EOFError.
        if (error_code && !unknown && PyErr_Occurred() == PyExc_RuntimeError) {
            PyObject *type = nullptr;
            PyObject *value = nullptr;
            PyObject *traceback = nullptr;
            PyErr_Fetch(&type, &value, &traceback);
            if (!raise_system_error(*error_code, error_text)) {
                PyErr_Restore(type, value, traceback);
            } else {
                Py_XDECREF(type);
                Py_XDECREF(value);
                Py_XDECREF(traceback);
            }
        }
        if (!unknown && is_std_exception) {
            restore_a_lost_message(error_text, error);
        }
        if (unknown) {
            PyErr_Clear();
            const std::type_info *type = abi::__cxa_current_exception_type();
            const std::string name = type != nullptr ? demangle(type->name()) : std::string("<unknown>");
            PyErr_Format(state().cpp_error, "C++ exception of type %s (not a std::exception)", name.c_str());
        }
    }
    if (origin.line() != 0) {
        add_origin_note(origin, coroutine_name);
    }
}

void precondition_failed(const char *where, const char *what) noexcept {
    std::fprintf(stderr, "pyasync: %s: precondition failed: %s\n", where, what);
    std::fflush(stderr);
    std::abort();
}

} // namespace detail
} // namespace pyasync
