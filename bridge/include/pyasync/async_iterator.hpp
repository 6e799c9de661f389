#pragma once
/// \file
/// `pyasync::async_iterator<T>`: C++ consuming a Python async iterator (an async generator,
/// any object with `__aiter__`/`__anext__`, or a C++ `async_generator` seen from Python).
///
///     pyasync::task<py::list> collect(py::object iterable) {
///         pyasync::async_iterator<py::object> items(iterable);
///         py::list out;
///         while (auto item = co_await items.next()) {
///             out.append(*item);
///         }
///         co_return out;
///     }

#include <pyasync/await.hpp>
#include <pyasync/errors.hpp>
#include <pyasync/task.hpp>

#include <optional>
#include <string>

namespace pyasync {

/// Pulls items of type `T` (converted with pybind11's casters) from a Python async iterator.
///
/// - `co_await next()` gives the next item, or `std::nullopt` once the iterator raised
///   StopAsyncIteration. An exception raised by the iterator is thrown at that `co_await`.
/// - Early exit: `co_await aclose()` closes the iterator now (an async generator's `finally`
///   runs, and may await). If the object is destroyed before the end and without `aclose()`,
///   it schedules `aclose()` on the running loop as a Task, as asyncio does for abandoned async
///   generators, so the clean-up still runs.
/// Thread: the loop thread, GIL held (construction, `next`, `aclose`, destruction). Eager
/// construction (`__aiter__` is called at once); `next` and `aclose` are lazy tasks.
template <typename T = py::object>
class async_iterator {
public:
    /// Calls `iterable.__aiter__()` now. Throws `py::type_error` naming the type when it is not async iterable, `python_error` when `__aiter__` raises.
    explicit async_iterator(py::handle iterable) {
        PyTypeObject *type = Py_TYPE(iterable.ptr());
        if (type->tp_as_async == nullptr || type->tp_as_async->am_aiter == nullptr) {
            throw py::type_error(std::string("pyasync::async_iterator: expected an async iterable (an object with "
                                             "__aiter__, such as an async generator), got ") +
                                 type->tp_name);
        }
        iterator_ = py::reinterpret_steal<py::object>(type->tp_as_async->am_aiter(iterable.ptr()));
        if (!iterator_) {
            throw python_error();
        }
    }
    /// Takes the iterator (and the duty to close it).
    async_iterator(async_iterator &&) noexcept = default;
    async_iterator(const async_iterator &) = delete;
    async_iterator &operator=(const async_iterator &) = delete;
    async_iterator &operator=(async_iterator &&) = delete;
    ~async_iterator() {
        if (iterator_ && !finished_) {
            schedule_aclose();
        }
    }

    /// The next item, or `std::nullopt` at the end.
    task<std::optional<T>> next() {
        if (finished_) {
            co_return std::nullopt;
        }
        py::object step = iterator_.attr("__anext__")();
        try {
            co_return co_await await_as<T>(std::move(step));
        } catch (python_error &error) {
            if (!error.matches(PyExc_StopAsyncIteration)) {
                finished_ = true; // an iterator that raised is over, as in `async for`
                throw;
            }
        }
        finished_ = true;
        co_return std::nullopt;
    }

    /// Closes the iterator (awaiting its `aclose()` when it has one). Idempotent.
    task<void> aclose() {
        if (finished_) {
            co_return;
        }
        finished_ = true;
        if (py::hasattr(iterator_, "aclose")) {
            co_await iterator_.attr("aclose")();
        }
    }

    /// True once the iterator ended, raised, or was closed.
    [[nodiscard]] bool finished() const noexcept { return finished_; }

private:
    void schedule_aclose() noexcept {
        try {
            if (!py::hasattr(iterator_, "aclose")) {
                return;
            }
            py::object closing = iterator_.attr("aclose")();
            py::module_::import("asyncio").attr("ensure_future")(closing);
        } catch (py::error_already_set &error) {
            error.discard_as_unraisable("pyasync::async_iterator closing an iterator left before its end");
        }
    }

    py::object iterator_;
    bool finished_ = false;
};

} // namespace pyasync
