// The default runtime (standalone Asio), its shutdown before the interpreter finalizes, and
// waking a parked Task when its runtime operation is delivered.
#include <pyasync/asio_runtime.hpp>
#include <pyasync/detail/module_state.hpp>
#include <pyasync/detail/runtime_operation.hpp>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

PYASYNC_NAMESPACE_BEGIN
namespace {

std::size_t threads_from_environment() {
    if (const char *text = std::getenv("PYASYNC_THREADS"); text != nullptr && *text != '\0') {
        char *end = nullptr;
        const unsigned long count = std::strtoul(text, &end, 10);
        if (*end == '\0' && count > 0 && count <= 1024) {
            return count;
        }
        throw std::invalid_argument(std::string("PYASYNC_THREADS is '") + text +
                                    "': expected a whole number of threads from 1 to 1024");
    }
    const unsigned cores = std::thread::hardware_concurrency();
    return cores == 0 ? 2 : cores;
}

/// A steady_timer whose callback runs exactly once: at expiry, on cancel, or (if the pool drops
/// the wait without running it) when the last reference goes.
class asio_timer final : public timer_handle, public std::enable_shared_from_this<asio_timer> {
public:
    asio_timer(asio::any_io_executor executor, std::chrono::nanoseconds delay, std::function<void(bool)> on_expiry)
        : timer_(std::move(executor), delay), on_expiry_(std::move(on_expiry)) {}
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
std::shared_ptr<runtime> default_engine;
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
            engine->shutdown();
        }
    }));
}

} // namespace

asio_runtime::asio_runtime(std::size_t threads, std::size_t blocking_threads)
    : threads_(threads != 0 ? threads : threads_from_environment()), workers_(threads_),
      blocking_(blocking_threads != 0 ? blocking_threads : 4 * threads_) {}

asio_runtime::~asio_runtime() { shutdown(); }

void asio_runtime::spawn(job work) {
    if (!stopped_.load(std::memory_order_acquire)) {
        asio::post(workers_, std::move(work));
    } // else dropped: its captured references release what it owned
}

void asio_runtime::spawn_blocking(job work) {
    if (!stopped_.load(std::memory_order_acquire)) {
        asio::post(blocking_, std::move(work));
    }
}

std::shared_ptr<timer_handle> asio_runtime::schedule_after(std::chrono::nanoseconds delay,
                                                           std::function<void(bool fired)> on_expiry) {
    auto timer = std::make_shared<asio_timer>(workers_.get_executor(), delay, std::move(on_expiry));
    if (!stopped_.load(std::memory_order_acquire)) {
        timer->start();
    }
    return timer;
}

void asio_runtime::shutdown() noexcept {
    if (stopped_.exchange(true)) {
        return;
    }
    workers_.stop();
    blocking_.stop();
    workers_.join();
    blocking_.join();
}

runtime &default_runtime() {
    std::lock_guard lock(default_mutex);
    if (!default_engine) {
        default_engine = std::make_shared<asio_runtime>();
    }
    register_shutdown_at_exit();
    return *default_engine;
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
    if (auto *engine = dynamic_cast<asio_runtime *>(&default_runtime())) {
        return engine->executor();
    }
    throw std::logic_error("pyasync: Asio interop needs an asio_runtime as the default runtime, but a user-written "
                           "runtime was installed with set_default_runtime; co_spawn on your own executor with "
                           "pyasync::use_task instead");
}

std::size_t pending_operations() noexcept { return detail::live_operations().load(std::memory_order_relaxed); }

namespace detail {

std::atomic<std::size_t> &live_operations() noexcept {
    static std::atomic<std::size_t> count{0};
    return count;
}

void wake_parked(driver &owner) noexcept {
    PyObject *future = owner.suspension_future();
    if (future == nullptr) {
        PyErr_WriteUnraisable(nullptr);
        return;
    }
    PyObject *args[] = {future, Py_None};
    PyObject *done = PyObject_Vectorcall(state().set_result_unless_cancelled, args, 2, nullptr);
    if (done == nullptr) {
        PyErr_WriteUnraisable(future);
    }
    Py_XDECREF(done);
}

} // namespace detail
PYASYNC_NAMESPACE_END
