// The default runtime (standalone Asio), its shutdown before the interpreter finalizes, and
// waking a parked Task when its runtime operation is delivered.
#include <pyasync/asio_runtime.hpp>
#include <pyasync/detail/module_state.hpp>
#include <pyasync/detail/runtime_operation.hpp>

#include "lockstep_runtime.hpp"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <cstdlib>
#include <mutex>
#include <pthread.h>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// The one definition of Asio's per-thread scheduler state (declared extern in every other
// binary: pyasync/detail/asio_thread_state.hpp).
namespace asio::detail {
template tss_ptr<thread_context::thread_call_stack::context> thread_context::thread_call_stack::top_;
#if defined(ASIO_HAS_THREAD_KEYWORD_EXTENSION)
template thread_context::thread_call_stack::context
    *keyword_tss_ptr<thread_context::thread_call_stack::context>::value_;
#endif
} // namespace asio::detail

namespace pyasync {
namespace {

constexpr std::size_t max_threads = 1024;
constexpr std::size_t max_spin_us = 100'000;

/// `value` when it lies in [min, max]; else `std::invalid_argument` naming `setting`.
std::size_t checked(std::size_t value, std::size_t min, std::size_t max, const std::string &setting,
                    const std::string &given, const char *what) {
    if (value >= min && value <= max) {
        return value;
    }
    throw std::invalid_argument(setting + " is " + given + ": expected a whole number of " + what + " from " +
                                std::to_string(min) + " to " + std::to_string(max));
}

/// A whole number from the environment variable `name` in [min, max] (`fallback` when unset).
std::size_t count_from_environment(const char *name, std::size_t fallback, std::size_t min, std::size_t max,
                                   const char *what) {
    if (const char *text = std::getenv(name); text != nullptr && *text != '\0') {
        char *end = nullptr;
        const unsigned long count = std::strtoul(text, &end, 10);
        const bool whole = *end == '\0' && text[0] != '-';
        return checked(whole ? count : max + 1, min, max, name, std::string("'") + text + "'", what);
    }
    return fallback;
}

std::size_t threads_from_environment() {
    const unsigned cores = std::thread::hardware_concurrency();
    return count_from_environment("PYASYNC_THREADS", cores == 0 ? 2 : cores, 1, max_threads, "threads");
}

std::chrono::microseconds spin_from_environment() {
    return std::chrono::microseconds(count_from_environment("PYASYNC_SPIN_US", 100, 0, max_spin_us, "microseconds"));
}

/// A steady_timer whose callback runs exactly once: at expiry, on cancel, or (if the pool drops
/// the wait without running it) when the last reference goes.
class asio_timer final : public timer_handle, public std::enable_shared_from_this<asio_timer> {
public:
    asio_timer(const asio::any_io_executor &executor, std::chrono::nanoseconds delay,
               std::function<void(bool)> on_expiry)
            : timer_(executor, delay), on_expiry_(std::move(on_expiry)) {}
    ~asio_timer() override { fire(false); }
    void start() {
        timer_.async_wait([self = shared_from_this()](const std::error_code &error) { self->fire(!error); });
    }
    void cancel() noexcept override {
        try {
            // steady_timer is not thread-safe: cancel it on its own executor.
            asio::post(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
        } catch (...) {
            // The pool is stopped: the dropped wait fires the callback with false.
        }
    }

private:
    void fire(bool expired) noexcept {
        if (!fired_.exchange(true)) {
            auto callback = std::move(on_expiry_);
            callback(expired);
        }
    }
    asio::steady_timer timer_;
    std::function<void(bool)> on_expiry_;
    std::atomic<bool> fired_{false};
};

std::mutex default_mutex;
std::mutex live_mutex;                       ///< guards the list of live operations
detail::live_operation *live_head = nullptr; // guarded by live_mutex
std::shared_ptr<runtime> default_engine;     // guarded by default_mutex
runtime_settings configured;                 // guarded by default_mutex
bool atexit_registered = false;

/// Shuts the default runtime down from Python's atexit, before Py_Finalize: joining threads
/// with the GIL released, so a worker that needs it is never deadlocked.
void register_shutdown_at_exit() {
    if (atexit_registered || Py_IsInitialized() == 0 || PyGILState_Check() == 0) {
        return;
    }
    atexit_registered = true;
    py::module_::import("atexit").attr("register")(py::cpp_function([] {
        std::shared_ptr<runtime> engine;
        {
            std::lock_guard lock(default_mutex);
            engine = default_engine;
        }
        if (engine) {
            py::gil_scoped_release released;
            detail::stop_all_live_operations(); // work waiting for its stop token ends, and can be joined
            engine->shutdown();
        }
    }));
}

// fork(): the child has none of the parent's threads, so the runtime it inherited can run
// nothing. The child forgets it (leaked: destroying it would join threads that do not exist
// there) and creates a new one on first use. The mutex is held across the fork so the child's
// copy is never locked by a thread it does not have.
void before_fork() {
    default_mutex.lock();
    live_mutex.lock();
}
void after_fork_in_parent() {
    live_mutex.unlock();
    default_mutex.unlock();
}
void after_fork_in_child() {
    if (default_engine) {
        new std::shared_ptr<runtime>(std::move(default_engine)); // leaked on purpose
    }
    // The atexit hook came along with the interpreter's state: it shuts the new runtime down.
    live_mutex.unlock();
    default_mutex.unlock();
}

} // namespace

asio_runtime::asio_runtime(std::size_t threads, std::size_t blocking_threads,
                           std::optional<std::chrono::microseconds> spin)
        : threads_(threads != 0 ? threads : threads_from_environment()), spin_(spin ? *spin : spin_from_environment()),
          keep_running_(context_.get_executor()), blocking_(blocking_threads != 0 ? blocking_threads : 4 * threads_) {
    workers_.reserve(threads_);
    for (std::size_t i = 0; i < threads_; ++i) {
        workers_.emplace_back([this] { serve(); });
    }
}

asio_runtime::~asio_runtime() {
    shutdown();
}

void asio_runtime::serve() noexcept {
    while (!context_.stopped()) {
        if (context_.poll_one() != 0 || spin_for_work()) {
            continue;
        }
        context_.run_one(); // sleeps until a handler is ready
    }
}

bool asio_runtime::spin_for_work() {
    if (spin_.count() == 0 || spinner_busy_.exchange(true, std::memory_order_acquire)) {
        return false; // another worker is already awake for new work: this one may sleep
    }
    struct release_spinner {
        std::atomic<bool> &busy;
        ~release_spinner() { busy.store(false, std::memory_order_release); }
    } release{spinner_busy_};
    const auto until = std::chrono::steady_clock::now() + spin_;
    for (unsigned round = 1; !context_.stopped(); ++round) {
        // A spawned job is seen through the counter without touching Asio's lock; timers and I/O
        // completions are polled every few rounds.
        if ((queued_.load(std::memory_order_relaxed) != 0 || round % 16 == 0) && context_.poll_one() != 0) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= until) {
            return false;
        }
        std::this_thread::yield(); // the loop thread may need this core more
    }
    return false;
}

void asio_runtime::spawn(job work) {
    if (!stopped_.load(std::memory_order_acquire)) {
        queued_.fetch_add(1, std::memory_order_relaxed);
        asio::post(context_, [this, work = std::move(work)] {
            queued_.fetch_sub(1, std::memory_order_relaxed);
            work();
        });
    } // else dropped: its captured references release what it owned
}

void asio_runtime::spawn_blocking(job work) {
    if (!stopped_.load(std::memory_order_acquire)) {
        asio::post(blocking_, std::move(work));
    }
}

std::shared_ptr<timer_handle> asio_runtime::schedule_after(std::chrono::nanoseconds delay,
                                                           std::function<void(bool fired)> on_expiry) {
    auto timer = std::make_shared<asio_timer>(context_.get_executor(), delay, std::move(on_expiry));
    if (!stopped_.load(std::memory_order_acquire)) {
        timer->start();
    }
    return timer;
}

void asio_runtime::shutdown() noexcept {
    if (stopped_.exchange(true)) {
        return;
    }
    keep_running_.reset();
    context_.stop();
    blocking_.stop();
    for (std::thread &worker : workers_) {
        if (worker.joinable()) {
            worker.join();
        }
    }
    blocking_.join();
}

namespace {
/// The lockstep engine while a schedule run is active (schedule exploration), else nothing.
std::atomic<runtime *> front_engine{nullptr};
} // namespace

void detail::set_front_runtime(runtime *engine) noexcept {
    front_engine.store(engine, std::memory_order_release);
}

runtime &default_runtime() {
    if (runtime *front = front_engine.load(std::memory_order_acquire)) {
        return *front;
    }
    return detail::underlying_default_runtime();
}

runtime &detail::underlying_default_runtime() {
    static const bool fork_handlers = [] {
        pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
        return true;
    }();
    (void)fork_handlers;
    std::lock_guard lock(default_mutex);
    if (!default_engine) {
        default_engine = std::make_shared<asio_runtime>(configured.threads.value_or(0), 0, configured.spin);
    }
    register_shutdown_at_exit();
    return *default_engine;
}

void configure_default_runtime(const runtime_settings &settings) {
    if (settings.threads) {
        checked(*settings.threads, 1, max_threads, "threads", std::to_string(*settings.threads), "threads");
    }
    if (settings.spin) {
        const auto spin = settings.spin->count();
        checked(spin < 0 ? max_spin_us + 1 : static_cast<std::size_t>(spin), 0, max_spin_us, "spin",
                std::to_string(spin) + " us", "microseconds");
    }
    std::lock_guard lock(default_mutex);
    if (default_engine) {
        const auto *engine = dynamic_cast<const asio_runtime *>(default_engine.get());
        throw std::logic_error("pyasync: the default runtime has already started" +
                               (engine != nullptr ? " (" + std::to_string(engine->threads()) + " threads, spin " +
                                                        std::to_string(engine->spin().count()) + " us)"
                                                  : std::string(" (a runtime installed with set_default_runtime)")) +
                               ", so its settings can no longer change: configure it before any C++ work runs (first "
                               "thing after import), or set PYASYNC_THREADS / PYASYNC_SPIN_US in the environment");
    }
    if (settings.threads) {
        configured.threads = settings.threads;
    }
    if (settings.spin) {
        configured.spin = settings.spin;
    }
}

runtime_status default_runtime_status() {
    std::lock_guard lock(default_mutex);
    runtime_status status;
    status.started = default_engine != nullptr;
    if (status.started) {
        const auto *engine = dynamic_cast<const asio_runtime *>(default_engine.get());
        status.custom = engine == nullptr;
        if (engine != nullptr) {
            status.threads = engine->threads();
            status.spin = engine->spin();
        }
        return status;
    }
    status.threads = configured.threads ? *configured.threads : threads_from_environment();
    status.spin = configured.spin ? *configured.spin : spin_from_environment();
    return status;
}

void set_default_runtime(std::shared_ptr<runtime> engine) {
    std::shared_ptr<runtime> previous;
    {
        std::lock_guard lock(default_mutex);
        previous = std::exchange(default_engine, std::move(engine));
    }
    if (previous) {
        previous->shutdown();
    }
}

asio::any_io_executor asio_executor() {
    // Under schedule exploration too: Asio I/O keeps running on the default engine, in real time.
    if (auto *engine = dynamic_cast<asio_runtime *>(&detail::underlying_default_runtime())) {
        return engine->executor();
    }
    throw std::logic_error("pyasync: Asio interop needs an asio_runtime as the default runtime, but a user-written "
                           "runtime was installed with set_default_runtime; co_spawn on your own executor with "
                           "pyasync::use_task instead");
}

std::size_t pending_operations() noexcept {
    return detail::live_operations().load(std::memory_order_relaxed);
}

namespace detail {

std::atomic<std::size_t> &live_operations() noexcept {
    static std::atomic<std::size_t> count{0};
    return count;
}

live_operation::live_operation() noexcept {
    live_operations().fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(live_mutex);
    live_next_ = live_head;
    if (live_head != nullptr) {
        live_head->live_prev_ = this;
    }
    live_head = this;
}

live_operation::~live_operation() {
    {
        std::lock_guard lock(live_mutex);
        (live_prev_ != nullptr ? live_prev_->live_next_ : live_head) = live_next_;
        if (live_next_ != nullptr) {
            live_next_->live_prev_ = live_prev_;
        }
    }
    live_operations().fetch_sub(1, std::memory_order_relaxed);
}

void stop_all_live_operations() noexcept {
    // Copies of the sources, taken under the lock and stopped outside it: a stop callback may
    // end an operation, which takes the lock.
    std::vector<std::stop_source> sources;
    try {
        std::lock_guard lock(live_mutex);
        for (live_operation *operation = live_head; operation != nullptr; operation = operation->live_next_) {
            sources.push_back(operation->stop);
        }
    } catch (...) { // out of memory: the stops already copied still go out
    }
    for (std::stop_source &source : sources) {
        source.request_stop();
    }
}

} // namespace detail
} // namespace pyasync
