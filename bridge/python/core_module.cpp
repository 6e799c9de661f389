// pyasync._core: the process's bridge as the `pyasync` package sees it. Everything here is the
// shared library's own state (one runtime, one coroutine type, one CppError per process); this
// module only names it for Python.
#include <pyasync/async_generator.hpp>
#include <pyasync/detail/bridge_identity.hpp>
#include <pyasync/detail/coroutine_object.hpp>
#include <pyasync/errors.hpp>
#include <pyasync/module.hpp>
#include <pyasync/run.hpp>
#include <pyasync/runtime.hpp>

#include <pybind11/stl.h>

#include "schedule_bindings.hpp"

namespace {

namespace py = pybind11;

py::object type_object(PyTypeObject *type) {
    if (type == nullptr) {
        throw py::error_already_set();
    }
    return py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject *>(type));
}

void configure_runtime(std::optional<long long> threads, std::optional<long long> spin_us) {
    pyasync::runtime_settings settings;
    if (threads) {
        if (*threads < 1) {
            throw std::invalid_argument("threads is " + std::to_string(*threads) +
                                        ": expected a whole number of threads from 1 to 1024");
        }
        settings.threads = static_cast<std::size_t>(*threads);
    }
    if (spin_us) {
        settings.spin = std::chrono::microseconds(*spin_us);
    }
    pyasync::configure_default_runtime(settings);
}

py::dict runtime_info() {
    const pyasync::runtime_status status = pyasync::default_runtime_status();
    py::dict info;
    info["started"] = status.started;
    info["engine"] = status.custom ? "custom" : "asio";
    info["threads"] = status.threads;
    info["spin_us"] = status.spin.count();
    return info;
}

} // namespace

PYASYNC_MODULE(_core, m) {
    m.doc() = "The native core of the pyasync package: the process's one bridge.";
    const pyasync::detail::bridge_identity &bridge = pyasync::detail::this_bridge();
    m.attr("__version__") = bridge.version;
    m.attr("abi_version") = bridge.abi;
    m.attr("library_path") = bridge.library;
    m.attr("CppError") = pyasync::cpp_error_type();
    m.attr("coroutine") = type_object(pyasync::detail::coroutine_type());
    m.attr("async_generator") = type_object(pyasync::detail::async_generator_type());

    m.def("pending", &pyasync::pending_operations,
          "The number of bridged runtime operations still alive in this process (0 once all finished).");
    m.def("configure_runtime", &configure_runtime, py::kw_only(), py::arg("threads") = py::none(),
          py::arg("spin_us") = py::none(),
          "Sets the default runtime's worker count and spin before it starts (ValueError out of range, "
          "RuntimeError once started).");
    m.def("runtime_info", &runtime_info,
          "The default runtime as it runs or will be made: started, engine, threads, spin_us.");
    m.def("resolve_loop_factory", &pyasync::resolve_loop_factory, py::arg("spec"),
          "The loop factory named by spec: 'asyncio' (None), 'uvloop' or 'module:callable'.");
    using run_with_factory = py::object (*)(const py::object &, const py::object &, const py::object &);
    m.def("run", static_cast<run_with_factory>(&pyasync::detail::run_with_runner), py::arg("main"),
          py::arg("loop_factory"), py::arg("debug"),
          "Runs main with asyncio.Runner and the given loop factory (an object or None).");
    pyasync::python::add_schedule_bindings(m);
}
