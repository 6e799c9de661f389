#pragma once
/// \file
/// Where the frames of `pyasync::task` coroutines are allocated (internal).
///
/// Every call of a coroutine function allocates its frame and every finished frame is freed:
/// for `await ready(x)` that malloc and free were an eighth of the whole await. Small frames are
/// kept in per-thread lists by size class and reused, as CPython keeps its own frames. Any
/// thread, GIL or not: a frame may be created on a runtime thread and freed on the loop.

#include <pyasync/config.hpp>

#include <cstddef>

namespace pyasync::detail {

/// A block of at least `size` bytes, aligned for any frame. Throws std::bad_alloc.
PYASYNC_API void *allocate_frame(std::size_t size);

/// Gives back a block from `allocate_frame(size)`, with the same `size`.
PYASYNC_API void free_frame(void *frame, std::size_t size) noexcept;

} // namespace pyasync::detail
