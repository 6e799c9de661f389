#pragma once
// Internal: Ctrl-C and SIGTERM in an in-process run. The first stops the run (the running case
// is cancelled, the summary and reports are written, exit 2); a second exits at once.

#include <pybind11/pybind11.h>

#include <functional>
#include <string>

namespace pyasync::testing::detail {

namespace py = pybind11;

/// Installs the stop-signal handlers for the session. `on_stop(signal_number)` runs on the main thread when
/// Python handles the first signal (GIL held; it may throw KeyboardInterrupt into a sync case).
/// A C-level handler chained before Python's counts signals, so a second one exits (status 2)
/// even while a sync case blocks in C++ and Python never gets to run its handler.
void install_stop_signal_handlers(std::function<void(int signal_number)> on_stop);

/// "Ctrl-C" for SIGINT, "SIGTERM" for SIGTERM: how a failure names what interrupted a case.
std::string describe_stop_signal(int signal_number);

/// Writes why and exits at once with status 2: the second stop signal.
[[noreturn]] void exit_interrupted_twice();

} // namespace pyasync::testing::detail
