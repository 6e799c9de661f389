// The background runtime from Python: spawn, spawn_blocking, runtime timers, cancellation that
// stops the work, completions after the loop closed, and a runtime written by a user.
#include "pyasync_tests.hpp"

#include <pyasync/detail/completion_queue.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace {

std::atomic<int> stops_seen{0};

std::string thread_name(std::thread::id id) {
    std::ostringstream text;
    text << id;
    return text.str();
}

/// A minimal user-written runtime: one thread, one queue; timers are threads that sleep.
class one_thread_runtime final : public pyasync::runtime {
public:
    one_thread_runtime() : worker_([this] { serve(); }) {}
    ~one_thread_runtime() override { shutdown(); }
    void spawn(job work) override { push(std::move(work)); }
    void spawn_blocking(job work) override { push(std::move(work)); }
    std::shared_ptr<pyasync::timer_handle> schedule_after(std::chrono::nanoseconds delay,
                                                          std::function<void(bool)> on_expiry) override {
        struct handle final : pyasync::timer_handle {
            void cancel() noexcept override {}
        };
        std::thread([this, delay, on_expiry = std::move(on_expiry)]() mutable {
            std::this_thread::sleep_for(delay);
            push([on_expiry = std::move(on_expiry)] { on_expiry(true); });
        }).detach();
        return std::make_shared<handle>();
    }
    void shutdown() noexcept override {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (worker_.joinable()) {
            worker_.join();
        }
    }
    std::thread::id id() const { return worker_.get_id(); }

private:
    void push(job work) {
        {
            std::lock_guard lock(mutex_);
            jobs_.push_back(std::move(work));
        }
        wake_.notify_one();
    }
    void serve() {
        for (;;) {
            job next;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
                if (jobs_.empty()) {
                    return;
                }
                next = std::move(jobs_.front());
                jobs_.pop_front();
            }
            next();
        }
    }
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<job> jobs_;
    bool stopping_ = false;
    std::thread worker_;
};

one_thread_runtime &user_runtime() {
    static auto *engine = new one_thread_runtime(); // joined by the OS at exit, like a daemon thread
    return *engine;
}

pyasync::task<std::string> thread_of_spawn() {
    co_return co_await pyasync::spawn([] { return pyasync_tests::this_thread_name(); });
}

pyasync::task<void> blocking_raise(std::string message) {
    // A named callable: GCC 12 corrupts a lambda *temporary* with non-trivial captures (here a
    // string) written inside the co_await expression itself (see spawn.hpp).
    auto work = [message]() -> int { throw std::invalid_argument(message); };
    co_await pyasync::spawn_blocking(std::move(work));
}

/// Blocks until its stop token is stopped (by the awaiting Task's cancellation).
pyasync::task<void> block_until_stopped() {
    co_await pyasync::spawn_blocking([](std::stop_token stop) {
        while (!stop.stop_requested()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        ++stops_seen;
    });
}

pyasync::task<void> blocking_sleep(double seconds) {
    co_await pyasync::spawn_blocking([seconds] { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); });
}

pyasync::task<py::tuple> on_user_runtime(long value) {
    auto [doubled, where] = co_await pyasync::spawn(
        [value] { return std::pair(value * 2, pyasync_tests::this_thread_name()); }, user_runtime());
    co_await pyasync::sleep(std::chrono::milliseconds(5), user_runtime());
    co_return py::make_tuple(doubled, where == thread_name(user_runtime().id()));
}

} // namespace

PYASYNC_TEST_SUBMODULE(runtime, m) {
    pyasync::def(m, "thread_of_spawn", &thread_of_spawn);
    pyasync::def(m, "blocking_raise", &blocking_raise, py::arg("message"));
    pyasync::def(m, "block_until_stopped", &block_until_stopped);
    pyasync::def(m, "blocking_sleep", &blocking_sleep, py::arg("seconds"));
    pyasync::def(m, "on_user_runtime", &on_user_runtime, py::arg("value"));
    pyasync::def(m, "echo_on_worker", [](long value) -> pyasync::task<long> {
        co_return co_await pyasync::spawn([value] { return value; });
    }, py::arg("value"));
    m.def("pending", &pyasync::pending_operations);
    m.def("stops_seen", [] { return stops_seen.load(); });
    m.def("main_thread", [] { return pyasync_tests::this_thread_name(); });
    m.def("completion_counts", [] {
        const auto counts = pyasync::detail::completion_queue::totals();
        return py::dict(py::arg("delivered") = counts.delivered, py::arg("batches") = counts.batches,
                        py::arg("dropped_after_close") = counts.dropped_after_close);
    });
}
