#pragma once
/// \file
/// `pyasync::testing::session`: runs the registered cases under a parsed command line. What
/// `pyasync::harness_main` calls; a user `main` may do the same around its own set-up.

#include <pyasync/testing/options.hpp>

#include <string>

namespace pyasync::testing {

/// One run of the harness.
///
/// Listing never starts Python. Running starts the interpreter (unless the caller already
/// did), makes the loop (`--loop-factory`) on the calling thread, which must be the main
/// thread, runs the global fixtures and the selected cases, writes the reports, and returns the
/// exit status (`exit_status`). Not re-entrant; call it with the GIL not held by another thread.
class session {
public:
    /// Parses the command line; a usage error is reported by `run`.
    session(int argc, const char *const *argv);
    /// Runs (or lists) and returns the process exit status.
    int run();

private:
    std::string program_;
    std::vector<std::string> arguments_;
};

} // namespace pyasync::testing

namespace pyasync {
/// `main` for harness binaries (the `pyasync::harness_main` target calls it).
int harness_main(int argc, char **argv);
} // namespace pyasync
