// The error of pyasync::call for an argument pybind11 cannot convert to Python.
#include <pyasync/call.hpp>

namespace pyasync::detail {

void throw_unconvertible_argument(std::size_t position, const std::string &type) {
    const std::string message = "pyasync::call: argument " + std::to_string(position) + " (C++ type " + type +
                                ") cannot be converted to a Python object; register the type with "
                                "py::class_ or give it a type caster";
    if (PyErr_Occurred()) {
        py::raise_from(PyExc_TypeError, message.c_str()); // pybind11's reason becomes the cause
    } else {
        PyErr_SetString(PyExc_TypeError, message.c_str());
    }
    throw py::error_already_set();
}

} // namespace pyasync::detail
