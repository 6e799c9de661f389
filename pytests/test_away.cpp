// Frames away from the loop: resume_on / resume_on_loop, finishing away, Python awaited from a
// runtime thread, cancellation while away, future_into_py, and the GIL helpers.
#include "pyasync_tests.hpp"

#include <atomic>
#include <stdexcept>
#include <string>
#include <tuple>

namespace {

using pyasync_tests::this_thread_name;

std::atomic<int> spinning{0};
std::atomic<int> stopped_away{0};
std::atomic<int> cancelled_away{0};
std::atomic<bool> future_started{false};
std::atomic<bool> release_future{false};

long long sum_below(long long n) {
    long long total = 0;
    for (long long i = 0; i < n; ++i) {
        total += i;
    }
    return total;
}

/// Where the frame runs: before the hop, away, and back home.
pyasync::task<std::tuple<std::string, std::string, std::string>> hop_threads() {
    std::string before = this_thread_name();
    co_await pyasync::resume_on();
    std::string away = this_thread_name();
    const bool gil_away = PyGILState_Check() != 0;
    co_await pyasync::resume_on_loop();
    if (gil_away || PyGILState_Check() == 0) {
        throw std::logic_error("the GIL must be released away and held at home");
    }
    co_return std::tuple(before, away, this_thread_name());
}

/// Finishes on a worker: the loop converts the result.
pyasync::task<long long> sum_away(long long n) {
    co_await pyasync::resume_on();
    co_return sum_below(n);
}

pyasync::task<void> raise_away(std::string message) {
    co_await pyasync::resume_on();
    throw std::invalid_argument(message);
}

/// Away, calls `make_awaitable()` (with the GIL, briefly) and awaits the result from the worker;
/// returns the value and whether the frame came back to a runtime thread.
pyasync::task<std::tuple<std::string, bool>> await_python_away(py::object make_awaitable) {
    const std::string loop_thread = this_thread_name();
    co_await pyasync::resume_on();
    py::object awaitable = pyasync::with_gil([&] { return make_awaitable(); });
    std::string value = co_await pyasync::await_as<std::string>(std::move(awaitable));
    co_return std::tuple(std::move(value), this_thread_name() != loop_thread);
}

/// Away, awaits `awaitable` (borrowed) and lets its exception escape.
pyasync::task<void> await_failing_away(py::object awaitable) {
    co_await pyasync::resume_on();
    co_await awaitable;
}

/// Spins on a worker until the coroutine's stop token is stopped, then comes home (where the
/// cancellation recorded meanwhile is delivered).
pyasync::task<void> spin_until_stopped() {
    co_await pyasync::resume_on();
    std::stop_token stop = co_await pyasync::get_stop_token();
    ++spinning;
    while (!stop.stop_requested()) {
        std::this_thread::yield();
    }
    ++stopped_away;
    co_await pyasync::resume_on_loop();
    throw std::logic_error("resume_on_loop() must deliver the cancellation");
}

/// Sleeps away; a cancellation ends the sleep (the runtime timer) with cancelled_error.
pyasync::task<void> sleep_away(double seconds) {
    co_await pyasync::resume_on();
    try {
        co_await pyasync::sleep(seconds);
    } catch (const pyasync::cancelled_error &) {
        ++cancelled_away;
        throw;
    }
}

/// Catches the cancellation away, comes home and returns: delivered once, not twice.
pyasync::task<std::string> survive_cancellation_away() {
    co_await pyasync::resume_on();
    bool caught = false;
    try {
        co_await pyasync::sleep(60.0);
    } catch (const pyasync::cancelled_error &) {
        caught = true;
    }
    co_await pyasync::resume_on_loop();
    co_return caught ? "survived" : "not cancelled";
}

pyasync::task<void> loop_sleep_away() {
    co_await pyasync::resume_on();
    co_await pyasync::loop_sleep(0.0);
}

/// Away: repr(obj) taken with the GIL from the worker.
pyasync::task<std::string> repr_away(py::object object) {
    co_await pyasync::resume_on();
    co_return pyasync::with_gil([&] { return py::repr(object).cast<std::string>(); });
}

pyasync::task<long long> wait_then_sum(long long n) {
    future_started = true;
    while (!release_future.load()) {
        std::this_thread::yield();
    }
    co_return sum_below(n);
}

} // namespace

PYASYNC_TEST_SUBMODULE(away, m) {
    pyasync::def(m, "hop_threads", &hop_threads);
    pyasync::def(m, "sum_away", &sum_away, py::arg("n"));
    pyasync::def(m, "raise_away", &raise_away, py::arg("message"));
    pyasync::def(m, "await_python_away", &await_python_away, py::arg("make_awaitable"));
    pyasync::def(m, "await_failing_away", &await_failing_away, py::arg("awaitable"));
    pyasync::def(m, "spin_until_stopped", &spin_until_stopped);
    pyasync::def(m, "sleep_away", &sleep_away, py::arg("seconds"));
    pyasync::def(m, "survive_cancellation_away", &survive_cancellation_away);
    pyasync::def(m, "loop_sleep_away", &loop_sleep_away);
    pyasync::def(m, "repr_away", &repr_away, py::arg("object"));
    m.def("sum_future", [](long long n) { return pyasync::future_into_py(sum_away(n)); }, py::arg("n"));
    m.def("gated_future", [](long long n) {
        future_started = false;
        release_future = false;
        return pyasync::future_into_py(wait_then_sum(n));
    }, py::arg("n"));
    m.def("future_started", [] { return future_started.load(); });
    m.def("release_future", [] { release_future = true; });
    m.def("sum_without_gil", [](long long n) {
        return pyasync::without_gil([n] { return std::pair(sum_below(n), PyGILState_Check() != 0); });
    }, py::arg("n"));
    // Breaks without_gil's contract on purpose (the GIL is already released): a debug build
    // must stop at the precondition check, naming it.
    m.def("without_gil_twice", [] {
        py::gil_scoped_release released;
        return pyasync::without_gil([] { return 0; });
    });
    m.def("counts", [] {
        return py::dict(py::arg("spinning") = spinning.load(), py::arg("stopped_away") = stopped_away.load(),
                        py::arg("cancelled_away") = cancelled_away.load());
    });
    m.def("main_thread", &this_thread_name);
#ifdef NDEBUG
    m.attr("debug_build") = false;
#else
    m.attr("debug_build") = true;
#endif
    m.def("pending", &pyasync::pending_operations);
}
