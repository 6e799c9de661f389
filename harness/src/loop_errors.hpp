#pragma once
// Internal: errors that reach the event loop's exception handler (a callback that raised, a Task
// whose exception was never retrieved, an async generator that failed to close) fail the case
// they belong to, as in the pytest plugin and the Boost.Test adapter. Main thread, GIL held.

#include <pybind11/pybind11.h>

namespace pyasync::testing::detail {

namespace py = pybind11;

/// Installs `handler` (default: the harness's, which fails the case an error belongs to) as the
/// exception handler of `loop` (an asyncio loop), and as the one restore_loop_error_handler
/// puts back. A front end with a handler of its own (the Boost.Test adapter) installs it here.
void install_loop_error_handler(py::handle loop, py::handle handler = py::handle());
/// Puts the session's handler back when a case replaced it (`loop.set_exception_handler`): what
/// one case does to a shared loop must not decide the next one's verdict. Costs one call when
/// nothing changed.
void restore_loop_error_handler(py::handle loop);

} // namespace pyasync::testing::detail
