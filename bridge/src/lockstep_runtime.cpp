// The lockstep engine: the runtime's work and timers one at a time, in the schedule's order, at
// steps the loop runs among its own callbacks (see lockstep_runtime.hpp).
#include "lockstep_runtime.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace pyasync::detail {
namespace {

/// A job still running after this is waiting for something only another job or the loop can
/// do: run one at a time, it never would. The run is then reported as not explorable.
constexpr auto blocked_after = std::chrono::seconds(10);
/// A timer armed with `loop.call_at` may run a hair before its deadline by the loop's clock.
constexpr double deadline_margin = 1e-6;

double loop_time(PyObject *loop) {
    return py::handle(loop).attr("time")().cast<double>();
}

double seconds_of(std::chrono::nanoseconds delay) {
    return std::chrono::duration<double>(delay).count();
}

bool is_due(const lockstep_timer &timer, double now) {
    return timer.cancelled || (timer.deadline && *timer.deadline <= now + deadline_margin);
}

} // namespace

lockstep_runtime::call_origin lockstep_runtime::origin_of_call() const {
    if (std::this_thread::get_id() != loop_thread_.load(std::memory_order_relaxed) || PyGILState_Check() == 0) {
        return {true, {}}; // the worker, the blocking pool, Asio's threads: the run's work
    }
    // The loop thread: only work started from the run's loop is the run's. A loop of its own (a
    // sync step calling asyncio.run) keeps the default runtime: its completions go to that loop,
    // which the run's steps never drive.
    // Leaked on purpose: nothing may be released after the interpreter is finalised.
    static const auto *running_loop = new py::object(py::module_::import("asyncio").attr("_get_running_loop"));
    static const auto *current_task = new py::object(py::module_::import("asyncio").attr("current_task"));
    try {
        const py::object running = (*running_loop)();
        if (loop_ == nullptr || running.ptr() != loop_) {
            return {false, {}};
        }
        const py::object task = (*current_task)();
        if (task.is_none()) {
            return {true, {}};
        }
        return {true, " from " + task.attr("get_coro")().attr("__qualname__").cast<std::string>()};
    } catch (py::error_already_set &) {
        return {true, {}}; // a coroutine without a name: the number alone
    }
}

lockstep_runtime &lockstep_runtime::instance() {
    static auto *engine = new lockstep_runtime();
    return *engine;
}

void lockstep_runtime::begin(schedule_strategy strategy, std::uint64_t seed, PyObject *loop) {
    if (step_callable_ == nullptr) {
        step_callable_ = py::cpp_function([this](std::uint64_t generation) { step(generation); }).release().ptr();
    }
    {
        std::lock_guard lock(mutex_);
        if (active_) {
            throw std::logic_error("pyasync: a schedule run is already active in this process: runs explore one "
                                   "case at a time (--test-threads 1)");
        }
        active_ = true;
        ++generation_;
        next_id_ = 0;
        error_.reset();
        step_requested_ = false;
        stepping_ = false;
        choices_ = std::make_unique<schedule_choices>(strategy, seed);
        loop_ = loop;
        loop_thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    }
    armed_ = py::none();
    armed_deadline_.reset();
    held_until_.reset();
    step_queued_ = false;
    set_front_runtime(this);
    if (loop != nullptr) {
        install_on_loop(loop);
    }
}

void lockstep_runtime::bind(PyObject *loop) {
    {
        std::lock_guard lock(mutex_);
        if (!active_ || loop_ != nullptr) {
            return;
        }
        loop_ = loop;
    }
    install_on_loop(loop);
}

void lockstep_runtime::end() noexcept {
    set_front_runtime(nullptr);
    std::deque<queued_job> jobs;
    std::vector<std::shared_ptr<lockstep_timer>> timers;
    PyObject *loop = nullptr;
    {
        std::lock_guard lock(mutex_);
        active_ = false;
        ++generation_;
        jobs.swap(jobs_);
        timers.swap(timers_);
        loop = std::exchange(loop_, nullptr);
    }
    double now = 0;
    try {
        if (armed_ && !armed_.is_none()) {
            armed_.attr("cancel")();
        }
        if (loop != nullptr) {
            now = loop_time(loop);
        }
    } catch (...) {
        PyErr_Clear();
    }
    armed_ = py::none();
    held_until_.reset();
    runtime &engine = underlying_default_runtime();
    for (queued_job &left : jobs) {
        engine.spawn(std::move(left.run));
    }
    for (const auto &timer : timers) {
        std::lock_guard moving(timer->moved_mutex);
        timer->moved = true;
        std::function<void(bool)> on_expiry = std::move(timer->on_expiry);
        if (!on_expiry) {
            continue;
        }
        if (timer->cancelled) {
            engine.spawn([on_expiry = std::move(on_expiry)] { on_expiry(false); });
            continue;
        }
        const double remaining = timer->deadline ? std::max(0.0, *timer->deadline - now) : seconds_of(timer->delay);
        const auto delay =
            std::isfinite(remaining) && remaining < 1e9
                ? std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(remaining))
                : timer->delay;
        timer->moved_to = engine.schedule_after(delay, std::move(on_expiry));
    }
}

std::optional<std::string> lockstep_runtime::error() const {
    std::lock_guard lock(mutex_);
    return error_;
}

void lockstep_runtime::spawn(job work) {
    if (call_origin from = origin_of_call(); from.explored) {
        std::unique_lock lock(mutex_);
        if (active_ && loop_ != nullptr) {
            jobs_.push_back({++next_id_, std::move(work), "job", choices_->new_priority(), std::move(from.name)});
            lock.unlock();
            request_step();
            return;
        }
    }
    underlying_default_runtime().spawn(std::move(work));
}

void lockstep_runtime::spawn_blocking(job work) {
    // Blocking calls may wait for one another or for the loop: they keep their real threads.
    underlying_default_runtime().spawn_blocking(std::move(work));
}

std::shared_ptr<timer_handle> lockstep_runtime::schedule_after(std::chrono::nanoseconds delay,
                                                               std::function<void(bool fired)> on_expiry) {
    if (call_origin from = origin_of_call(); from.explored) {
        std::unique_lock lock(mutex_);
        if (active_ && loop_ != nullptr) {
            auto timer = std::make_shared<lockstep_timer>(++next_id_, delay, std::move(on_expiry),
                                                          choices_->new_priority(), std::move(from.name));
            timers_.push_back(timer);
            lock.unlock();
            request_step();
            return timer;
        }
    }
    return underlying_default_runtime().schedule_after(delay, std::move(on_expiry));
}

void lockstep_timer::cancel() noexcept {
    std::lock_guard guard(moved_mutex);
    if (moved) {
        if (moved_to) {
            moved_to->cancel();
        }
        return;
    }
    lockstep_runtime::instance().cancel_timer(shared_from_this());
}

void lockstep_runtime::cancel_timer(const std::shared_ptr<lockstep_timer> &timer) noexcept {
    {
        std::lock_guard lock(mutex_);
        if (!timer->on_expiry) {
            return; // it fired already
        }
        timer->cancelled = true;
    }
    request_step();
}

void lockstep_runtime::request_step() noexcept {
    std::uint64_t generation = 0;
    bool on_loop_thread = false;
    {
        std::lock_guard lock(mutex_);
        if (!active_ || stepping_ || step_requested_) {
            return; // a step running now plans the next one when its job returns
        }
        on_loop_thread =
            std::this_thread::get_id() == loop_thread_.load(std::memory_order_relaxed) && PyGILState_Check() != 0;
        step_requested_ = !on_loop_thread;
        generation = generation_;
    }
    if (on_loop_thread) {
        try {
            step_soon();
        } catch (...) {
            PyErr_Clear(); // the loop is closed: the run ends with it
        }
        return;
    }
    // Another thread (the blocking pool, Asio I/O): wake the loop the thread-safe way.
    const PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *loop = nullptr;
    {
        std::lock_guard lock(mutex_);
        if (active_ && generation_ == generation) {
            loop = loop_; // valid while the run is, and it cannot end while this holds the GIL
        }
    }
    if (loop != nullptr) {
        PyObject *handle = PyObject_CallMethod(loop, "call_soon_threadsafe", "OK", step_callable_,
                                               static_cast<unsigned long long>(generation));
        if (handle == nullptr) {
            PyErr_Clear();
        }
        Py_XDECREF(handle);
    }
    PyGILState_Release(gil);
}

void lockstep_runtime::step_soon() {
    if (step_queued_) {
        return;
    }
    std::uint64_t generation = 0;
    {
        std::lock_guard lock(mutex_);
        generation = generation_;
    }
    py::handle(loop_).attr("call_soon")(py::handle(step_callable_), generation);
    step_queued_ = true;
}

void lockstep_runtime::arm_for_next_deadline(double now) {
    std::optional<double> earliest;
    {
        std::lock_guard lock(mutex_);
        for (const auto &timer : timers_) {
            if (timer->deadline && std::isfinite(*timer->deadline) && (!earliest || *timer->deadline < *earliest)) {
                earliest = timer->deadline;
            }
        }
    }
    if (held_until_) {
        // Strictly after the timer held past: asyncio runs timers in deadline order, so that
        // timer's callback runs first even when both fall due in the same iteration.
        const double after_hold = std::nextafter(*held_until_, INFINITY);
        earliest = earliest ? std::min(*earliest, after_hold) : after_hold;
    }
    if (!earliest) {
        return;
    }
    if (armed_deadline_ && *armed_deadline_ == *earliest && *armed_deadline_ > now + deadline_margin) {
        return; // already armed for it
    }
    if (armed_ && !armed_.is_none()) {
        armed_.attr("cancel")();
    }
    std::uint64_t generation = 0;
    {
        std::lock_guard lock(mutex_);
        generation = generation_;
    }
    armed_ = py::handle(loop_).attr("call_at")(*earliest, py::handle(step_callable_), generation);
    armed_deadline_ = earliest;
}

void lockstep_runtime::step(std::uint64_t generation) {
    {
        std::lock_guard lock(mutex_);
        if (!active_ || generation != generation_) {
            return;
        }
        step_requested_ = false;
    }
    step_queued_ = false;
    const double now = loop_time(loop_);
    if (held_until_ && now > *held_until_) {
        held_until_.reset();
    }
    // A hold is decided before the lock is taken: finding the near timer reads the loop's.
    std::optional<std::pair<double, std::string>> near;
    if (!held_until_ && has_jobs()) {
        near = near_deadline(now);
    }
    std::function<void()> chosen;
    {
        std::unique_lock lock(mutex_);
        std::vector<schedule_candidate> candidates;
        std::vector<std::shared_ptr<lockstep_timer>> due;
        // While held, the runtime's jobs wait (due runtime timers still fire).
        const std::size_t job_count = held_until_ ? 0 : jobs_.size();
        for (std::size_t i = 0; i < job_count; ++i) {
            candidates.push_back(
                {jobs_[i].kind + (" " + std::to_string(jobs_[i].id)) + jobs_[i].origin, jobs_[i].priority});
        }
        for (const auto &timer : timers_) {
            if (!timer->deadline) {
                timer->deadline = now + seconds_of(timer->delay);
            }
            if (is_due(*timer, now)) {
                due.push_back(timer);
            }
        }
        std::sort(due.begin(), due.end(), [](const auto &a, const auto &b) {
            const double ad = a->cancelled ? -INFINITY : *a->deadline;
            const double bd = b->cancelled ? -INFINITY : *b->deadline;
            return ad != bd ? ad < bd : a->id < b->id;
        });
        for (const auto &timer : due) {
            candidates.push_back(
                {(timer->cancelled ? "cancelled timer " : "timer ") + std::to_string(timer->id) + timer->origin,
                 timer->priority});
        }
        if (candidates.empty()) {
            lock.unlock();
            arm_for_next_deadline(now);
            return;
        }
        if (choices_->postpone()) {
            lock.unlock();
            step_soon();
            return;
        }
        if (job_count > 0 && choices_->hold(near ? std::optional<std::string>(near->second) : std::nullopt)) {
            held_until_ = near->first;
            lock.unlock();
            arm_for_next_deadline(now);
            return;
        }
        const std::size_t index = choices_->choose(candidates);
        if (index < job_count) {
            chosen = std::move(jobs_[index].run);
            jobs_.erase(jobs_.begin() + static_cast<std::ptrdiff_t>(index));
        } else {
            const std::shared_ptr<lockstep_timer> timer = due[index - job_count];
            timers_.erase(std::find(timers_.begin(), timers_.end(), timer));
            chosen = [on_expiry = std::move(timer->on_expiry), fired = !timer->cancelled] { on_expiry(fired); };
        }
        stepping_ = true;
    }
    run_on_worker(std::move(chosen));
    bool more = false;
    {
        std::lock_guard lock(mutex_);
        stepping_ = false;
        more = (!jobs_.empty() && !held_until_) ||
               std::any_of(timers_.begin(), timers_.end(),
                           [now](const auto &timer) { return !timer->deadline || is_due(*timer, now); });
    }
    if (more) {
        step_soon();
    } else {
        arm_for_next_deadline(loop_time(loop_));
    }
}

void lockstep_runtime::run_on_worker(std::function<void()> fn) {
    if (!worker_) {
        worker_ = std::make_shared<worker_channel>();
        std::thread(serve, worker_).detach();
    }
    const std::shared_ptr<worker_channel> channel = worker_;
    {
        std::lock_guard lock(channel->mutex);
        channel->job = std::move(fn);
        channel->done = false;
    }
    channel->wake.notify_all();
    bool finished = false;
    {
        py::gil_scoped_release released; // the job may need the GIL (with_gil)
        std::unique_lock lock(channel->mutex);
        finished = channel->wake.wait_for(lock, blocked_after, [&channel] { return channel->done; });
        if (!finished) {
            channel->stop = true; // it finishes that job alone, in real time, then ends
        }
    }
    if (!finished) {
        worker_.reset();
        std::lock_guard lock(mutex_);
        if (!error_) {
            error_ = "a runtime job or executor call ran for more than " + std::to_string(blocked_after.count()) +
                     " s under schedule exploration: run one at a time, one that waits for another or for the "
                     "loop never ends (use spawn_blocking, or an executor of your own, for work that waits on "
                     "other work); the run went on with it in real time, so it cannot be replayed";
        }
    }
}

void lockstep_runtime::serve(std::shared_ptr<worker_channel> channel) {
    std::unique_lock lock(channel->mutex);
    for (;;) {
        channel->wake.wait(lock, [&channel] { return !channel->done || channel->stop; });
        if (channel->done) {
            return; // stopped with nothing to do
        }
        std::function<void()> job = std::move(channel->job);
        lock.unlock();
        job(); // a job never throws: the runtime's jobs keep their exceptions for the awaiter
        job = nullptr;
        lock.lock();
        channel->done = true;
        channel->wake.notify_all();
        if (channel->stop) {
            return;
        }
    }
}

} // namespace pyasync::detail
