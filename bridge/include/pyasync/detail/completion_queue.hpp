#pragma once
/// \file
/// The cross-thread completion queue of one event loop (internal).
///
/// Any thread pushes without the GIL; the loop is woken only when the queue goes from empty to
/// non-empty (an eventfd the loop watches with `add_reader`, or that a system task of a trio
/// run waits on with `trio.lowlevel.wait_readable`; for loops without readers, one
/// `call_soon_threadsafe` per batch). The loop thread drains the whole batch with the GIL held.

#include <pyasync/config.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_set>

namespace pyasync {
namespace detail {

/// One completion in flight: an intrusive node, delivered on the loop thread with the GIL
/// (`deliver`), or dropped on any thread without it when its loop is gone (`discard`).
struct completion {
    completion *next = nullptr;
    void (*deliver)(completion *self) noexcept = nullptr;
    void (*discard)(completion *self) noexcept = nullptr;
};

class driver;

struct completion_counts {
    std::uint64_t delivered = 0;           ///< completions delivered on the loop
    std::uint64_t batches = 0;             ///< times the loop was woken to drain
    std::uint64_t dropped_after_close = 0; ///< completions that arrived after the loop closed
};

class completion_queue : public std::enable_shared_from_this<completion_queue> {
public:
    /// The queue of `loop`, created on first use: eager, loop thread, GIL held. Throws
    /// `py::error_already_set` when the loop cannot be watched.
    PYASYNC_API static std::shared_ptr<completion_queue> of(PyObject *loop);

    /// The queue of one trio run (trio has no loop object to key a registry on): the caller
    /// keeps it for the run, has a task of the run call `drain_callable()` whenever `wake_fd()`
    /// is readable, and calls `close_for_loop` when the run ends. Loop thread, GIL held.
    PYASYNC_API static std::shared_ptr<completion_queue> for_trio();
    /// The eventfd a trio run watches (trio_host.cpp), and the callable that drains (borrowed).
    [[nodiscard]] int wake_fd() const noexcept { return eventfd_; }
    [[nodiscard]] PyObject *drain_callable() const noexcept { return drain_callable_; }

    /// Any thread, no GIL. After the loop closed, `item` is discarded here and counted.
    PYASYNC_API void push(completion *item) noexcept;

    /// Totals of every queue in the process (for tests and benchmarks). Any thread.
    PYASYNC_API static completion_counts totals() noexcept;

    /// Loop thread, GIL held: `owner` keeps its coroutine object alive (rooted) while parked on
    /// runtime work that completes through this queue, until `unroot`. When the loop closes
    /// (or is collected), the queue abandons that work and drops the roots, so the closed
    /// loop's Tasks, and the loop itself, can be collected instead of staying alive for good.
    PYASYNC_API void root(driver &owner) noexcept;
    PYASYNC_API void unroot(driver &owner) noexcept;

    PYASYNC_API ~completion_queue();
    completion_queue(const completion_queue &) = delete;
    completion_queue &operator=(const completion_queue &) = delete;

    /// Internal (used by the loop-side callbacks).
    void drain() noexcept;
    void close() noexcept;
    /// The loop closed or went away (GIL held): close, and release every rooted driver's work.
    void close_for_loop() noexcept;
    explicit completion_queue(PyObject *loop);

private:
    void wake() noexcept;

    std::atomic<completion *> head_{nullptr};
    int eventfd_ = -1;
    PyObject *loop_ = nullptr;           ///< borrowed: the loop's finalizer closes us first
    PyObject *drain_callable_ = nullptr; ///< for call_soon_threadsafe, or a trio run's task; owned
    bool uses_reader_ = false;
    PyObject *loop_watch_ = nullptr;      ///< owned weakref whose callback retires us when the loop dies
    std::unordered_set<driver *> rooted_; ///< GIL held
};

} // namespace detail
} // namespace pyasync
