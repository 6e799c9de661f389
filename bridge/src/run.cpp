#include <pyasync/detail/module_state.hpp>
#include <pyasync/run.hpp>

#include <cstdio>
#include <cstdlib>

namespace pyasync {

py::object resolve_loop_factory(const std::string &spec) {
    if (spec.empty() || spec == "asyncio") {
        return py::none();
    }
    if (spec == "uvloop") {
        return py::module_::import("uvloop").attr("new_event_loop");
    }
    const auto colon = spec.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size()) {
        throw py::value_error("pyasync: unknown loop factory '" + spec +
                              "': expected 'asyncio', 'uvloop' or 'module:callable' (for example "
                              "'uvloop:new_event_loop')");
    }
    py::object factory = py::module_::import(spec.substr(0, colon).c_str());
    std::string path = spec.substr(colon + 1);
    for (std::size_t start = 0; start <= path.size();) {
        const auto dot = path.find('.', start);
        factory = factory.attr(path.substr(start, dot - start).c_str());
        if (dot == std::string::npos) {
            break;
        }
        start = dot + 1;
    }
    if (!PyCallable_Check(factory.ptr())) {
        throw py::type_error("pyasync: loop factory '" + spec + "' is not callable");
    }
    return factory;
}

namespace detail {

namespace {

/// `closable.close()` while another error propagates: what closing raises is reported as
/// unraisable (`what` says where), never in place of that error.
void close_after_error(const py::object &closable, const char *what) {
    try {
        closable.attr("close")();
    } catch (py::error_already_set &close_error) {
        close_error.discard_as_unraisable(what);
    }
}

} // namespace

py::object run_with_runner(const py::object &coroutine, const run_options &options) {
    try {
        return run_with_runner(coroutine, resolve_loop_factory(options.loop_factory), py::bool_(options.debug));
    } catch (...) {
        // The coroutine is pyasync's wrapper of the caller's C++ task: when no loop could be made
        // (a loop factory that does not import) it never started, and Python would warn that
        // it "was never awaited" at a random later point. Closing a finished one does nothing.
        close_after_error(coroutine, "pyasync::run closing its coroutine after an error");
        throw;
    }
}

py::object run_with_runner(const py::object &coroutine, const py::object &loop_factory, const py::object &debug) {
    py::object runner =
        py::module_::import("asyncio").attr("Runner")(py::arg("debug") = debug, py::arg("loop_factory") = loop_factory);
    py::object result;
    try {
        result = runner.attr("run")(coroutine);
    } catch (...) {
        close_after_error(runner, "pyasync::run closing its loop after an error");
        throw;
    }
    runner.attr("close")();
    return result;
}

namespace {

/// `call(f, *args)`, a Python function: calling through it gives the callee a Python caller.
/// Created once and kept for the process, like `state()`.
py::handle python_caller() {
    static PyObject *const caller = [] {
        py::dict scope;
        py::exec("def call(function, *args):\n    return function(*args)\n", scope);
        return py::object(scope["call"]).release().ptr();
    }();
    return caller;
}

} // namespace

void run_on_loop(py::handle loop, const py::object &coroutine) {
    py::object run_until_complete = loop.attr("run_until_complete");
    // Called from C++ with no Python frame (a harness, a C++ main), uvloop's debug mode fails
    // ("call stack is not deep enough") when it records where each handle was created. Only
    // then, run it from a Python frame: that frame would show in the tracebacks of errors.
    if (PyEval_GetFrame() == nullptr && loop.attr("get_debug")().cast<bool>()) {
        python_caller()(run_until_complete, coroutine);
        return;
    }
    run_until_complete(coroutine);
}

run_options main_options(run_options options) {
    if (const char *environment = std::getenv("PYASYNC_LOOP"); environment != nullptr && *environment != '\0') {
        options.loop_factory = environment;
    }
    return options;
}

int report_main_error(const std::exception_ptr &error) noexcept {
    try {
        std::rethrow_exception(error);
    } catch (py::error_already_set &python) {
        if (python.matches(PyExc_KeyboardInterrupt)) {
            std::fputs("KeyboardInterrupt\n", stderr);
            return 130;
        }
        if (python.matches(PyExc_SystemExit)) {
            py::object code = python.value().attr("code");
            if (code.is_none()) {
                return 0;
            }
            if (PyLong_Check(code.ptr())) {
                return static_cast<int>(code.cast<long>()) & 0xff;
            }
            py::print(code, py::arg("file") = py::module_::import("sys").attr("stderr"));
            return 1;
        }
        python.restore();
    } catch (...) {
        raise_in_python(std::current_exception(), detail::source_location{}, "main");
    }
    PyErr_Print();
    return 1;
}

} // namespace detail
} // namespace pyasync
