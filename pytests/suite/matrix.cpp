// The bridge's own integration suite, written with PYASYNC_TEST: pyo3-asyncio's pytests matrix
// ported to C++ (reference/pyo3_asyncio.md), run by the harness, one ctest test per case.
#include <pyasync/fixtures/counted.hpp>
#include <pyasync/fixtures/python_module.hpp>
#include <pyasync/pyasync.hpp>
#include <pyasync/run.hpp>
#include <pyasync/test.hpp>

#include "dependencies.hpp"

#include <chrono>
#include <random>
#include <stdexcept>
#include <thread>

using namespace std::chrono_literals;
using pyasync::fixtures::module_from_source;
namespace py = pybind11;

namespace {

pyasync::task<int> cpp_sleep_then(double seconds, int value) {
    co_await pyasync::sleep(seconds);
    co_return value;
}

pyasync::task<> cpp_fail(std::string message) {
    co_await pyasync::sleep(0);
    throw std::invalid_argument(message);
}

/// The Python half of the matrix; `native` is this binary's embedded module.
py::module_ python_side() {
    return module_from_source("matrix_py", R"(
import asyncio, contextvars
import matrix_native

request_id = contextvars.ContextVar('request_id', default=None)

async def awaits_cpp(value):
    return await matrix_native.sleep_then(0.01, value) + 1

async def raises(message):
    await asyncio.sleep(0)
    raise ValueError(message)

async def awaits_failing_cpp():
    try:
        await matrix_native.fail('bad input')
    except ValueError as error:
        return str(error), getattr(error, '__notes__', [])

async def read_request_id():
    await asyncio.sleep(0)
    return request_id.get()

async def with_request(value):
    request_id.set(value)
    return await matrix_native.read_via_cpp()
)");
}

} // namespace

PYBIND11_EMBEDDED_MODULE(matrix_native, m) {
    m.def("sleep_then", &cpp_sleep_then);
    m.def("fail", &cpp_fail);
    m.def("read_via_cpp", []() -> pyasync::task<std::string> {
        py::object reader = py::module_::import("matrix_py").attr("read_request_id");
        co_return co_await pyasync::await_as<std::string>(reader());
    });
}

// test_future_into_py: C++ awaits a Python coroutine that awaits a C++ coroutine.
PYASYNC_TEST(Matrix, cpp_awaits_python_awaiting_cpp) -> pyasync::task<> {
    py::module_ py_side = python_side();
    const int value = co_await pyasync::await_as<int>(py_side.attr("awaits_cpp")(41));
    PYASYNC_CHECK(value == 42);
}

// test_async_sleep: a C++ sleep then an asyncio sleep, on the same loop.
PYASYNC_TEST(Matrix, sleeps_on_both_sides, pyasync::testing::tags("[timing]")) -> pyasync::task<> {
    py::object loop = pyasync::get_running_loop();
    const double start = loop.attr("time")().cast<double>();
    co_await pyasync::sleep(0.05);
    co_await py::module_::import("asyncio").attr("sleep")(0.05);
    const double elapsed = loop.attr("time")().cast<double>() - start;
    PYASYNC_CHECK(elapsed >= 0.099);
}

// test_blocking_sleep: a sync case runs on the main thread with no loop running.
PYASYNC_TEST(Matrix, blocking_sync_case_runs_with_the_loop_idle) {
    PYASYNC_CHECK(py::module_::import("asyncio").attr("_get_running_loop")().is_none());
    PYASYNC_CHECK(PyGILState_Check() == 1);
    const auto start = std::chrono::steady_clock::now();
    {
        py::gil_scoped_release no_gil;
        std::this_thread::sleep_for(20ms);
    }
    PYASYNC_CHECK(std::chrono::steady_clock::now() - start >= 20ms);
}

// test_other_awaitables: a run_in_executor Future is awaitable from C++.
PYASYNC_TEST(Matrix, awaits_run_in_executor_future) -> pyasync::task<> {
    py::object loop = pyasync::get_running_loop();
    py::object future = loop.attr("run_in_executor")(py::none(), py::module_::import("math").attr("factorial"), 10);
    PYASYNC_CHECK(co_await pyasync::await_as<long>(future) == 3628800);
}

// test_panic, both ways: a Python exception reaches C++ as python_error with its message; a
// C++ exception reaches Python as the mapped type with the C++ origin in a note.
PYASYNC_TEST(Matrix, python_exception_reaches_cpp) -> pyasync::task<> {
    py::module_ py_side = python_side();
    bool caught = false;
    try {
        co_await py_side.attr("raises")("from python");
    } catch (const pyasync::python_error &error) {
        caught = error.is(PyExc_ValueError);
        PYASYNC_CHECK(std::string(py::str(error.value())) == "from python");
    }
    PYASYNC_CHECK(caught);
}

PYASYNC_TEST(Matrix, cpp_exception_reaches_python_with_origin) -> pyasync::task<> {
    py::module_ py_side = python_side();
    py::tuple outcome = co_await pyasync::await_as<py::tuple>(py_side.attr("awaits_failing_cpp")());
    PYASYNC_CHECK(outcome[0].cast<std::string>() == "bad input");
    const std::string note = py::str(outcome[1]).cast<std::string>();
    PYASYNC_CHECK(note.find("cpp_fail") != std::string::npos);
    PYASYNC_CHECK(note.find("matrix.cpp") != std::string::npos);
}

// test_cancel: after cancel, the C++ side effect never happens and the frame is destroyed.
PYASYNC_TEST(Matrix, cancel_prevents_the_cpp_side_effect) -> pyasync::task<> {
    static bool side_effect = false;
    const long alive_before = pyasync::fixtures::counted::alive();
    auto effect = [](pyasync::fixtures::counted) -> pyasync::task<> {
        co_await pyasync::sleep(0.05);
        side_effect = true;
    };
    py::object loop = pyasync::get_running_loop();
    py::object task = loop.attr("create_task")(pyasync::make_coroutine(effect(pyasync::fixtures::counted{})));
    co_await pyasync::sleep(0.01);
    PYASYNC_CHECK(pyasync::fixtures::counted::alive() == alive_before + 1);
    task.attr("cancel")();
    co_await py::module_::import("asyncio").attr("sleep")(0.1);
    PYASYNC_CHECK(task.attr("cancelled")().cast<bool>());
    PYASYNC_CHECK(!side_effect);
    task = py::object();
    PYASYNC_CHECK(pyasync::fixtures::counted::alive() == alive_before);
}

// test_multiple_asyncio_run: several loops in a row, from a sync case.
PYASYNC_TEST(Matrix, several_loops_in_a_row) {
    PYASYNC_CHECK(pyasync::run(cpp_sleep_then(0.001, 1)) == 1);
    PYASYNC_CHECK(pyasync::run(cpp_sleep_then(0.001, 2)) == 2);
    py::object asyncio = py::module_::import("asyncio");
    for (int round = 3; round <= 4; ++round) {
        py::object loop = asyncio.attr("new_event_loop")();
        py::object result = loop.attr("run_until_complete")(pyasync::make_coroutine(cpp_sleep_then(0.001, round)));
        loop.attr("close")();
        PYASYNC_CHECK(result.cast<int>() == round);
    }
}

// test_contextvars: a ContextVar set in Python is seen by a Python coroutine awaited by C++.
PYASYNC_TEST(Matrix, contextvars_flow_through_cpp) {
    py::module_ py_side = python_side();
    for (const char *id : {"first", "second"}) {
        py::object seen = py::module_::import("asyncio").attr("run")(py_side.attr("with_request")(id));
        PYASYNC_CHECK(seen.cast<std::string>() == id);
    }
}

// test_*_uvloop: the bridge on uvloop.
PYASYNC_TEST(Matrix, runs_on_uvloop) {
    suite::require_module("uvloop");
    pyasync::run_options options;
    options.loop_factory = "uvloop";
    const std::string loop_type = pyasync::run(
        []() -> pyasync::task<std::string> {
            co_await pyasync::sleep(0.001);
            co_return py::str(py::type::of(pyasync::get_running_loop()).attr("__module__")).cast<std::string>();
        }(),
        options);
    PYASYNC_CHECK(loop_type == "uvloop");
}

// test_*_run_forever: a C++ coroutine stops a loop running forever.
PYASYNC_TEST(Matrix, run_forever_stopped_from_cpp) {
    py::object loop = py::module_::import("asyncio").attr("new_event_loop")();
    auto stopper = [](py::object loop) -> pyasync::task<> {
        co_await pyasync::sleep(0.02);
        loop.attr("stop")();
    };
    py::object task = loop.attr("create_task")(pyasync::make_coroutine(stopper(loop)));
    const auto start = std::chrono::steady_clock::now();
    loop.attr("run_forever")();
    PYASYNC_CHECK(task.attr("done")().cast<bool>());
    PYASYNC_CHECK(std::chrono::steady_clock::now() - start >= 20ms);
    loop.attr("close")();
}

// test_race_condition_regression: cancelling a C++ sleep just as it completes never reaches the
// loop's exception handler (no InvalidStateError), 1000 times, each on a debug-mode loop.
PYASYNC_TEST(Matrix, cancel_complete_race_1000_times, pyasync::testing::tags("[race]")) {
    py::object asyncio = py::module_::import("asyncio");
    std::mt19937 random(1234);
    std::uniform_real_distribution<double> around(0.0005, 0.002);
    int handler_calls = 0;
    int cancelled = 0;
    for (int round = 0; round < 1000; ++round) {
        py::object loop = asyncio.attr("new_event_loop")();
        loop.attr("set_debug")(true);
        loop.attr("slow_callback_duration") = 10.0;
        loop.attr("set_exception_handler")(py::cpp_function([&](py::handle, py::handle) { ++handler_calls; }));
        auto race = [](double cancel_at) -> pyasync::task<bool> {
            py::object loop = pyasync::get_running_loop();
            py::object sleeper = loop.attr("create_task")(pyasync::make_coroutine(cpp_sleep_then(0.001, 0)));
            loop.attr("call_later")(cancel_at, sleeper.attr("cancel"));
            co_await py::module_::import("asyncio").attr("wait")(py::make_tuple(sleeper));
            co_return sleeper.attr("cancelled")().cast<bool>();
        };
        cancelled += pyasync::run_until_complete(loop, race(around(random))) ? 1 : 0;
        loop.attr("close")();
    }
    PYASYNC_CHECK(handler_calls == 0);
    // Both outcomes happened: the race was really exercised.
    PYASYNC_CHECK(cancelled > 0);
    PYASYNC_CHECK(cancelled < 1000);
}
