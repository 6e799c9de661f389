#pragma once
// Internal: the part of a driver's state used only while its frame runs off the loop, after
// `co_await resume_on(runtime)`, until it comes home (driver_away.cpp). The frame's thread
// writes `resume_at`, `request` and `target` without the GIL before pushing the home
// completion; the loop thread reads them once that completion is delivered (the completion
// queue's release/acquire orders them). `cancel_delivered` alone is shared while away.

#include <pyasync/detail/completion_queue.hpp>
#include <pyasync/detail/suspension.hpp>

#include <atomic>
#include <coroutine>
#include <memory>

namespace pyasync {
class runtime;

namespace detail {

class driver;

/// The queue node that brings the frame home (aggregated, not derived, so the driver and the
/// coroutine object around it stay standard-layout).
struct home_completion {
    completion node; // first member: a completion * is a home_completion *
    driver *owner = nullptr;
};

struct away_state {
    runtime *engine = nullptr; ///< the runtime the frame runs on, or nullptr when home
    parked_operation park;     ///< what the driver's parked_ points to while away
    bool arrived = false;      ///< loop thread: the home completion was delivered
    PyObject *error = nullptr; ///< thrown in while away, delivered at home
    std::atomic<bool> cancel_delivered{false};
    std::coroutine_handle<> resume_at; ///< written away before the home completion is pushed
    PyObject *request = nullptr;       ///< an awaitable the frame asked the loop to await
    bool request_owned = false;
    delegation_target *target = nullptr;
    home_completion home;
    std::shared_ptr<completion_queue> queue; ///< the loop's, where `home` is pushed
};

} // namespace detail
} // namespace pyasync
