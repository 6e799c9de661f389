// Opening and closing the session loop.
#include "session_loop.hpp"

#include "case_result.hpp"
#include "loop_errors.hpp"

#include <pyasync/testing/detail/expression.hpp>

#include <pyasync/run.hpp>

namespace pyasync::testing::detail {

namespace {

/// `--loop-factory trio`: what stands in for the session loop. trio has no loop that outlives a
/// run, so each `run_until_complete` (a batch of async cases, a suite's set-up, a sync case's
/// coroutine hook) is one `trio.run`; `run_case` runs one async case in a cancel scope whose
/// deadline is the case's timeout, with the case variable naming it (each concurrent worker of
/// --test-threads is a trio task with a context of its own).
constexpr const char *trio_session_source = R"(
import trio


class TrioSession:
    def run_until_complete(self, coroutine):
        async def main():
            return await coroutine

        return trio.run(main)

    def get_debug(self):
        return False

    def __repr__(self):
        return "<pyasync-test trio session: one trio.run per batch>"


async def run_case(scope, body, case_variable, case_id):
    token = case_variable.set(case_id)
    try:
        with scope:
            await body
    finally:
        case_variable.reset(token)
)";

py::dict trio_session_scope() {
    static py::dict *scope = [] {
        auto *made = new py::dict(); // kept: its objects live as long as the session may
        (*made)["__name__"] = "pyasync_test_trio_session";
        py::object done = py::reinterpret_steal<py::object>(
            PyRun_String(trio_session_source, Py_file_input, made->ptr(), made->ptr()));
        if (!done) {
            throw py::error_already_set();
        }
        return made;
    }();
    return *scope;
}

/// The TrioSession class, once a trio session was opened: until then nothing is one, and an
/// asyncio session pays one pointer test per case for the question.
PyTypeObject *trio_session_type = nullptr;

} // namespace

bool is_trio_session(py::handle loop) {
    return trio_session_type != nullptr && loop && Py_TYPE(loop.ptr()) == trio_session_type;
}

py::object trio_case_runner() {
    return trio_session_scope()["run_case"];
}

py::object open_session_loop(const options &opts) {
    if (opts.loop_factory == "trio") {
        py::object session = trio_session_scope()["TrioSession"]();
        trio_session_type = Py_TYPE(session.ptr()); // the class lives in the kept scope
        return session;
    }
    py::object factory = resolve_loop_factory(opts.loop_factory);
    py::object asyncio = py::module_::import("asyncio");
    py::object loop = factory.is_none() ? asyncio.attr("new_event_loop")() : factory();
    if (!py::isinstance(loop, asyncio.attr("AbstractEventLoop"))) {
        throw py::type_error("--loop-factory '" + opts.loop_factory + "' returned " + python_repr(loop) +
                             ", expected an asyncio event loop (an asyncio.AbstractEventLoop)");
    }
    if (opts.asyncio_debug) {
        loop.attr("set_debug")(true);
    }
    install_loop_error_handler(loop);
    asyncio.attr("set_event_loop")(loop);
    return loop;
}

void drain_pending_tasks(py::handle loop) {
    if (is_trio_session(loop)) {
        return; // each trio.run ended with its nursery's tasks
    }
    py::object asyncio = py::module_::import("asyncio");
    py::list pending;
    for (py::handle t : asyncio.attr("all_tasks")(loop)) {
        if (!t.attr("done")().cast<bool>()) {
            t.attr("cancel")();
            pending.append(t);
        }
    }
    if (py::len(pending) != 0) {
        loop.attr("run_until_complete")(asyncio.attr("gather")(*pending, py::arg("return_exceptions") = true));
    }
}

void close_session_loop(py::object &loop) {
    if (!loop) {
        return;
    }
    if (is_trio_session(loop)) {
        loop = py::object(); // every trio.run ended with its batch: nothing is left open
        return;
    }
    try {
        drain_pending_tasks(loop);
        loop.attr("run_until_complete")(loop.attr("shutdown_asyncgens")());
        loop.attr("close")();
        py::module_::import("asyncio").attr("set_event_loop")(py::none());
    } catch (py::error_already_set &error) {
        std::fprintf(stderr, "pyasync-test: closing the loop failed: %s\n", python_traceback(error).c_str());
    }
    loop = py::object();
}

} // namespace pyasync::testing::detail
