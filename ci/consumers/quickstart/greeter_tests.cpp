#include <pyasync/pyasync.hpp>
#include <pyasync/test.hpp>

#include <string>

namespace py = pybind11;

PYASYNC_TEST(Greeter, adds_later) -> pyasync::task<> {
    py::object greeter = py::module_::import("greeter");
    const int sum = (co_await greeter.attr("add_later")(2, 3)).cast<int>();
    PYASYNC_CHECK(sum == 5);
}

PYASYNC_TEST(Greeter, greets_what_python_awaits) -> pyasync::task<> {
    py::object greeter = py::module_::import("greeter");
    py::object name = py::module_::import("asyncio").attr("sleep")(0, "world");
    const std::string greeting = (co_await greeter.attr("greet")(name)).cast<std::string>();
    PYASYNC_CHECK(greeting == "hello world");
}
