#pragma once
/// \file
/// Where the frames of `pyasync::task` coroutines are allocated (internal).
///
/// Every call of a coroutine function allocates its frame and every finished frame is freed:
/// for `await ready(x)` that malloc and free were an eighth of the whole await. Frames up to
/// `frame_classes` × `frame_granule` bytes are kept in per-thread lists by size class and reused,
/// as CPython keeps its own frames. Any thread, GIL or not: a frame may be created on a runtime
/// thread and freed on the loop.

#include <pyasync/config.hpp>

#include <cstddef>
#include <new>

namespace pyasync::detail {

/// The size classes of the frame lists: 64 bytes apart, up to 1 KiB.
inline constexpr std::size_t frame_granule = 64;
inline constexpr std::size_t frame_classes = 16;

/// A block of `(size_class + 1) * frame_granule` bytes, `size_class < frame_classes`, aligned for
/// any frame. Throws std::bad_alloc.
PYASYNC_API void *allocate_frame_of_class(std::size_t size_class);

/// Gives back a block from `allocate_frame_of_class(size_class)`, with the same `size_class`.
PYASYNC_API void free_frame_of_class(void *frame, std::size_t size_class) noexcept;

/// A block of at least `size` bytes, aligned for any frame. Throws std::bad_alloc. Inline: a
/// coroutine's frame size is a constant where its promise's `operator new` is expanded, so its
/// class is found at compile time (10 of the ~870 instructions of `await ready(x)`, with
/// `free_frame`).
inline void *allocate_frame(std::size_t size) {
    const std::size_t size_class = (size - 1) / frame_granule; // size > 0: a frame holds its resume pointers
    return size_class < frame_classes ? allocate_frame_of_class(size_class) : ::operator new(size);
}

/// Gives back a block from `allocate_frame(size)`, with the same `size`.
inline void free_frame(void *frame, std::size_t size) noexcept {
    const std::size_t size_class = (size - 1) / frame_granule;
    if (size_class < frame_classes) {
        free_frame_of_class(frame, size_class);
    } else {
        ::operator delete(frame);
    }
}

} // namespace pyasync::detail
