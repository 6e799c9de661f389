// bench_runtime_native: the cross-thread completion paths bench_runtime.py compares, all on this
// module's own default runtime (same workers for every row).
//
// - queue_complete(futures): each future is completed from a worker through pyasync's per-loop
//   completion queue (no GIL on the worker; the loop sets the result while draining a batch).
// - naive_complete(futures, loop): each worker takes the GIL and calls
//   loop.call_soon_threadsafe(future.set_result, i), as existing C++ bridges do.
// - echo(value): a C++ coroutine that hops to a worker (pyasync::spawn) and back.
// - away_echo(value): the same hop with resume_on / resume_on_loop.
// - sleep_away / echo_after: operations left pending by the shutdown row.
// - buffered_countdown(n, capacity): countdown through pyasync::buffered (the pump Task's cost).
// - condvar_round_trip_us(rounds): the machine's cost of two thread wake-ups (the round-trip floor).
// - await_many_call(fn, n): bench_await.py's C++ loop awaiting fn() n times, fn called with
//   pyasync::call (one vectorcall) instead of pybind11's fn().
// - minimal_ready(x): the least a C awaitable costs (minimal_awaitable.cpp).
#include "minimal_awaitable.hpp"

#include <pyasync/detail/completion_queue.hpp>
#include <pyasync/pyasync.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace py = pybind11;

namespace {

/// One future to complete through the queue. Python references are taken and dropped on the
/// loop thread only.
struct future_completion {
    pyasync::detail::completion node; // first member
    PyObject *future;
    long index;
};

void deliver(pyasync::detail::completion *self) noexcept {
    static PyObject *const set_result = PyUnicode_InternFromString("set_result"); // as the library caches its names
    auto *item = reinterpret_cast<future_completion *>(self);
    PyObject *value = PyLong_FromLong(item->index);
    PyObject *done = value != nullptr ? PyObject_CallMethodOneArg(item->future, set_result, value) : nullptr;
    if (done == nullptr) {
        PyErr_WriteUnraisable(item->future);
    }
    Py_XDECREF(done);
    Py_XDECREF(value);
    Py_DECREF(item->future);
    delete item;
}

void discard(pyasync::detail::completion * /*self*/) noexcept {} // loop gone: leak, never crash

void queue_complete(const py::list &futures) {
    auto queue = pyasync::detail::completion_queue::of(pyasync::get_running_loop().ptr());
    auto &engine = pyasync::default_runtime();
    long index = 0;
    for (py::handle future : futures) {
        auto *item = new future_completion{{}, py::reinterpret_borrow<py::object>(future).release().ptr(), index++};
        item->node.deliver = &deliver;
        item->node.discard = &discard;
        engine.spawn([queue, item] { queue->push(&item->node); });
    }
}

void naive_complete(const py::list &futures, const py::object &loop) {
    auto &engine = pyasync::default_runtime();
    // Kept for the process's life: dropping it would need the GIL on whichever worker is last.
    PyObject *call_soon = py::object(loop.attr("call_soon_threadsafe")).release().ptr();
    long index = 0;
    for (py::handle future : futures) {
        auto *setter = new py::object(future.attr("set_result"));
        engine.spawn([call_soon, setter, index] {
            py::gil_scoped_acquire gil;
            py::handle{call_soon}(*setter, index);
            delete setter;
        });
        ++index;
    }
}

/// The machine's floor for a round trip between two sleeping threads: microseconds per
/// condition-variable ping-pong (two wake-ups), measured with the GIL released.
double condvar_round_trip_us(int rounds) {
    py::gil_scoped_release released;
    std::mutex mutex;
    std::condition_variable changed;
    bool ping = false;
    std::thread partner([&] {
        for (int i = 0; i < rounds; ++i) {
            std::unique_lock lock(mutex);
            changed.wait(lock, [&] { return ping; });
            ping = false;
            changed.notify_all();
        }
    });
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < rounds; ++i) {
        std::unique_lock lock(mutex);
        ping = true;
        changed.notify_all();
        changed.wait(lock, [&] { return !ping; });
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    partner.join();
    return std::chrono::duration<double, std::micro>(elapsed).count() / rounds;
}

pyasync::async_generator<long> countdown(long n) {
    for (long i = n - 1; i >= 0; --i) {
        co_yield i;
    }
}

pyasync::task<long> echo(long value) {
    co_return co_await pyasync::spawn([value] { return value; });
}

pyasync::task<long> away_echo(long value) {
    co_await pyasync::resume_on();
    co_await pyasync::resume_on_loop();
    co_return value;
}

pyasync::task<void> sleep_away(double seconds) {
    co_await pyasync::resume_on();
    co_await pyasync::sleep(seconds);
}

pyasync::task<void> echo_after(double seconds) {
    co_await pyasync::sleep(seconds);
}

/// pyasync_examples.zero's twin in this module: what bench_await.py awaits from the other
/// module's C++ to compare a cross-module await with a same-module one.
pyasync::task<int> zero() {
    co_return 0;
}

/// Calls `fn()` with `pyasync::call` (one vectorcall) and awaits it `n` times in one C++ loop:
/// bench_await.py's "C++ awaits Python" row without pybind11's `fn()`, which builds an argument
/// tuple and goes through PyObject_Call. Here, not in pyasync_examples: added there, it changed
/// GCC's inlining of that module's await_many and cost its row 8%.
pyasync::task<py::object> await_many_call(py::object fn, long n) {
    py::object last = py::none();
    for (long i = 0; i < n; ++i) {
        last = co_await pyasync::call(fn);
    }
    co_return last;
}

} // namespace

/// The region tools/bench/instructions.py counts (callgrind --toggle-collect=pyasync_bench_counted):
/// what `work()` does on this thread, none of the interpreter's start-up, imports or shut-down,
/// whose instruction counts vary from run to run by a few hundred thousand.
extern "C" [[gnu::noinline]] PyObject *pyasync_bench_counted(PyObject *work) {
    return PyObject_CallNoArgs(work);
}

PYASYNC_MODULE(bench_runtime_native, m) {
    add_minimal_awaitable(m);
    m.def("queue_complete", &queue_complete, py::arg("futures"));
    m.def("naive_complete", &naive_complete, py::arg("futures"), py::arg("loop"));
    pyasync::def(m, "echo", &echo, py::arg("value"));
    pyasync::def(m, "away_echo", &away_echo, py::arg("value"));
    pyasync::def(m, "sleep_away", &sleep_away, py::arg("seconds"));
    pyasync::def(m, "echo_after", &echo_after, py::arg("seconds"));
    pyasync::def(m, "zero", &zero);
    pyasync::def(m, "await_many_call", &await_many_call, py::arg("fn"), py::arg("n"));
    m.def("pending", &pyasync::pending_operations);
    m.def(
        "counted",
        [](const py::object &work) {
            PyObject *result = pyasync_bench_counted(work.ptr());
            if (result == nullptr) {
                throw py::error_already_set();
            }
            return py::reinterpret_steal<py::object>(result);
        },
        py::arg("work"), "Calls work(): the region callgrind counts (tools/bench/instructions.py).");
    m.def("condvar_round_trip_us", &condvar_round_trip_us, py::arg("rounds"));
    m.def(
        "buffered_countdown", [](long n, std::size_t capacity) { return pyasync::buffered(countdown(n), capacity); },
        py::arg("n"), py::arg("capacity"));
}
