#pragma once
/// \file
/// Version, toolchain checks and the namespace macros every pyasync header uses.
///
/// pyasync builds on pybind11 (type casters, `py::object`) and the CPython C API. All of
/// pyasync lives in `namespace pyasync`; internals in `pyasync::detail`.

#include <pybind11/pybind11.h>

#if __cplusplus < 202002L
#    error "pyasync needs C++20 (coroutines, concepts): compile with -std=c++20"
#endif
#if PY_VERSION_HEX < 0x030A0000
#    error "pyasync needs Python 3.10 or newer (am_send / PyIter_Send)"
#endif

#define PYASYNC_VERSION_MAJOR 0
#define PYASYNC_VERSION_MINOR 1
#define PYASYNC_VERSION_PATCH 0

/// Opens `namespace pyasync`. NOTE: unlike pybind11 the namespace carries no visibility
/// attribute: GCC 12 then warns that coroutine frame types of pyasync templates have "greater
/// visibility than their fields". Modules built with `pyasync_add_module` (and the bridge
/// target) compile with -fvisibility=hidden, which keeps two modules' copies apart all the same.
#define PYASYNC_NAMESPACE_BEGIN namespace pyasync {
#define PYASYNC_NAMESPACE_END }

PYASYNC_NAMESPACE_BEGIN
namespace py = pybind11;
PYASYNC_NAMESPACE_END
