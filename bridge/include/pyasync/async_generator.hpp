#pragma once
/// \file
/// `pyasync::async_generator<T>`: a C++ coroutine that `co_yield`s values is a Python async
/// iterator.
///
///     pyasync::async_generator<int> countdown(int n) {
///         for (int i = n - 1; i >= 0; --i) {
///             co_yield i;
///         }
///     }
///     m.def("countdown", &countdown);   // async for i in countdown(3): 2, 1, 0
///
/// - **Lazy and pulled**: the frame runs only inside `__anext__`, from where it stopped to the
///   next `co_yield`, so a slow consumer holds the producer at its `co_yield` (backpressure with
///   one item in flight). An item ready without suspending costs no Future and no loop turn.
/// - Between items the frame may `co_await` anything a `task` can (Python awaitables,
///   `pyasync::sleep`, `spawn`, `resume_on`); a `co_yield` made away on a runtime brings the
///   frame home to the loop, which converts the item there.
/// - `aclose()`, or dropping the generator, destroys a frame waiting at a `co_yield`: its RAII
///   clean-up runs. Cancelling the Task that awaits `__anext__` throws `cancelled_error` into the
///   frame at its suspension point, as for a task.
/// - An exception escaping the frame is raised from `__anext__` (mapped as for tasks); after
///   the end, `__anext__` raises StopAsyncIteration. `asend(value)`/`athrow()` are not supported.
/// Thread: the loop thread, GIL held (except while away).

#include <pyasync/coroutine.hpp>
#include <pyasync/task.hpp>

#include <optional>
#include <utility>

namespace pyasync {
template <typename T>
class async_generator;

namespace detail {

/// The type of C++ async generators (`pyasync.async_generator`), ready on return (nullptr with a
/// Python error set if it cannot be readied). GIL held.
PYASYNC_API PyTypeObject *async_generator_type();

/// Wraps the coroutine object `coroutine` (new reference, consumed) as a Python async iterator
/// (new reference, or nullptr with an error set).
PYASYNC_API PyObject *new_async_generator(PyObject *coroutine) noexcept;

template <typename T>
class async_generator_promise final : public task_promise_base {
public:
    explicit async_generator_promise(detail::source_location where = detail::source_location::current()) noexcept
            : task_promise_base(where) {}
    async_generator<T> get_return_object() noexcept;
    void return_void() const noexcept {}

    /// Suspends at the `co_yield`; away on a runtime, the frame first goes home to the loop.
    struct yield_awaiter {
        driver *owner;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<>) const noexcept {
            if (owner != nullptr && owner->away()) {
                owner->come_home(std::noop_coroutine());
            }
        }
        void await_resume() const noexcept {}
    };

    template <typename U>
    requires std::is_convertible_v<U &&, T> yield_awaiter yield_value(U &&value) {
        item_.emplace(std::forward<U>(value));
        mark_yielded();
        return {driver_ptr()};
    }

    /// The item just yielded, as a new Python reference (nullptr with an error set), or
    /// StopAsyncIteration once the frame has finished.
    static PyObject *convert(task_promise_base &base) {
        auto &promise = static_cast<async_generator_promise &>(base);
        if (!promise.item_) {
            PyErr_SetNone(PyExc_StopAsyncIteration);
            return nullptr;
        }
        struct clear_item {
            std::optional<T> &item;
            ~clear_item() { item.reset(); }
        } clear{promise.item_};
        if constexpr (std::is_base_of_v<py::handle, T>) {
            return Py_NewRef(promise.item_->ptr() != nullptr ? promise.item_->ptr() : Py_None);
        } else {
            return to_python<T>(std::move(*promise.item_), py::return_value_policy::move, "async generator's item");
        }
    }

private:
    std::optional<T> item_;
};

} // namespace detail

/// A C++ async generator of `T` items (move-only; see the file comment). Returned from a
/// function bound with `m.def` (or `pyasync::def`'s plain counterpart), it becomes a Python
/// async iterator; `pyasync::make_async_generator` does the same by hand.
template <typename T>
class [[nodiscard]] async_generator {
public:
    /// The promise the compiler uses for a coroutine returning `async_generator<T>` (internal).
    using promise_type = detail::async_generator_promise<T>;

    async_generator() noexcept = default; ///< empty (what a moved-from generator is)
    /// Takes the frame: `other` is left empty.
    async_generator(async_generator &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    /// Takes `other`'s frame; the one held before is destroyed with `other`.
    async_generator &operator=(async_generator other) noexcept {
        std::swap(handle_, other.handle_);
        return *this;
    }
    /// Destroys the frame (a generator never iterated never runs).
    ~async_generator() {
        if (handle_) {
            handle_.destroy();
        }
    }
    /// Gives up ownership of the frame (to the Python async iterator that adopts it).
    std::coroutine_handle<promise_type> release() noexcept { return std::exchange(handle_, nullptr); }
    /// True when the generator holds a frame (false after a move or `release()`).
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }

private:
    friend promise_type;
    explicit async_generator(std::coroutine_handle<promise_type> handle) noexcept : handle_(handle) {}
    std::coroutine_handle<promise_type> handle_ = nullptr;
};

template <typename T>
async_generator<T> detail::async_generator_promise<T>::get_return_object() noexcept {
    return async_generator<T>{std::coroutine_handle<async_generator_promise>::from_promise(*this)};
}

/// The Python async iterator owning `generator` (lazy: nothing runs before the first
/// `__anext__`). GIL held.
template <typename T>
py::object make_async_generator(async_generator<T> &&generator, py::handle keep_alive = {}) {
    if (!generator.valid()) {
        throw py::value_error("pyasync::make_async_generator: the generator is empty (moved from or released)");
    }
    auto handle = generator.release();
    PyObject *coroutine = detail::new_coroutine(handle, handle.promise(), &detail::async_generator_promise<T>::convert,
                                                {}, keep_alive.ptr());
    if (coroutine == nullptr) {
        throw py::error_already_set();
    }
    PyObject *iterator = detail::new_async_generator(coroutine);
    if (iterator == nullptr) {
        throw py::error_already_set();
    }
    return py::reinterpret_steal<py::object>(iterator);
}

} // namespace pyasync

PYBIND11_NAMESPACE_BEGIN(PYBIND11_NAMESPACE)
PYBIND11_NAMESPACE_BEGIN(detail)
/// Return values only: a function returning `async_generator<T>` returns a Python async iterator.
template <typename T>
struct type_caster<pyasync::async_generator<T>> {
    PYBIND11_TYPE_CASTER(pyasync::async_generator<T>,
                         const_name("AsyncIterator[") + make_caster<T>::name + const_name("]"));
    bool load(handle, bool) { return false; }
    static handle cast(pyasync::async_generator<T> &&source, return_value_policy, handle parent) {
        return pyasync::make_async_generator(std::move(source), parent).release();
    }
};
PYBIND11_NAMESPACE_END(detail)
PYBIND11_NAMESPACE_END(PYBIND11_NAMESPACE)
