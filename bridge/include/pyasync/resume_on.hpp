#pragma once
/// \file
/// Moving a coroutine between the event loop and a runtime: `co_await pyasync::resume_on(rt)`
/// and `co_await pyasync::resume_on_loop()`.
///
///     pyasync::task<std::size_t> count_words(std::string text) {
///         co_await pyasync::resume_on(pyasync::default_runtime()); // now on a worker, no GIL
///         std::size_t words = crunch(text);
///         co_await pyasync::resume_on_loop();                      // back on the loop, GIL held
///         co_return words;
///     }
///
/// While away, the frame may `co_await` tasks, `pyasync::spawn`, `spawn_blocking`, `sleep` and
/// Python awaitables (the loop awaits them in the Task's contextvars context; the frame resumes
/// on the runtime). A frame that finishes away is finished on the loop, which converts its
/// result there. A cancellation of the Task while the frame is away stops the coroutine's stop
/// token at once, ends the next runtime operation the frame awaits with `cancelled_error`, and is
/// otherwise delivered as `cancelled_error` by `resume_on_loop()`.

#include <pyasync/detail/driver_access.hpp>
#include <pyasync/errors.hpp>
#include <pyasync/runtime.hpp>

namespace pyasync {
namespace detail {

class resume_on_awaiter {
public:
    explicit resume_on_awaiter(runtime &engine) noexcept : engine_(&engine) {}
    bool await_ready() const noexcept { return false; }
    template <typename Promise>
    void await_suspend(std::coroutine_handle<Promise> frame) {
        driver &owner = driver_of(frame, "pyasync::resume_on");
        if (owner.away()) {
            owner.move_to(*engine_, frame);
        } else {
            owner.leave_for(*engine_, frame);
        }
    }
    void await_resume() const noexcept {}

private:
    runtime *engine_;
};

class resume_on_loop_awaiter {
public:
    bool await_ready() const noexcept { return false; }
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> frame) {
        owner_ = &driver_of(frame, "pyasync::resume_on_loop");
        if (!owner_->away()) {
            return false; // already home
        }
        owner_->come_home(frame);
        return true;
    }
    void await_resume() const {
        if (PyObject *error = owner_->take_away_error()) {
            throw_python_exception(error);
        }
    }

private:
    driver *owner_ = nullptr;
};

} // namespace detail

/// `co_await pyasync::resume_on(engine)` continues the calling task on a worker of `engine`,
/// without the GIL; the driving Task waits on one asyncio.Future meanwhile. From a frame already
/// away, it moves to `engine`. Lazy; the task must be driven by Python (a bound function's or
/// `make_coroutine`'s task, or one it awaits).
inline detail::resume_on_awaiter resume_on(runtime &engine = default_runtime()) noexcept {
    return detail::resume_on_awaiter(engine);
}

/// `co_await pyasync::resume_on_loop()` continues the calling task on the event-loop thread,
/// GIL held; the completion costs one entry in the loop's completion queue. Throws the
/// `cancelled_error` (or exception) thrown into the Task while the frame was away and not yet
/// delivered. Does nothing on the loop thread already.
inline detail::resume_on_loop_awaiter resume_on_loop() noexcept {
    return {};
}

} // namespace pyasync
