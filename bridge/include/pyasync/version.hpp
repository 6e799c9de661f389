#pragma once
/// \file
/// pyasync's release and ABI versions: the one place they are written. CMake, the Python
/// package and `setup.py` read them from here.

/// The release's major number.
#define PYASYNC_VERSION_MAJOR 0
/// The release's minor number.
#define PYASYNC_VERSION_MINOR 1
/// The release's patch number.
#define PYASYNC_VERSION_PATCH 0
/// "MAJOR.MINOR.PATCH".
#define PYASYNC_VERSION_STRING "0.1.0"

/// The ABI of the shared bridge (`libpyasync.so.ABI`): raised whenever a change to a public or
/// detail header would make a module built against the old headers misbehave with the new
/// library. A module whose headers and loaded library disagree refuses to import
/// (`PYASYNC_MODULE`), naming both versions.
#define PYASYNC_ABI_VERSION 2

/// The oldest CPython pyasync supports (3.11: `asyncio.Runner`, `asyncio.timeout`, `TaskGroup`,
/// `create_task(context=)`; 3.10 reached its end of life in October 2026). CMake refuses an older
/// interpreter at configure time, the headers at compile time, pip at install time and the
/// package at import time, each naming this version.
#define PYASYNC_PYTHON_MINIMUM_MAJOR 3
/// The minimum's minor number (with PYASYNC_PYTHON_MINIMUM_MAJOR above).
#define PYASYNC_PYTHON_MINIMUM_MINOR 11
