#include <pyasync/pyasync.hpp>

#include <chrono>
#include <string>

namespace py = pybind11;

// A coroutine that awaits Python (any awaitable) and returns a C++ value.
pyasync::task<std::string> greet(py::object name_source) {
    py::object name = co_await name_source;
    co_return "hello " + name.cast<std::string>();
}

// A coroutine that waits on pyasync's runtime (a timer off the event loop).
pyasync::task<int> add_later(int a, int b) {
    co_await pyasync::sleep(std::chrono::milliseconds(10));
    co_return a + b;
}

PYASYNC_MODULE(greeter, m) {
    pyasync::def(m, "greet", &greet, "Await name_source, then greet it.", py::arg("name_source"));
    pyasync::def(m, "add_later", &add_later, "Return a + b after 10 ms.", py::arg("a"), py::arg("b"));
}
