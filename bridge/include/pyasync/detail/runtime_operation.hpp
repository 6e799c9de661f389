#pragma once
/// \file
/// One bridged operation on the runtime (internal): the state shared by the awaiter, parked on
/// the loop thread, and the work running on a runtime thread, handed back through the loop's
/// completion queue.

#include <pyasync/detail/completion_queue.hpp>
#include <pyasync/detail/driver_access.hpp>
#include <pyasync/errors.hpp>
#include <pyasync/runtime.hpp>

#include <atomic>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

namespace pyasync {
namespace detail {

PYASYNC_API std::atomic<std::size_t> &live_operations() noexcept;

/// What every bridged operation shares: its stop source, listed while the operation lives so
/// that shutdown can stop work that waits for its token (joining the runtime's threads at exit
/// would otherwise wait for it forever). Any thread; the list has a mutex of its own.
class live_operation {
public:
    PYASYNC_API live_operation() noexcept;
    PYASYNC_API ~live_operation();
    live_operation(const live_operation &) = delete;
    live_operation &operator=(const live_operation &) = delete;

    std::stop_source stop;

private:
    friend void stop_all_live_operations() noexcept;
    live_operation *live_prev_ = nullptr;
    live_operation *live_next_ = nullptr;
};

/// Requests a stop on every live operation (before the runtime shuts down at exit). Any thread.
PYASYNC_API void stop_all_live_operations() noexcept;

/// What else an abandoned operation must stop (an Asio operation's cancellation signal).
class abandon_hook {
public:
    virtual ~abandon_hook() = default;
    /// The thread abandoning (the loop thread, or the one cancelling a frame away); no GIL needed.
    virtual void on_abandon() noexcept = 0;
};

template <typename T>
struct result_slot {
    std::optional<T> value;
    template <typename Fn, typename... Args>
    void fill(Fn &fn, Args &&...args) {
        value.emplace(std::invoke(fn, std::forward<Args>(args)...));
    }
    T take() { return std::move(*value); }
};
template <>
struct result_slot<void> {
    template <typename Fn, typename... Args>
    void fill(Fn &fn, Args &&...args) {
        std::invoke(fn, std::forward<Args>(args)...);
    }
    void take() {}
};

/// Two references: the awaiter's and the work's. The work writes the outcome, then pushes the
/// operation on the loop's queue; the loop delivers it (waking the parked Task unless the
/// awaiter gave up) and drops the work's reference. `abandoned` and `owner` are touched only
/// on the loop thread (or with the GIL held), never by the work.
template <typename T>
class runtime_operation final : public completion, public live_operation {
public:
    runtime_operation() noexcept {
        deliver = &on_deliver;
        discard = &on_discard;
    }
    runtime_operation(const runtime_operation &) = delete;
    runtime_operation &operator=(const runtime_operation &) = delete;

    /// Runs `fn` (with the stop token when it takes one) and keeps its value or exception.
    template <typename Fn>
    void run(Fn &fn) noexcept {
        try {
            if constexpr (std::is_invocable_v<Fn &, std::stop_token>) {
                slot.fill(fn, stop.get_token());
            } else {
                slot.fill(fn);
            }
        } catch (...) {
            error = std::current_exception();
        }
    }
    /// Any thread, no GIL: hands the operation (and the work's reference) to the loop; or, for
    /// a frame away on a runtime, resumes it right here (unless its awaiter has not finished
    /// suspending, in which case the awaiter resumes it) and drops the work's reference.
    void complete() noexcept {
        if (!direct) {
            queue->push(this);
            return;
        }
        // Drop the work's reference first: the resumed frame may finish and reach the loop
        // before resume() returns here (the awaiter's reference keeps the operation meanwhile).
        const bool resume_here = gate.exchange(true, std::memory_order_acq_rel);
        const std::coroutine_handle<> frame = direct;
        release();
        if (resume_here) {
            frame.resume();
        }
    }
    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }
    /// Loop thread (or, away, the thread cancelling): the awaiter no longer waits; stop the work
    /// if it can be stopped.
    void abandon() noexcept {
        abandoned = true;
        stop.request_stop();
        if (timer) {
            timer->cancel();
        }
        if (hook) {
            hook->on_abandon();
        }
    }

    std::atomic<int> refs{2};
    bool abandoned = false;
    bool delivered = false;            ///< loop thread: the work has reported
    bool wakes_when_abandoned = false; ///< the frame stays parked after a cancellation until delivered
    driver *owner = nullptr;           ///< nullptr once the awaiting frame is gone
    std::shared_ptr<completion_queue> queue;
    std::shared_ptr<timer_handle> timer;
    std::shared_ptr<abandon_hook> hook;
    std::coroutine_handle<> direct; ///< the frame to resume in place, when it is away
    std::atomic<bool> gate{false};  ///< direct only: set by the first of "suspended" and "completed"
    result_slot<T> slot;
    std::exception_ptr error;

private:
    static void on_deliver(completion *self) noexcept {
        auto *operation = static_cast<runtime_operation *>(self);
        operation->delivered = true;
        if (operation->owner != nullptr && (!operation->abandoned || operation->wakes_when_abandoned)) {
            wake_parked(*operation->owner);
        }
        operation->release();
    }
    static void on_discard(completion *self) noexcept { static_cast<runtime_operation *>(self)->release(); }
};

/// The work's reference, shared by the job a runtime runs: completes the operation once, or
/// releases it if the runtime drops the job without running it (shut down).
template <typename T, typename Fn>
class work_reference {
public:
    work_reference(runtime_operation<T> *operation, Fn fn) : operation_(operation), fn_(std::move(fn)) {}
    work_reference(const work_reference &) = delete;
    work_reference &operator=(const work_reference &) = delete;
    ~work_reference() {
        if (operation_ != nullptr) {
            operation_->release();
        }
    }
    void run_and_complete() noexcept {
        if (auto *operation = std::exchange(operation_, nullptr)) {
            operation->run(fn_);
            operation->complete();
        }
    }

private:
    runtime_operation<T> *operation_;
    Fn fn_;
};

/// What a cancelled awaiter waits for before its frame resumes with the cancellation.
enum class on_cancel : bool {
    resume_at_once,   ///< the work is told to stop and its late result is dropped
    wait_for_the_work ///< the work is told to stop, and the frame resumes once it has reported
};

/// The awaiter of a runtime operation inside a task driven by Python: parks the frame on the
/// driver's Future, launches the work, and resumes with its value, its exception, or
/// `cancelled_error` when the Task was cancelled meanwhile (see `on_cancel`).
template <typename T, typename Launch>
class operation_awaiter : private parked_operation {
public:
    operation_awaiter(const char *what, Launch launch, on_cancel policy = on_cancel::resume_at_once)
            : what_(what), launch_(std::move(launch)), policy_(policy) {}
    operation_awaiter(operation_awaiter &&other) noexcept
            : parked_operation(), what_(other.what_), launch_(std::move(other.launch_)), policy_(other.policy_) {}
    operation_awaiter(const operation_awaiter &) = delete;
    operation_awaiter &operator=(const operation_awaiter &) = delete;
    ~operation_awaiter() {
        if (operation_ != nullptr) { // the frame was destroyed while parked
            operation_->owner = nullptr;
            operation_->abandon();
            operation_->release();
        }
        Py_XDECREF(error);
    }

    bool await_ready() const noexcept { return false; }

    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) {
        driver &owner = driver_of(awaiting, what_);
        if (owner.away()) {
            return suspend_away(owner, awaiting);
        }
        if (owner.suspension_future() == nullptr) {
            throw python_error();
        }
        auto *operation = new runtime_operation<T>();
        operation->owner = &owner;
        try {
            operation->queue = owner.host_queue();
            launch_(operation); // from here the work owns its reference
        } catch (...) {
            operation->release();
            operation->release();
            throw;
        }
        operation_ = operation;
        waiter = awaiting;
        cancel = &cancel_work;
        if (policy_ == on_cancel::wait_for_the_work) {
            operation->wakes_when_abandoned = true;
            still_running = &work_still_running;
        }
        owner.park_rooted(*this, *operation->queue);
        return true;
    }

    T await_resume() {
        on_stop_.reset(); // waits for a stop callback running on the loop thread
        runtime_operation<T> *operation = std::exchange(operation_, nullptr);
        struct releaser {
            runtime_operation<T> *held;
            ~releaser() { held->release(); }
        } release_at_exit{operation};
        if (away_owner_ != nullptr && operation->stop.stop_requested()) {
            away_owner_->note_cancellation_delivered_away();
            throw cancelled_error();
        }
        if (error != nullptr) {
            throw_python_exception(std::exchange(error, nullptr));
        }
        if (operation->error) {
            std::rethrow_exception(operation->error);
        }
        return operation->slot.take();
    }

private:
    static void cancel_work(parked_operation *self) noexcept {
        static_cast<operation_awaiter *>(self)->operation_->abandon();
    }
    static bool work_still_running(parked_operation *self) noexcept {
        return !static_cast<operation_awaiter *>(self)->operation_->delivered;
    }

    /// The frame runs on a runtime thread: the completion resumes it where it happens, with no
    /// loop involved; a cancellation reaches it through the driver's stop token.
    bool suspend_away(driver &owner, std::coroutine_handle<> awaiting) {
        auto *operation = new runtime_operation<T>();
        operation->direct = awaiting;
        try {
            launch_(operation);
        } catch (...) {
            operation->release();
            operation->release();
            throw;
        }
        operation_ = operation;
        away_owner_ = &owner;
        on_stop_.emplace(owner.stop_token(), stop_request{operation});
        return !operation->gate.exchange(true, std::memory_order_acq_rel); // false: done already
    }

    struct stop_request {
        runtime_operation<T> *operation;
        void operator()() const noexcept { operation->abandon(); }
    };

    const char *what_;
    Launch launch_;
    on_cancel policy_;
    runtime_operation<T> *operation_ = nullptr;
    driver *away_owner_ = nullptr;
    std::optional<std::stop_callback<stop_request>> on_stop_;
};

template <typename T, typename Launch>
operation_awaiter<T, Launch> make_operation_awaiter(const char *what, Launch launch,
                                                    on_cancel policy = on_cancel::resume_at_once) {
    return operation_awaiter<T, Launch>(what, std::move(launch), policy);
}

} // namespace detail
} // namespace pyasync
