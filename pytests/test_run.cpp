// pyasync::run and pyasync::run_until_complete, called from a plain (sync) bound function.
#include "pyasync_tests.hpp"

#include <pyasync/run.hpp>

#include <memory>

namespace {

pyasync::task<int> sleeps_and_adds(int a, int b) {
    co_await pyasync::sleep(0.001);
    co_return a + b;
}

pyasync::task<std::unique_ptr<int>> move_only() { co_return std::make_unique<int>(17); }

pyasync::task<void> throws_cpp() {
    co_await pyasync::sleep(0);
    throw std::length_error("C++ type kept");
}

pyasync::task<std::string> loop_type() {
    co_await pyasync::sleep(0);
    co_return std::string(py::str(pyasync::get_running_loop().get_type().attr("__module__")));
}

} // namespace

PYASYNC_TEST_SUBMODULE(run, m) {
    m.def("run_twice", [](const std::string &factory) {
        pyasync::run_options options{factory};
        return py::make_tuple(pyasync::run(sleeps_and_adds(1, 2), options), pyasync::run(sleeps_and_adds(3, 4), options),
                              *pyasync::run(move_only(), options), pyasync::run(loop_type(), options));
    });
    m.def("run_keeps_cpp_exception_type", [] {
        try {
            pyasync::run(throws_cpp());
        } catch (const std::length_error &error) {
            return std::string("caught std::length_error: ") + error.what();
        }
        return std::string("nothing thrown");
    });
    m.def("run_until_complete", [](py::object loop) { return pyasync::run_until_complete(loop, sleeps_and_adds(20, 22)); });
    m.def("resolve_loop_factory", &pyasync::resolve_loop_factory);
}
