// A helper program driven by test_run.py: PYASYNC_MAIN with exit statuses and tracebacks.
// The trailing underscore marks a binary a script drives.
#include <pyasync/pyasync.hpp>
#include <pyasync/run.hpp>

#include <iostream>

namespace py = pybind11;

pyasync::task<void> sleep_then(double seconds) { co_await pyasync::sleep(seconds); }

pyasync::task<void> sleep_away(double seconds) {
    co_await pyasync::resume_on();
    co_await pyasync::sleep(seconds);
}

pyasync::task<int> probe(std::vector<std::string> args) {
    const std::string mode = args.size() > 1 ? args[1] : "ok";
    co_await pyasync::sleep(0.001);
    if (mode == "status") {
        co_return 3;
    }
    if (mode == "python-error") {
        py::dict scope;
        py::exec("async def broken():\n    raise ValueError('from python in main')\n", scope);
        co_await scope["broken"]();
    }
    if (mode == "cpp-error") {
        throw std::runtime_error("from C++ in main");
    }
    if (mode == "leave-pending") { // 10k operations still on runtime threads when main returns
        py::object loop = pyasync::get_running_loop();
        for (int i = 0; i < 10'000; ++i) {
            loop.attr("create_task")(pyasync::make_coroutine(i % 5 == 0 ? sleep_away(60.0) : sleep_then(60.0)));
        }
        co_await pyasync::sleep(0.01);
    }
    if (mode == "loop") {
        std::cout << py::str(pyasync::get_running_loop().get_type().attr("__module__")).cast<std::string>() << std::endl;
    }
    co_return 0;
}

PYASYNC_MAIN(probe)
