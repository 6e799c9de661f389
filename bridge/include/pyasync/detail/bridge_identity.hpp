#pragma once
/// \file
/// The process's one bridge (internal): which libpyasync it is, registered in the interpreter.

#include <pyasync/config.hpp>

#include <string>

namespace pyasync {
namespace detail {

/// What a loaded libpyasync is: compared by address (one library, one identity).
struct bridge_identity {
    int abi;
    const char *version;
    const char *library; ///< the library's file, for error messages
};

/// This library's identity. Any thread.
PYASYNC_API const bridge_identity &this_bridge();

/// "pyasync <version> (ABI <n>, <library file>)", for error messages.
std::string describe(const bridge_identity &identity);

/// Registers this library as the interpreter's bridge, or checks that it is the one already
/// registered. Returns the registered identity, or nullptr with an ImportError set naming
/// `joining` (what is being loaded: "module 'x'") and both libraries. GIL held.
PYASYNC_API const bridge_identity *register_bridge(const char *joining);

} // namespace detail
} // namespace pyasync
