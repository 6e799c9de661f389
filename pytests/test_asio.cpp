// Asio interop: Asio operations awaited in a task through pyasync::use_task (timers, TCP
// sockets, a user-written operation), asio::awaitable<T> awaited in a task and returned to
// Python, errors as Python exceptions, and cancellation that reaches the Asio operation.
#include "pyasync_tests.hpp"

#include <pyasync/asio.hpp>

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>

namespace {

using pyasync_tests::this_thread_name;
using namespace std::chrono_literals;

/// How cancelled Asio waits ended: counted by the frames that own them.
std::atomic<int> aborted_before_deadline{0};
std::atomic<int> awaitables_aborted{0};
std::atomic<int> eager_awaitable_starts{0};

std::chrono::nanoseconds to_duration(double seconds) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds));
}

/// Waits on an Asio timer; returns the thread the frame resumed on.
pyasync::task<std::string> timer_wait(double seconds) {
    asio::steady_timer timer(pyasync::asio_executor(), to_duration(seconds));
    co_await timer.async_wait(pyasync::use_task);
    co_return this_thread_name();
}

/// Waits on `timer`; when cancelled, counts a frame resumed with the timer's deadline still
/// ahead (the wait was aborted, not run out) before re-raising.
pyasync::task<void> wait_counting_aborts(asio::steady_timer &timer) {
    try {
        co_await timer.async_wait(pyasync::use_task);
    } catch (const pyasync::cancelled_error &) {
        if (timer.expiry() > asio::steady_timer::clock_type::now()) {
            ++aborted_before_deadline;
        }
        throw;
    }
}

/// Waits on an Asio timer the frame owns.
pyasync::task<void> cancellable_timer_wait(double seconds) {
    asio::steady_timer timer(pyasync::asio_executor(), to_duration(seconds));
    co_await wait_counting_aborts(timer);
}

/// As `timer_wait`, from a frame away on the runtime: the timer's handler resumes the frame on
/// a runtime thread, without the loop. Returns whether it resumed away.
pyasync::task<bool> timer_wait_away(double seconds) {
    const std::string loop_thread = this_thread_name();
    co_await pyasync::resume_on();
    asio::steady_timer timer(pyasync::asio_executor(), to_duration(seconds));
    co_await wait_counting_aborts(timer);
    co_return this_thread_name() != loop_thread;
}

/// A TCP client on Asio: connects, writes `request`, reads one line back.
pyasync::task<std::string> tcp_request(std::string host, unsigned short port, std::string request) {
    asio::ip::tcp::socket socket(pyasync::asio_executor());
    co_await socket.async_connect({asio::ip::make_address(host), port}, pyasync::use_task);
    std::size_t written = co_await asio::async_write(socket, asio::buffer(request), pyasync::use_task);
    if (written != request.size()) {
        throw std::logic_error("short write");
    }
    std::string reply;
    std::size_t line_end = co_await asio::async_read_until(socket, asio::dynamic_buffer(reply), '\n', pyasync::use_task);
    reply.resize(line_end);
    co_return reply;
}

/// A user-written Asio operation whose completion carries several values: it completes on the
/// runtime with `(error, number, text)`.
template <typename Token>
auto async_pair(int number, std::string text, std::error_code error, Token &&token) {
    return asio::async_initiate<Token, void(std::error_code, int, std::string)>(
        [](auto handler, int number, std::string text, std::error_code error) {
            asio::post(pyasync::asio_executor(), [handler = std::move(handler), number, text = std::move(text),
                                                  error]() mutable { std::move(handler)(error, number, text); });
        },
        token, number, std::move(text), error);
}

pyasync::task<std::tuple<int, std::string>> pair_of(int number, std::string text) {
    co_return co_await async_pair(number, std::move(text), {}, pyasync::use_task);
}

/// Completes the user-written operation with `errno_value` from the generic category.
pyasync::task<void> fail_with_errno(int errno_value) {
    co_await async_pair(0, "", std::error_code(errno_value, std::generic_category()), pyasync::use_task);
}

/// Completes with Asio's end-of-file error.
pyasync::task<void> fail_with_eof() { co_await async_pair(0, "", asio::error::eof, pyasync::use_task); }

/// A user-written operation that never completes by itself and takes 20 ms to acknowledge a
/// cancellation (as a protocol's orderly shutdown would): then it counts its report and
/// completes with `operation_aborted`.
std::atomic<int> slow_reports{0};
std::atomic<int> resumed_after_report{0};

template <typename Handler>
struct slow_to_cancel_state {
    asio::steady_timer timer{pyasync::asio_executor()};
    std::optional<Handler> handler;
};

template <typename Token>
auto async_slow_to_cancel(Token &&token) {
    return asio::async_initiate<Token, void(std::error_code)>(
        [](auto handler) {
            using state_type = slow_to_cancel_state<decltype(handler)>;
            auto slot = asio::get_associated_cancellation_slot(handler);
            auto state = std::make_shared<state_type>();
            state->handler.emplace(std::move(handler));
            slot.assign([state](asio::cancellation_type) {
                state->timer.expires_after(20ms);
                state->timer.async_wait([state](std::error_code) {
                    ++slow_reports;
                    auto done = std::move(*state->handler);
                    state->handler.reset();
                    std::move(done)(asio::error::operation_aborted);
                });
            });
        },
        token);
}

/// Awaits the slow operation; when cancelled, counts whether the frame resumed only after the
/// operation had reported.
pyasync::task<void> await_slow_to_cancel() {
    const int reports_before = slow_reports.load();
    try {
        co_await async_slow_to_cancel(pyasync::use_task);
    } catch (const pyasync::cancelled_error &) {
        if (slow_reports.load() == reports_before + 1) {
            ++resumed_after_report;
        }
        throw;
    }
}

/// A signature without an error: `asio::post` with `use_task` hops to the runtime and back.
pyasync::task<std::string> post_and_return() {
    co_await asio::post(pyasync::asio_executor(), pyasync::use_task);
    co_return this_thread_name();
}

/// An Asio coroutine: sums 0..n-1, hopping through the executor at each step.
asio::awaitable<long long> awaitable_sum(long long n) {
    auto executor = co_await asio::this_coro::executor;
    long long total = 0;
    for (long long i = 0; i < n; ++i) {
        co_await asio::post(executor, asio::use_awaitable);
        total += i;
    }
    co_return total;
}

asio::awaitable<void> awaitable_fails(std::string message) {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    throw std::invalid_argument(message);
}

/// An Asio coroutine waiting on its own timer; counts the wait aborted by a cancellation.
asio::awaitable<void> awaitable_timer(double seconds) {
    asio::steady_timer timer(co_await asio::this_coro::executor, to_duration(seconds));
    try {
        co_await timer.async_wait(asio::use_awaitable);
    } catch (const std::system_error &error) {
        if (error.code() == asio::error::operation_aborted) {
            ++awaitables_aborted;
        }
        throw;
    }
}

asio::awaitable<std::string> awaitable_started_flag() {
    ++eager_awaitable_starts;
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    co_return "done";
}

/// A task awaiting an Asio coroutine; returns its value and the thread the task resumed on.
pyasync::task<std::tuple<long long, std::string>> task_awaits_awaitable(long long n) {
    long long total = co_await awaitable_sum(n);
    co_return std::tuple(total, this_thread_name());
}

pyasync::task<void> task_awaits_failing_awaitable(std::string message) { co_await awaitable_fails(message); }

pyasync::task<void> task_awaits_awaitable_timer(double seconds) { co_await awaitable_timer(seconds); }

/// The message `asio_executor()` gives when the default runtime is not Asio's; restores an
/// Asio runtime after.
std::string asio_executor_error_with_user_runtime() {
    struct inline_runtime final : pyasync::runtime {
        void spawn(job work) override { work(); }
        void spawn_blocking(job work) override { work(); }
        std::shared_ptr<pyasync::timer_handle> schedule_after(std::chrono::nanoseconds,
                                                              std::function<void(bool)> on_expiry) override {
            on_expiry(false);
            return nullptr;
        }
        void shutdown() noexcept override {}
    };
    pyasync::set_default_runtime(std::make_shared<inline_runtime>());
    std::string message;
    try {
        pyasync::asio_executor();
    } catch (const std::logic_error &error) {
        message = error.what();
    }
    pyasync::set_default_runtime(std::make_shared<pyasync::asio_runtime>());
    return message;
}

} // namespace

PYASYNC_TEST_SUBMODULE(asio, m) {
    m.def("timer_wait", &timer_wait, py::arg("seconds"));
    m.def("cancellable_timer_wait", &cancellable_timer_wait, py::arg("seconds"));
    m.def("timer_wait_away", &timer_wait_away, py::arg("seconds"));
    m.def("tcp_request", &tcp_request, py::arg("host"), py::arg("port"), py::arg("request"));
    m.def("pair_of", &pair_of, py::arg("number"), py::arg("text"));
    m.def("fail_with_errno", &fail_with_errno, py::arg("errno_value"));
    m.def("fail_with_eof", &fail_with_eof);
    m.def("post_and_return", &post_and_return);
    m.def("await_slow_to_cancel", &await_slow_to_cancel);
    m.def("awaitable_sum", &awaitable_sum, py::arg("n"));
    m.def("awaitable_fails", &awaitable_fails, py::arg("message"));
    m.def("awaitable_timer", &awaitable_timer, py::arg("seconds"));
    m.def("task_awaits_awaitable", &task_awaits_awaitable, py::arg("n"));
    m.def("task_awaits_failing_awaitable", &task_awaits_failing_awaitable, py::arg("message"));
    m.def("task_awaits_awaitable_timer", &task_awaits_awaitable_timer, py::arg("seconds"));
    m.def("eager_awaitable", [] { return pyasync::future_into_py(awaitable_started_flag()); });
    m.def("eager_awaitable_starts", [] { return eager_awaitable_starts.load(); });
    m.def("counts", [] {
        return py::dict(py::arg("aborted_before_deadline") = aborted_before_deadline.load(),
                        py::arg("resumed_after_report") = resumed_after_report.load(),
                        py::arg("awaitables_aborted") = awaitables_aborted.load());
    });
    m.def("asio_executor_error_with_user_runtime", &asio_executor_error_with_user_runtime);
    m.def("main_thread", &this_thread_name);
    m.def("pending", &pyasync::pending_operations);
}
