#pragma once
/// \file
/// `pyasync::buffered(source, capacity)`: a producer that runs ahead of its consumer, up to a
/// bound (backpressure with a bounded buffer).
///
///     m.def("frames", [](int n) { return pyasync::buffered(decode_frames(n), 8); });
///     // async for frame in frames(100): the C++ generator decodes up to 8 frames ahead
///
/// - **Lazy**: nothing runs before the first `__anext__`, which starts a Task (on the running
///   loop) that pulls from `source`. It keeps at most `capacity` items ready: the producer is
///   never more than `capacity` items ahead of the consumer, and waits (suspended) while the
///   buffer is full, until the consumer has drained it to half (one wake-up per capacity/2
///   items). A ready item is handed out without a coroutine or a loop turn.
/// - The producer runs in its own Task, concurrently with the consumer: a C++ generator that
///   works on the runtime (`resume_on`) or awaits I/O between items overlaps with the consumer.
/// - An exception from the producer reaches the consumer after the items produced before it;
///   then `__anext__` raises StopAsyncIteration, as after the end.
/// - Cancelling the Task awaiting `__anext__` loses no item: the next `__anext__` gets it.
/// - `aclose()` cancels the producer's Task (the cancellation reaches the producer where it
///   waits), closes `source` (a C++ generator's RAII clean-up runs) and drops buffered items,
///   all before its awaitable finishes. Dropping the iterator cancels the producer's Task too.
/// - One `__anext__` at a time, as for Python's async generators (RuntimeError otherwise).
/// - Under trio the producer is a system task of the run in a cancel scope of its own, in the
///   context of the first `__anext__`; the end of the run stops it like `aclose()`.
/// Thread: the loop thread, GIL held.

#include <pyasync/async_generator.hpp>

#include <cstddef>

namespace pyasync {

/// Wraps the Python async iterator `source` (any: a C++ `async_generator`, a Python async
/// generator, ...) as described above. Raises ValueError for a capacity of 0 and TypeError
/// for a source that is not an async iterator.
PYASYNC_API py::object buffered(py::object source, std::size_t capacity);

/// As above, for a C++ generator.
template <typename T>
py::object buffered(async_generator<T> &&generator, std::size_t capacity) {
    return buffered(make_async_generator(std::move(generator)), capacity);
}

} // namespace pyasync
