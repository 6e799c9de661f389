#include <pyasync/detail/module_state.hpp>
#include <pyasync/errors.hpp>
#include <pyasync/task_locals.hpp>

namespace pyasync {

py::object get_running_loop() {
    PyObject *loop = PyObject_CallNoArgs(detail::state().get_running_loop);
    if (loop == nullptr) {
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
