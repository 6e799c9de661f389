#pragma once
// Internal: the session's event loop, as every front-end opens and closes it (the harness's run
// plan and serving, the Boost.Test adapter).

#include <pyasync/testing/options.hpp>

#include <pybind11/pybind11.h>

namespace pyasync::testing::detail {

namespace py = pybind11;

/// A new event loop from `opts.loop_factory` (asyncio's default when empty), in debug mode with
/// `--asyncio-debug`, made the current loop. Main thread, GIL held. Throws a TypeError naming
/// the factory when it returns something that is not an event loop. With `trio`, the stand-in
/// whose `run_until_complete` is one `trio.run` (pyasync::run_until_complete accepts it).
py::object open_session_loop(const options &opts);

/// True for what `open_session_loop` returns under `--loop-factory trio`.
bool is_trio_session(py::handle loop);

/// `run_case(scope, body, case_variable, case_id)`: awaits the case coroutine `body` inside the
/// trio cancel scope `scope`, with `case_variable` set to `case_id` meanwhile.
py::object trio_case_runner();

/// Cancels the tasks still on `loop` and waits for them, shuts its async generators down, closes
/// it and clears the current loop; `loop` is empty afterwards. Main thread, GIL held. Never
/// throws: a failure is said on stderr.
void close_session_loop(py::object &loop);

/// Cancels the tasks still pending on `loop` and runs the loop until they finished, so what they
/// do on their way out happens now (their assertions fall on the case that left them). Main
/// thread, GIL held, `loop` not running.
void drain_pending_tasks(py::handle loop);

} // namespace pyasync::testing::detail
