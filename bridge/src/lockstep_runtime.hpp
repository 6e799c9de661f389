#pragma once
// The lockstep engine of schedule exploration (internal; see pyasync/detail/schedule.hpp): the
// runtime's work and timers run one at a time on one worker, each when the schedule chooses,
// at steps the loop runs among its own callbacks. One per process, installed in front of the
// default runtime while a schedule run is active; otherwise it hands everything to that runtime.

#include "schedule_choices.hpp"

#include <pyasync/runtime.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace pyasync::detail {

class lockstep_timer;

/// The default runtime itself, never the lockstep engine in front of it (runtime.cpp). Any thread.
runtime &underlying_default_runtime();
/// Puts `engine` in front of the default runtime (`default_runtime()` returns it), or nothing
/// (nullptr). Any thread (runtime.cpp).
void set_front_runtime(runtime *engine) noexcept;

class lockstep_runtime final : public runtime {
public:
    /// The process's engine, made on first use (leaked on purpose: runtime references handed out
    /// during a run stay valid for good). Any thread.
    static lockstep_runtime &instance();

    /// Loop thread, GIL held: starts a run on `loop` (nullptr: the loop `bind` names later) with
    /// fresh choices. Throws `std::logic_error` when a run is active.
    void begin(schedule_strategy strategy, std::uint64_t seed, PyObject *loop);
    /// Loop thread, GIL held: the run's loop, when `begin` had none; else nothing.
    void bind(PyObject *loop);
    /// Loop thread, GIL held: ends the run; queued work and pending timers move to the default
    /// runtime (each still runs, or is cancelled, exactly once).
    void end() noexcept;

    /// Any thread, GIL held: `call` (a Python callable that never raises: an executor's call,
    /// with its future) as a job of the run when the caller is the run's (as `spawn`), true; else
    /// false, and the caller runs it its usual way.
    bool submit_python(const py::object &call);

    /// Loop thread, GIL held: the order in which the loop handles the file descriptors one poll
    /// found ready together (`names`, in the poll's order, for the trace), when the caller is the
    /// run's loop; else nothing, and the poll's own order stands.
    std::optional<std::vector<std::size_t>> order_ready(const std::vector<std::string> &names);

    void spawn(job work) override;
    void spawn_blocking(job work) override;
    std::shared_ptr<timer_handle> schedule_after(std::chrono::nanoseconds delay,
                                                 std::function<void(bool fired)> on_expiry) override;
    /// Never stops the engine: ending the process's runtime is the default runtime's business.
    void shutdown() noexcept override {}

    /// The run's choices and error; loop thread, GIL held.
    [[nodiscard]] const schedule_choices &choices() const { return *choices_; }
    [[nodiscard]] std::optional<std::string> error() const;

    /// A timer's cancellation (from its handle, any thread): it becomes ready at once.
    void cancel_timer(const std::shared_ptr<lockstep_timer> &timer) noexcept;

    /// Loop timers that runtime work is never held past (a test tool's own time limits); loop
    /// thread, GIL held. `exempt` keeps a reference until `end_exemption`.
    void exempt(PyObject *timer_handle);
    void end_exemption(PyObject *timer_handle) noexcept;

private:
    lockstep_runtime() = default;

    /// Who asks for work: whether it is the run's (started from the run's loop, or from any
    /// thread but the loop's), and " from <coroutine>" for the trace.
    struct call_origin {
        bool explored;
        std::string name;
    };
    [[nodiscard]] call_origin origin_of_call() const;

    struct queued_job {
        std::uint64_t id;
        job run;
        const char *kind; ///< "job" or "executor call", for the trace
        std::uint64_t priority;
        std::string origin; ///< " from <coroutine>", for the trace
    };

    /// Any thread: makes sure a step will run (the worker, while a step waits for it, needs not).
    void request_step() noexcept;
    /// Loop thread, GIL held: `loop.call_soon(step, generation)` once.
    void step_soon();
    /// Loop thread, GIL held (the loop calls it): runs one chosen job or timer, or arms for the
    /// next deadline. A step queued by an ended run finds another generation and does nothing.
    void step(std::uint64_t generation);
    /// Loop thread, GIL held: `fn` on the worker, the GIL released until it returns (or has run
    /// too long: then the run is marked unfaithful and a fresh worker takes the next job).
    void run_on_worker(std::function<void()> fn);
    [[nodiscard]] bool has_jobs() const;
    /// Loop thread, GIL held: arms `loop.call_at` for the earliest deadline (a runtime timer's,
    /// or the end of a hold), if any.
    void arm_for_next_deadline(double now);
    /// Loop thread, GIL held: makes the loop's default executor one whose calls are the run's
    /// jobs, and its selector one whose polls the run orders (pyasync._lockstep_loop), where the
    /// pyasync package is importable.
    static void install_on_loop(PyObject *loop);
    /// Loop thread, GIL held: the nearest deadline after `now` and within the hold horizon of a
    /// loop timer (asyncio's own loops list theirs; uvloop shows none) or a runtime timer, with
    /// what it is for the trace. Exempt timers and the engine's own are left out.
    std::optional<std::pair<double, std::string>> near_deadline(double now);

    mutable std::mutex mutex_; ///< guards the fields down to `stepping_`
    bool active_ = false;
    std::uint64_t generation_ = 0; ///< a step of an ended run finds another value and does nothing
    std::uint64_t next_id_ = 0;
    std::deque<queued_job> jobs_;
    std::vector<std::shared_ptr<lockstep_timer>> timers_;
    bool step_requested_ = false; ///< a request from another thread is on its way to the loop
    bool stepping_ = false;       ///< the loop thread is inside a step: no request needed
    std::optional<std::string> error_;

    PyObject *loop_ = nullptr;                 ///< borrowed for the run
    std::atomic<std::thread::id> loop_thread_; ///< the run's (read by any thread)
    PyObject *step_callable_ = nullptr;        ///< step(generation), made once and kept for good
    py::object armed_;                         ///< the TimerHandle of the next deadline, or None
    std::optional<double> armed_deadline_;     ///< loop thread only
    bool step_queued_ = false;                 ///< loop thread only: a call_soon(step) is pending
    /// Loop thread only: the runtime's jobs wait until the loop's clock passes this (a hold).
    std::optional<double> held_until_;
    std::vector<py::object> exempt_; ///< loop thread only
    std::unique_ptr<schedule_choices> choices_;

    /// The worker: one job at a time, handed over and waited for. A worker whose job ran too
    /// long is left to finish it alone (its channel says stop), and a fresh one takes over.
    struct worker_channel {
        std::mutex mutex;
        std::condition_variable wake;
        std::function<void()> job;
        bool done = true;
        bool stop = false;
    };
    static void serve(std::shared_ptr<worker_channel> channel);
    std::shared_ptr<worker_channel> worker_; ///< loop thread only
};

/// A lockstep timer's handle: cancel() reaches the engine, or the default runtime's timer once
/// the run ended and the timer moved there.
class lockstep_timer final : public timer_handle, public std::enable_shared_from_this<lockstep_timer> {
public:
    lockstep_timer(std::uint64_t id, std::chrono::nanoseconds delay, std::function<void(bool)> on_expiry,
                   std::uint64_t priority, std::string origin)
            : id(id), delay(delay), on_expiry(std::move(on_expiry)), priority(priority), origin(std::move(origin)) {}
    void cancel() noexcept override;

    const std::uint64_t id;
    const std::chrono::nanoseconds delay;
    std::function<void(bool)> on_expiry; ///< guarded by the engine's mutex until taken
    const std::uint64_t priority;
    const std::string origin;       ///< " from <coroutine>", for the trace
    std::optional<double> deadline; ///< loop time, set at the first step after it was started
    bool cancelled = false;         ///< guarded by the engine's mutex

    std::mutex moved_mutex;
    std::shared_ptr<timer_handle> moved_to; ///< the default runtime's timer, after the run
    bool moved = false;
};

} // namespace pyasync::detail
