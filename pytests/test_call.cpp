// pyasync::call: a Python callable called from a task with one vectorcall: arguments converted by
// pybind11's casters, bound methods, errors of conversion and of the callee, references kept even.
#include "pyasync_tests.hpp"

#include <string>
#include <vector>

namespace {

/// A C++ type pybind11 knows nothing about: its conversion to Python fails.
struct unregistered {};

pyasync::task<py::object> await_call(py::object fn, int number, std::string text, std::vector<int> values,
                                     py::object object) {
    co_return co_await pyasync::call(fn, number, text, values, object);
}

pyasync::task<py::object> await_call_no_arguments(py::object fn) {
    co_return co_await pyasync::call(fn);
}

/// Calls `fn(object, unregistered{})`: the second argument cannot convert.
pyasync::task<py::object> call_with_unconvertible(py::object fn, py::object object) {
    co_return pyasync::call(fn, object, unregistered{});
}

/// Calls `fn` at once, outside any task, with the one or two items of `values`.
py::object call_now(py::object fn, py::list values) {
    if (values.size() == 1) {
        return pyasync::call(fn, py::object(values[0]));
    }
    return pyasync::call(fn, py::object(values[0]), py::object(values[1]));
}

} // namespace

PYASYNC_TEST_SUBMODULE(call, m) {
    pyasync::def(m, "await_call", &await_call, py::arg("fn"), py::arg("number"), py::arg("text"), py::arg("values"),
                 py::arg("object"));
    pyasync::def(m, "await_call_no_arguments", &await_call_no_arguments, py::arg("fn"));
    pyasync::def(m, "call_with_unconvertible", &call_with_unconvertible, py::arg("fn"), py::arg("object"));
    m.def("call_now", &call_now, py::arg("fn"), py::arg("values"));
}
