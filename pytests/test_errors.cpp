// Errors both ways: Python exceptions caught in C++ as python_error (type, value, traceback),
// re-raised unchanged; C++ exceptions mapped for Python.
#include "pyasync_tests.hpp"

namespace {

/// Awaits `awaitable`; returns "<type name>: <str>" of a Python exception caught in C++.
pyasync::task<std::string> catch_python(py::object awaitable) {
    try {
        co_await awaitable;
    } catch (const pyasync::python_error &error) {
        co_return std::string(py::str(error.type().attr("__name__"))) + ": " +
            std::string(py::str(error.value())) + (error.trace() ? " (with traceback)" : " (no traceback)");
    }
    co_return "nothing raised";
}

/// Lets the Python exception travel through C++ untouched.
pyasync::task<py::object> pass_through(py::object awaitable) { co_return co_await awaitable; }

pyasync::task<int> await_int(py::object awaitable) { co_return co_await pyasync::await_as<int>(awaitable); }

pyasync::task<void> await_not_awaitable(py::object value) { co_await value; }

} // namespace

PYASYNC_TEST_SUBMODULE(errors, m) {
    pyasync::def(m, "catch_python", &catch_python, py::arg("awaitable"));
    pyasync::def(m, "pass_through", &pass_through, py::arg("awaitable"));
    pyasync::def(m, "await_int", &await_int, py::arg("awaitable"));
    pyasync::def(m, "await_not_awaitable", &await_not_awaitable, py::arg("value"));
}
