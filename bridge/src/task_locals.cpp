#include <pyasync/detail/module_state.hpp>
#include <pyasync/errors.hpp>
#include <pyasync/task_locals.hpp>

#include "trio_host.hpp"

namespace pyasync {

py::object get_running_loop() {
    PyObject *loop = PyObject_CallNoArgs(detail::state().get_running_loop);
    if (loop == nullptr) {
        if (PyErr_ExceptionMatches(PyExc_RuntimeError) && detail::running_under_trio() > 0) {
            PyErr_Clear();
            PyErr_SetString(PyExc_RuntimeError,
                            "pyasync: this needs the running asyncio event loop, but the caller runs under trio, "
                            "which has none; under trio, await C++ coroutines directly and run concurrent work in "
                            "a trio nursery");
        }
        throw python_error();
    }
    return py::reinterpret_steal<py::object>(loop);
}

task_locals current_locals() {
    py::object loop = get_running_loop();
    PyObject *context = PyContext_CopyCurrent();
    if (context == nullptr) {
        throw python_error();
    }
    return {std::move(loop), py::reinterpret_steal<py::object>(context)};
}

} // namespace pyasync
