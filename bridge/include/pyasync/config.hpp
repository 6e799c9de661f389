#pragma once
/// \file
/// Version, toolchain checks and the debug-build contract checks every pyasync header uses.
///
/// pyasync builds on pybind11 (type casters, `py::object`) and the CPython C API. All of
/// pyasync lives in `namespace pyasync`; internals in `pyasync::detail`.

#include <pyasync/version.hpp>

#include <pybind11/pybind11.h>

#if __cplusplus < 202002L
#    error "pyasync needs C++20 (coroutines, concepts): compile with -std=c++20"
#endif
/// \cond INTERNAL
#define PYASYNC_STRINGIZE_(x) #x
#define PYASYNC_STRINGIZE(x) PYASYNC_STRINGIZE_(x)
/// \endcond
static_assert(PY_VERSION_HEX >= ((PYASYNC_PYTHON_MINIMUM_MAJOR << 24) | (PYASYNC_PYTHON_MINIMUM_MINOR << 16)),
              "pyasync needs CPython " PYASYNC_STRINGIZE(PYASYNC_PYTHON_MINIMUM_MAJOR) "." PYASYNC_STRINGIZE(
                  PYASYNC_PYTHON_MINIMUM_MINOR) " or newer: these are the headers of " PY_VERSION
                                                " (configure with -DPython3_EXECUTABLE=/path/to/a/newer/python3)");

// pyasync's namespace carries no visibility attribute (unlike pybind11's): GCC 12 then warns
// that coroutine frame types of pyasync templates have "greater visibility than their fields".
// The shared bridge (libpyasync.so) and modules built with `pyasync_add_module` compile with
// -fvisibility=hidden: templates and inline code stay private to each module, and the library
// exports only what is marked PYASYNC_API.

/// Marks what libpyasync.so exports: the functions and objects every module shares (one
/// runtime, one coroutine type, one completion queue per loop per process).
#define PYASYNC_API __attribute__((visibility("default")))

#if !defined(NDEBUG)
/// Debug builds check the threading contracts of the entry points that need the GIL (as
/// pybind11's gil_simple.h does); release builds compile the checks out.
#    define PYASYNC_ASSERT_GIL_HELD(where)                                                                             \
        ((PyGILState_Check() != 0)                                                                                     \
             ? (void)0                                                                                                 \
             : ::pyasync::detail::precondition_failed(where, "the GIL must be held (call it on the event-loop "        \
                                                             "thread, or inside pyasync::with_gil)"))
#else
#    define PYASYNC_ASSERT_GIL_HELD(where) ((void)0)
#endif

namespace pyasync {
namespace py = pybind11;
namespace detail {
/// Prints "pyasync: <where>: precondition failed: <what>" to stderr and aborts. A debug-build
/// contract check failed: a bug in the caller, which no exception could report reliably.
[[noreturn]] PYASYNC_API void precondition_failed(const char *where, const char *what) noexcept;
} // namespace detail
} // namespace pyasync
