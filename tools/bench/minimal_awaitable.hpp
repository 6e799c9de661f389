#pragma once
// The least a C extension's awaitable can cost in this interpreter (bench_await.py's and the
// instruction gate's reference row): see minimal_awaitable.cpp.
#include <pybind11/pybind11.h>

/// Adds `minimal_ready(x)` to `m`: returns an awaitable whose `await` gives x. GIL held.
void add_minimal_awaitable(pybind11::module_ &m);
