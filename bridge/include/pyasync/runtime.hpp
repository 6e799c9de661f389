#pragma once
/// \file
/// `pyasync::runtime`: where C++ work runs off the event loop (the concept every engine meets),
/// and `pyasync::default_runtime()`, the process's Asio engine.

#include <pyasync/config.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>

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
    /// A unit of work: run once, on whichever thread the engine chooses.
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

/// How the default runtime is made. An unset field falls back to its environment variable
/// (`PYASYNC_THREADS`, `PYASYNC_SPIN_US`), then to the built-in default (one worker per core,
/// 100 µs of spinning).
struct runtime_settings {
    std::optional<std::size_t> threads;            ///< workers: 1 to 1024
    std::optional<std::chrono::microseconds> spin; ///< how long an idle worker spins: 0 to 100000 µs
};

/// The default runtime as it runs (once started) or as it will be made.
struct runtime_status {
    /// Workers of the default `asio_runtime`.
    std::size_t threads = 0;
    /// How long its idle workers spin.
    std::chrono::microseconds spin{0};
    bool started = false; ///< created (by the first C++ work that needed it)
    bool custom = false;  ///< installed with `set_default_runtime` (threads and spin then 0)
};

/// Sets how the default runtime will be made (Python: `pyasync.configure_runtime`). Eager, any
/// thread. Throws `std::invalid_argument` for a value out of range, and `std::logic_error`
/// once the runtime has started (its settings can no longer change), naming what it runs with.
PYASYNC_API void configure_default_runtime(const runtime_settings &settings);

/// What the default runtime runs with, or will. Any thread. Throws `std::invalid_argument` when
/// an environment variable it would read is malformed.
PYASYNC_API runtime_status default_runtime_status();

/// The process's default runtime: an `asio_runtime` made with `configure_default_runtime`'s
/// settings, created on first use. Eager, any thread. The first use from Python registers an
/// `atexit` hook that shuts it down before the interpreter finalizes.
PYASYNC_API runtime &default_runtime();

/// Replaces the default runtime (for instance with a user's engine); the previous one is shut
/// down. Call it before any work is spawned. Any thread.
PYASYNC_API void set_default_runtime(std::shared_ptr<runtime> engine);

/// The number of bridged runtime operations still alive (started and neither delivered nor
/// dropped): 0 once everything finished or was cancelled. For leak checks; any thread.
PYASYNC_API std::size_t pending_operations() noexcept;

} // namespace pyasync
