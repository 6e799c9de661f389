#pragma once
// What test_one_bridge.py asks of each of two extension modules, compiled into both: their
// views of the process's bridge (runtime, completion queue, counters, types) must be one.
#include <pyasync/detail/completion_queue.hpp>
#include <pyasync/pyasync.hpp>

#include <chrono>
#include <cstdint>

namespace one_bridge {

namespace py = pybind11;

struct not_a_std_exception {};

inline pyasync::task<py::object> await_value(py::object awaitable) {
    co_return co_await awaitable;
}

inline pyasync::task<int> ready(int value) {
    co_return value;
}

inline pyasync::task<void> hold_on_runtime(double seconds) {
    co_await pyasync::sleep(std::chrono::duration<double>(seconds));
}

inline pyasync::task<void> throw_unknown() {
    throw not_a_std_exception{};
    co_return;
}

inline void def_probe(py::module_ m) {
    m.def("runtime_address", [] { return reinterpret_cast<std::uintptr_t>(&pyasync::default_runtime()); });
    m.def("runtime_threads", [] { return pyasync::default_runtime_status().threads; });
    m.def("queue_address", [](const py::object &loop) {
        return reinterpret_cast<std::uintptr_t>(pyasync::detail::completion_queue::of(loop.ptr()).get());
    });
    m.def("pending", &pyasync::pending_operations);
    m.def("cpp_error", &pyasync::cpp_error_type);
    pyasync::def(m, "await_value", &await_value, "Await `awaitable` from this module's C++.", py::arg("awaitable"));
    pyasync::def(m, "ready", &ready, "Return `value` without suspending.", py::arg("value"));
    pyasync::def(m, "hold_on_runtime", &hold_on_runtime, "Sleep on a runtime timer.", py::arg("seconds"));
    pyasync::def(m, "throw_unknown", &throw_unknown, "Throw a C++ exception that is not a std::exception.");
}

} // namespace one_bridge
