#pragma once
/// \file
/// `pyasync::runtime`: where C++ work runs off the event loop (the concept every engine meets),
/// and `pyasync::default_runtime()`, the process's Asio engine.

#include <pyasync/config.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace pyasync {

/// A timer started by `runtime::schedule_after`.
class timer_handle {
public:
    virtual ~timer_handle() = default;
    /// Best effort, any thread: if the timer has not fired yet, its callback runs soon with
    /// `false` instead of at the deadline with `true`.
    virtual void cancel() noexcept = 0;
};

/// The runtime concept: what pyasync needs from an engine that runs C++ work off the loop.
/// pyasync's algorithms (`spawn`, `spawn_blocking`, `runtime_sleep`, completion to the loop)
/// are written once against it; `asio_runtime` is the default engine, and a user may plug in
/// their own (a test plugs in a twenty-line one). Every member may be called from any thread,
/// without the GIL; no member may take the GIL.
class runtime {
public:
    using job = std::function<void()>;
    virtual ~runtime() = default;
    /// Runs `work` soon on a worker thread. Work must not block for long.
    virtual void spawn(job work) = 0;
    /// Runs `work` on a thread that may block (I/O, locks, sleep), never starving the workers.
    virtual void spawn_blocking(job work) = 0;
    /// Calls `on_expiry(true)` on a worker after `delay`, or `on_expiry(false)` once cancelled
    /// first: exactly once either way, so whatever it owns is released.
    virtual std::shared_ptr<timer_handle> schedule_after(std::chrono::nanoseconds delay,
                                                         std::function<void(bool fired)> on_expiry) = 0;
    /// Stops the engine: runs no new work, cancels its timers, joins its threads. Idempotent.
    virtual void shutdown() noexcept = 0;
};

/// The process's default runtime: an `asio_runtime` with `PYASYNC_THREADS` workers (default:
/// the number of cores), created on first use. Eager, any thread. The first use from Python
/// registers an `atexit` hook that shuts it down before the interpreter finalizes.
PYASYNC_API runtime &default_runtime();

/// Replaces the default runtime (for instance with a user's engine); the previous one is shut
/// down. Call it before any work is spawned. Any thread.
PYASYNC_API void set_default_runtime(std::shared_ptr<runtime> engine);

/// The number of bridged runtime operations still alive (started and neither delivered nor
/// dropped): 0 once everything finished or was cancelled. For leak checks; any thread.
PYASYNC_API std::size_t pending_operations() noexcept;

} // namespace pyasync
