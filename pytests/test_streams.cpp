// Streams both ways: C++ async generators seen from Python, Python async iterators consumed
// from C++.
#include "pyasync_tests.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

std::atomic<long> produced{0};
std::atomic<long> cleanups{0};
std::atomic<long> cancellations{0};

/// Counts its destruction: proves the generator's RAII clean-up ran.
struct cleanup_guard {
    ~cleanup_guard() { ++cleanups; }
};

/// Counts every item it makes: backpressure means it never runs ahead of the consumer.
pyasync::async_generator<long> counted(long n) {
    cleanup_guard guard;
    for (long i = 0; i < n; ++i) {
        ++produced;
        co_yield i;
    }
}

/// Items that need awaits between them: a runtime sleep and a Python awaitable.
pyasync::async_generator<std::string> with_awaits(py::object make_awaitable) {
    for (int i = 0; i < 3; ++i) {
        co_await pyasync::sleep(std::chrono::milliseconds(1));
        py::object value = co_await make_awaitable(i);
        co_yield py::str(value).cast<std::string>();
    }
}

/// Produces on a runtime worker; each co_yield brings the frame home to the loop.
pyasync::async_generator<std::string> produced_away(int n) {
    for (int i = 0; i < n; ++i) {
        co_await pyasync::resume_on();
        co_yield pyasync_tests::this_thread_name();
    }
}

pyasync::async_generator<int> fails_after(int n, std::string message) {
    for (int i = 0; i < n; ++i) {
        co_yield i;
    }
    throw std::invalid_argument(message);
}

/// Yields once, then waits a long time: the consumer's cancellation reaches it there.
pyasync::async_generator<int> slow_second() {
    cleanup_guard guard;
    co_yield 1;
    try {
        co_await pyasync::sleep(60.0);
    } catch (const pyasync::cancelled_error &) {
        ++cancellations;
        throw;
    }
    co_yield 2;
}

/// As counted(), making each item on a runtime worker.
pyasync::async_generator<long> counted_away(long n) {
    cleanup_guard guard;
    for (long i = 0; i < n; ++i) {
        co_await pyasync::resume_on();
        ++produced;
        co_yield i;
    }
}

std::atomic<bool> away_spinning{false};
std::atomic<bool> away_release{false};

/// Makes each item away, where it waits for `release_away()` before yielding it.
pyasync::async_generator<long> gated_away() {
    cleanup_guard guard;
    for (long i = 0;; ++i) {
        co_await pyasync::resume_on();
        away_spinning = true;
        while (!away_release.exchange(false)) {
            std::this_thread::yield();
        }
        away_spinning = false;
        co_yield i;
    }
}

/// Yields 0..n-1, each after a runtime sleep of `seconds`.
pyasync::async_generator<long> slow_items(long n, double seconds) {
    for (long i = 0; i < n; ++i) {
        co_await pyasync::sleep(seconds);
        co_yield i;
    }
}

/// The first n items (fewer if the iterator ends first).
pyasync::task<py::list> first_items(pyasync::async_iterator<py::object> &items, long n) {
    py::list out;
    while (static_cast<long>(out.size()) < n) {
        auto item = co_await items.next();
        if (!item) {
            break;
        }
        out.append(*item);
    }
    co_return out;
}

/// Takes the first n items from C++, then stops (the iterator is closed on the way out).
pyasync::task<py::list> take(py::object iterable, long n) {
    pyasync::async_iterator<py::object> items(iterable);
    co_return co_await first_items(items, n);
}

/// As take(), closing explicitly with aclose() before returning.
pyasync::task<py::list> take_and_close(py::object iterable, long n) {
    pyasync::async_iterator<py::object> items(iterable);
    py::list out = co_await first_items(items, n);
    co_await items.aclose();
    co_return out;
}

/// Sums the items converted to long: a wrong type is named at the call site.
pyasync::task<long> sum_items(py::object iterable) {
    pyasync::async_iterator<long> items(iterable);
    long total = 0;
    while (auto item = co_await items.next()) {
        total += *item;
    }
    co_return total;
}

} // namespace

PYASYNC_TEST_SUBMODULE(streams, m) {
    m.def("counted", &counted, py::arg("n"));
    m.def("with_awaits", &with_awaits, py::arg("make_awaitable"));
    m.def("produced_away", &produced_away, py::arg("n"));
    m.def("fails_after", &fails_after, py::arg("n"), py::arg("message"));
    m.def("slow_second", &slow_second);
    m.def("counted_away", &counted_away, py::arg("n"));
    m.def("slow_items", &slow_items, py::arg("n"), py::arg("seconds"));
    m.def("gated_away", &gated_away);
    m.def("away_spinning", [] { return away_spinning.load(); });
    m.def("release_away", [] { away_release = true; });
    m.def("buffered", [](py::object source, std::size_t capacity) { return pyasync::buffered(std::move(source), capacity); },
          py::arg("source"), py::arg("capacity"));
    m.def("buffered_counted", [](long n, std::size_t capacity) { return pyasync::buffered(counted(n), capacity); },
          py::arg("n"), py::arg("capacity"));
    pyasync::def(m, "take", &take, py::arg("iterable"), py::arg("n"));
    pyasync::def(m, "take_and_close", &take_and_close, py::arg("iterable"), py::arg("n"));
    pyasync::def(m, "sum_items", &sum_items, py::arg("iterable"));
    m.def("counts", [] {
        return py::dict(py::arg("produced") = produced.load(), py::arg("cleanups") = cleanups.load(),
                        py::arg("cancellations") = cancellations.load());
    });
    m.def("main_thread", &pyasync_tests::this_thread_name);
    m.def("pending", &pyasync::pending_operations);
}
