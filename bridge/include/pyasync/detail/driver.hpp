#pragma once
/// \file
/// The state of one Python-visible C++ coroutine (internal): the outermost task it owns, the
/// Python awaitable it currently delegates to, or the C++ operation it is parked on.
///
/// The driver is a state machine. `state_` (coroutine_state) says where the frame is in its
/// life; while it is `suspended`, exactly one of three fields says what it waits on:
///
/// | state       | waits on                 | event (who)                          | next state              |
/// |-------------|--------------------------|--------------------------------------|-------------------------|
/// | unstarted   | (nothing yet)            | send(None) (Task)                    | running                 |
/// | unstarted   |                          | close() / dealloc                    | finished (frame freed)  |
/// | running     | (the frame runs in send) | co_await Python awaitable: delegate()| suspended: delegate_    |
/// | running     |                          | co_await C++ work: park()            | suspended: parked_      |
/// | running     |                          | resume_on(runtime): leave_for()      | suspended: away_->engine|
/// | running     |                          | co_yield (async generator)           | yielded                 |
/// | running     |                          | co_return / exception escapes        | finished                |
/// | suspended   | delegate_ (Python iter)  | send/throw forwarded; it returns     | running (waiter resumed)|
/// | suspended   | parked_ (C++ work)       | the work completes: wake_parked()    | running (next send)     |
/// | suspended   | parked_                  | throw_in(CancelledError)             | running, or stays parked|
/// |             |                          |                                      | until the work reports  |
/// | suspended   | away_->engine (a runtime)| come_home() (frame's thread)         | running (on the loop)   |
/// | yielded     | the next __anext__       | send (generator)                     | running                 |
/// | any but running | —                    | close(): the frame's clean-up runs   | finished                |
///
/// Under trio (found by sniffio's answer at the first park, never on the fast path), "the Task"
/// is the trio task and the suspension future is trio's blocking trap: completed work calls
/// `trio.lowlevel.reschedule` instead of setting a result, and a cancel scope calls
/// `abort_for_trio` (trio never throws into a blocked task), which does what throw_in does.
///
/// Threads: every member runs on the loop thread with the GIL held, except those marked
/// "frame thread" in the away section below, which run on the runtime thread where the frame
/// is away, without the GIL.

#include <pyasync/config.hpp>
#include <pyasync/detail/away_state.hpp>
#include <pyasync/detail/completion_queue.hpp>
#include <pyasync/detail/source_location.hpp>

#include <coroutine>
#include <cstdint>
#include <memory>
#include <stop_token>

namespace pyasync {
class runtime;

namespace detail {

class task_promise_base;
struct trio_parking;

/// `yielded`: an async generator's frame waits at a `co_yield` for the next `__anext__`.
enum class coroutine_state : unsigned char { unstarted, suspended, running, yielded, finished };

/// Converts the outermost task's result to a new Python reference (nullptr + error on failure).
using result_converter = PyObject *(*)(task_promise_base &promise);

class driver {
public:
    driver(std::coroutine_handle<> top, task_promise_base *promise, result_converter convert,
           detail::source_location where) noexcept
            : top_(top), top_promise_(promise), convert_(convert), location_(where) {}
    driver(const driver &) = delete;
    driver &operator=(const driver &) = delete;

    // --- Used by awaiters, while the frame runs inside `send`. ---

    /// Delegates to the Python iterator `iterator` (new reference) that just yielded `yielded`
    /// (new reference): the yielded value goes to the driving Task, later sends and throws go to
    /// `iterator`, and its outcome goes to `target` before `target.waiter` is resumed.
    void delegate(PyObject *iterator, PyObject *yielded, delegation_target &target) noexcept {
        delegate_ = iterator;
        pending_yield_ = yielded;
        delegate_target_ = &target;
    }

    /// Parks the frame on C++-side work; the driver yields `suspension_future()` to the Task.
    void park(parked_operation &operation) noexcept { parked_ = &operation; }
    /// Parks and roots the coroutine object until the park ends: for work only C++ refers to
    /// (runtime operations), where nothing on the loop would keep an unreferenced Task alive
    /// (asyncio roots its own waits through the loop's timers and selector).
    void park_rooted(parked_operation &operation, completion_queue &queue) noexcept {
        parked_ = &operation;
        hold_owner();
        queue.root(*this);
        rooted_in_ = &queue;
    }

    /// The loop of the work this driver is parked on closed (loop thread, GIL held): close the
    /// frame (its clean-up runs, the work is told to stop) and drop the root. Returns the
    /// coroutine object (a new reference, or nullptr when not rooted); the caller drops it once
    /// every driver was released, so no release frees a driver still to be visited.
    PYASYNC_API PyObject *release_for_closed_loop() noexcept;

    /// The asyncio.Future the driver yields while parked (borrowed), created on first use for
    /// the current suspension; under trio, trio's blocking trap. Returns nullptr with a Python
    /// error set on failure.
    PYASYNC_API PyObject *suspension_future();

    /// The running loop, looked up on first use inside the running Task and kept (borrowed).
    /// Returns nullptr with a Python error set when no loop is running, or when the coroutine
    /// runs under trio (which has none; the error names what to use instead).
    PYASYNC_API PyObject *loop();

    /// The completion queue runtime work of this coroutine reports to: the running asyncio
    /// loop's, or the running trio run's. Throws `python_error` when neither runs.
    PYASYNC_API std::shared_ptr<completion_queue> host_queue();

    /// 1 when the coroutine runs under trio (found at its first park and kept), 0 under asyncio,
    /// -1 with a Python error when no async library runs. Never on a fast path.
    PYASYNC_API int runs_under_trio();

    /// trio, through the trap this driver yields while parked, asks to abort the park because a
    /// cancel scope fired: the work is told to stop and the frame gets the exception
    /// `raise_cancel` raises once the work has reported. Returns trio's `Abort.FAILED` (a new
    /// reference; the driver reschedules the task itself), or nullptr with a Python error.
    PYASYNC_API PyObject *abort_for_trio(PyObject *raise_cancel) noexcept;

    /// The trio side of this driver, or nullptr under asyncio (for `wake_parked`).
    [[nodiscard]] trio_parking *trio_side() const noexcept { return trio_; }

    /// A token whose stop is requested when the Python side cancels this coroutine.
    PYASYNC_API std::stop_token stop_token();

    // --- Away: the frame runs on a runtime (`resume_on`) until it comes home to the loop. ---
    // While away, the driver is parked on `away_->park` and yields its suspension future to the
    // Task; a cancellation is recorded (and stops the token) and delivered when the frame comes
    // home. The driver holds a reference to its own coroutine object meanwhile, so nothing can
    // destroy a frame that is running on another thread.

    /// True while the frame runs or waits off the loop. Read only by the thread running the frame.
    [[nodiscard]] bool away() const noexcept { return away_ != nullptr && away_->engine != nullptr; }
    /// Loop thread, frame home: the frame continues at `frame` on `engine`. Throws on failure.
    PYASYNC_API void leave_for(runtime &engine, std::coroutine_handle<> frame);
    /// Loop thread: starts the outermost frame (never resumed yet) on `engine` at once.
    PYASYNC_API void start_away(runtime &engine);
    /// Frame thread, away: the frame continues at `frame` on another runtime.
    PYASYNC_API void move_to(runtime &engine, std::coroutine_handle<> frame);
    /// Frame thread, away, no GIL: resumes `frame` on the loop thread (a no-op handle when the
    /// outermost frame finished). Nothing of the frame may be touched after this call.
    PYASYNC_API void come_home(std::coroutine_handle<> frame) noexcept;
    /// Frame thread, away, no GIL: the loop awaits `awaitable` (a reference owned or borrowed)
    /// by delegation, then `target.settle_on_loop` runs there and `target.waiter` resumes here.
    PYASYNC_API void await_from_away(PyObject *awaitable, bool owned, delegation_target &target) noexcept;
    /// Frame thread: an awaiter away delivered the recorded cancellation itself (from the stop
    /// token), so coming home must not deliver it again.
    void note_cancellation_delivered_away() noexcept { away_->cancel_delivered.store(true, std::memory_order_release); }
    /// Loop thread, frame home: the exception thrown in while away (new reference) or nullptr.
    PYASYNC_API PyObject *take_away_error() noexcept;
    /// Makes this the driver of an async generator: each `co_yield` returns its item from
    /// `send`, and a finished generator raises StopAsyncIteration.
    void set_generator() noexcept { generator_ = true; }
    /// The coroutine object owning this driver (borrowed; set once at creation).
    void set_owner(PyObject *coroutine_object) noexcept { owner_ = coroutine_object; }

    // --- Used by the Python coroutine object. ---

    /// send(value), as the coroutine object's `send` and `am_send` do it. Inline in their source,
    /// their only caller (src/driver_send.hpp), with its commonest case and outcome.
    PySendResult send(PyObject *value, PyObject **result);
    PYASYNC_API PySendResult throw_in(PyObject *exception, PyObject **result);
    /// close(): returns 0, or -1 with a Python error set.
    PYASYNC_API int close();
    [[nodiscard]] coroutine_state phase() const noexcept { return state_; }
    [[nodiscard]] bool started() const noexcept { return state_ != coroutine_state::unstarted; }
    [[nodiscard]] PYASYNC_API PyObject *awaiting() const noexcept; ///< for cr_await (borrowed or nullptr)
    /// Where the outermost coroutine is defined (kept after the frame is gone; empty when
    /// frameless).
    [[nodiscard]] const detail::source_location &location() const noexcept { return location_; }
    [[nodiscard]] bool frameless() const noexcept { return convert_ == nullptr; }
    PYASYNC_API int traverse(visitproc visit, void *arg) const;
    PYASYNC_API void clear_python_references() noexcept;
    /// Destroys the frame of a coroutine that never ran or can no longer run.
    PYASYNC_API void destroy_frame() noexcept;
    /// Makes this (frameless) driver only finish delegating to `iterator` (new reference) that
    /// last yielded `yielded` (new reference): used when a close finds the delegate still needing
    /// the loop for its clean-up.
    PYASYNC_API void become_delegate_only(PyObject *iterator, PyObject *yielded) noexcept;
    /// Whether the driver holds nothing: no frame, no Python reference, no stop state, no away or
    /// trio side. A coroutine that finished at home, the common case, is idle.
    [[nodiscard]] bool idle() const noexcept {
        return !top_ && delegate_ == nullptr && pending_yield_ == nullptr && suspension_future_ == nullptr &&
               loop_ == nullptr && !stop_.stop_possible() && away_ == nullptr && trio_ == nullptr;
    }
    /// `idle()` for a finished coroutine that never suspended where Python could see it (never
    /// yielded to whoever drove it), in two tests instead of eight: the fast path of every
    /// finished `await`. Without such a suspension, a frame can make the driver take only the
    /// loop, trio's side and a stop state (by asking for them), and the away state (a coroutine
    /// started on a runtime by `future_into_py`, which no Python code sends to). The rest it takes
    /// on the way to a suspension, and a suspension that fails gives it back at once; debug
    /// builds check that.
    [[nodiscard]] bool idle_having_never_suspended() const noexcept {
#if !defined(NDEBUG)
        if (delegate_ != nullptr || pending_yield_ != nullptr || suspension_future_ != nullptr ||
            delegate_target_ != nullptr || parked_ != nullptr || rooted_in_ != nullptr || holding_owner_) {
            precondition_failed("pyasync driver", "a coroutine that never suspended holds what a suspension takes");
        }
#endif
        // One OR of the pointers and one branch, not a branch for each (dealloc's fast path).
        const std::uintptr_t held = reinterpret_cast<std::uintptr_t>(top_.address()) |
                                    reinterpret_cast<std::uintptr_t>(loop_) | reinterpret_cast<std::uintptr_t>(trio_) |
                                    reinterpret_cast<std::uintptr_t>(away_);
        return held == 0 && !stop_.stop_possible();
    }
    /// Makes an idle driver (`idle()`) the driver of a new coroutine, as the constructor would,
    /// writing only what an idle driver may hold otherwise: a recycled coroutine object keeps its
    /// driver rather than destroying and constructing it (10 of the ~930 instructions of
    /// `await ready(x)`). What only a suspension takes (`delegate_target_`, `parked_`,
    /// `rooted_in_`) is null already: recycled objects never suspended, or were reinitialised.
    void reuse(std::coroutine_handle<> top, task_promise_base *promise, result_converter convert,
               detail::source_location where) noexcept {
        top_ = top;
        top_promise_ = promise;
        convert_ = convert;
        location_ = where;
        state_ = coroutine_state::unstarted;
        stop_requested_ = false;
        generator_ = false;
        holding_owner_ = false;
    }
    /// Inline: a coroutine that finished at home, the common case, holds nothing, and its
    /// destruction is one test.
    ~driver() {
        if (!idle()) {
            release_all();
        }
    }

private:
    PYASYNC_API void release_all() noexcept;
    bool find_host();
    PyObject *blocking_suspension();
    bool trio_send_is_ours(PyObject *value);
    PySendResult start(PyObject **result); // src/driver_send.hpp
    PYASYNC_API PySendResult send_later(PyObject *value, PyObject **result);
    PySendResult resume(std::coroutine_handle<> handle, PyObject **result);
    PySendResult settle(PyObject **result);
    PySendResult forward_to_delegate(PyObject *value, PyObject *exception, PyObject **result);
    PySendResult finish(PyObject **result);
    // close(), step by step.
    int close_not_suspended();
    void stop_parked_work() noexcept;
    /// Whether the awaitable delegated to belongs to trio (this driver parked under trio, or the
    /// closing context runs trio).
    bool delegates_to_trio() noexcept;
    /// Calls the delegate's close(), as a Python coroutine delegating with `await` does.
    int close_delegate();
    /// Throws asyncio.CancelledError into the delegate, so it may clean up (on the loop if it must).
    int cancel_delegate();
    /// The delegate yielded `yielded` (new reference) during its clean-up: it finishes as a Task
    /// of its own on the loop, or is closed now when no loop is known.
    int finish_delegate_on_loop(PyObject *iterator, PyObject *yielded);
    void request_stop() noexcept;
    void release_suspension_future() noexcept;
    PySendResult yield_suspension_future(PyObject **result);
    PySendResult arrive(PyObject **result);
    PySendResult start_await_for_away(PyObject **result);
    PySendResult send_back_away(delegation_target &target, PyObject **result);
    void record_away_error(PyObject *exception) noexcept;
    PYASYNC_API void hold_owner() noexcept;
    void release_owner() noexcept;
    parked_operation *unpark() noexcept;
    static void on_home(completion *self) noexcept;
    static void on_home_dropped(completion *self) noexcept;

    // Laid out for `reuse`: what it writes sits together (the flags after state_ in one word).
    std::coroutine_handle<> top_;
    task_promise_base *top_promise_;
    result_converter convert_;
    detail::source_location location_;
    delegation_target *delegate_target_ = nullptr;
    parked_operation *parked_ = nullptr;
    completion_queue *rooted_in_ = nullptr; ///< the queue that lists us as rooted
    coroutine_state state_ = coroutine_state::unstarted;
    bool stop_requested_ = false;
    bool generator_ = false;
    bool holding_owner_ = false; ///< a reference to owner_ is held (away, or parked rooted)
    PyObject *delegate_ = nullptr;
    PyObject *pending_yield_ = nullptr;
    PyObject *suspension_future_ = nullptr;
    PyObject *loop_ = nullptr;
    /// Empty (no allocation) until stop_token() is asked for. A stop_source, not a unique_ptr to
    /// one: the coroutine object around the driver must stay standard-layout for offsetof, and
    /// libstdc++'s unique_ptr is not standard-layout under Clang.
    std::stop_source stop_{std::nostopstate};
    PyObject *owner_ = nullptr; ///< our coroutine object (borrowed)
    /// Made when the frame first leaves the loop (driver_away.cpp), kept until destruction.
    away_state *away_ = nullptr;
    /// Made at the first park under trio (trio_host.cpp), kept until destruction.
    trio_parking *trio_ = nullptr;
    /// True while parked on the away state: the frame runs (or waits) on a runtime.
    [[nodiscard]] bool parked_away() const noexcept {
        return away_ != nullptr && parked_ == &away_->park;
    }
};

/// The work `owner` is parked on completed: resolves the suspension future its Task waits on,
/// unless the Task was cancelled meanwhile. Loop thread, GIL held.
PYASYNC_API void wake_parked(driver &owner) noexcept;

} // namespace detail
} // namespace pyasync
