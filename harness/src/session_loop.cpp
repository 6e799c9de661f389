// Opening and closing the session loop.
#include "session_loop.hpp"

#include "case_result.hpp"

#include <pyasync/testing/detail/expression.hpp>

#include <pyasync/run.hpp>

namespace pyasync::testing::detail {

py::object open_session_loop(const options &opts) {
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
    asyncio.attr("set_event_loop")(loop);
    return loop;
}

void drain_pending_tasks(py::handle loop) {
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
