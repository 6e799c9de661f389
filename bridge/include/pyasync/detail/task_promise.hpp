#pragma once
/// \file
/// The promise of `pyasync::task<T>` (internal). The public type is in `pyasync/task.hpp`.

#include <pyasync/config.hpp>
#include <pyasync/detail/frame_allocator.hpp>
#include <pyasync/detail/python_awaiter.hpp>
#include <pyasync/detail/source_location.hpp>

#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace pyasync {
template <typename T>
class task;

namespace detail {

class driver;

/// Customization point: `foreign_awaitable<A>::adapt(A&&)` turns an awaitable of another
/// library into one a task can await (`pyasync/asio.hpp` adapts `asio::awaitable<T>`). The
/// specialization must be visible where the `co_await` is written.
template <typename Awaitable>
struct foreign_awaitable {};

/// When `owner`'s frame is away on a runtime, sends the finished outermost frame home to the
/// loop (which converts its result there) and returns true. Any thread.
PYASYNC_API bool come_home_finished(driver *owner) noexcept;

/// State shared by every task promise: continuation, the driver (the Python coroutine object
/// running the outermost task, if any), the stored exception and where the coroutine lives.
class task_promise_base {
public:
    /// GCC evaluates the default argument at the coroutine's definition, so every frame knows
    /// its own function name, file and line (used for the exception note of item 6).
    explicit task_promise_base(detail::source_location where = detail::source_location::current()) noexcept
            : location_(where) {}

    /// Frames come from pyasync's per-thread frame lists (frame_allocator.hpp).
    static void *operator new(std::size_t size) { return allocate_frame(size); }
    static void operator delete(void *frame, std::size_t size) noexcept { free_frame(frame, size); }

    std::suspend_always initial_suspend() const noexcept { return {}; }

    struct final_awaiter {
        bool await_ready() const noexcept { return false; }
        template <typename Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) const noexcept {
            auto next = self.promise().continuation_;
            if (next) {
                return next;
            }
            // The outermost frame: if it finished on a runtime thread, the loop must finish it.
            // The test is inline and reads the promise only: a frame that finishes at home pays
            // no call and no look into its driver for it.
            if (self.promise().away_) {
                come_home_finished(self.promise().driver_);
            }
            return std::noop_coroutine();
        }
        void await_resume() const noexcept {}
    };
    final_awaiter final_suspend() const noexcept { return {}; }

    void unhandled_exception() noexcept {
        exception_ = std::current_exception();
        // The exception came out of a child task awaited here: keep the child's origin (the
        // innermost frame), not this frame's.
        origin_in_child_ = child_exception_ && exception_ == child_exception_;
        child_exception_ = nullptr;
    }

    void set_continuation(std::coroutine_handle<> next) noexcept { continuation_ = next; }
    void set_driver(driver *d) noexcept { driver_ = d; }
    /// Set by an async generator's `co_yield`; the driver takes it to return the item.
    void mark_yielded() noexcept { yielded_ = true; }
    /// Set by the driver of the outermost frame while that frame runs or waits on a runtime
    /// (`driver::away`), on the loop thread before the frame leaves and after it is back.
    void set_away(bool away) noexcept { away_ = away; }
    bool take_yielded() noexcept { return std::exchange(yielded_, false); }
    /// The Python coroutine object driving this frame, or nullptr when not driven by Python.
    [[nodiscard]] class driver *driver_ptr() const noexcept { return driver_; }
    [[nodiscard]] const detail::source_location &location() const noexcept { return location_; }
    /// Where the frame's exception comes from: this frame, or the child task it came out of.
    [[nodiscard]] const detail::source_location &origin() const noexcept {
        return origin_in_child_ ? child_origin_ : location_;
    }
    [[nodiscard]] const std::exception_ptr &exception() const noexcept { return exception_; }

    /// Called by a parent's task awaiter before the child's exception is rethrown into it.
    void hand_origin_to(task_promise_base &parent) const noexcept {
        if (exception_) {
            parent.child_exception_ = exception_;
            parent.child_origin_ = origin();
        }
    }

    /// Python objects awaited in a task become delegating awaiters bound to the driver;
    /// everything else is awaited as it is.
    template <typename Awaitable>
    decltype(auto) await_transform(Awaitable &&awaitable) {
        using plain = std::remove_cvref_t<Awaitable>;
        // No reference counting here: the frame may run on a runtime thread without the GIL. An
        // rvalue object hands its reference over; anything else is borrowed for the co_await.
        if constexpr (std::is_base_of_v<py::object, plain> && !std::is_lvalue_reference_v<Awaitable>) {
            return python_awaiter<py::object>(driver_, awaitable.release().ptr(), true);
        } else if constexpr (std::is_base_of_v<py::handle, plain>) {
            return python_awaiter<py::object>(driver_, awaitable.ptr(), false);
        } else if constexpr (is_typed_python_awaitable<plain>::value) {
            return python_awaiter<typename plain::result_type>(driver_, std::exchange(awaitable.object, nullptr),
                                                               awaitable.owned);
        } else if constexpr (requires { foreign_awaitable<plain>::adapt(std::forward<Awaitable>(awaitable)); }) {
            static_assert(!std::is_lvalue_reference_v<Awaitable>,
                          "pyasync: co_await std::move(awaitable): a foreign awaitable is consumed once");
            return foreign_awaitable<plain>::adapt(std::forward<Awaitable>(awaitable)); // an rvalue, checked above
        } else {
            return std::forward<Awaitable>(awaitable);
        }
    }

protected:
    void rethrow_if_failed() const {
        if (exception_) {
            std::rethrow_exception(exception_);
        }
    }

private:
    std::coroutine_handle<> continuation_;
    class driver *driver_ = nullptr;
    std::exception_ptr exception_;
    std::exception_ptr child_exception_;
    detail::source_location location_;
    detail::source_location child_origin_;
    bool yielded_ = false;
    bool away_ = false;
    /// The frame's exception came out of the child whose origin is `child_origin_`. A flag, not a
    /// copy of the origin: the ramp of every coroutine then writes one location, not two.
    bool origin_in_child_ = false;
};

template <typename T>
class task_promise final : public task_promise_base {
public:
    // Declared here, not inherited: the default argument must be evaluated for this promise's
    // coroutine, not for the base constructor.
    explicit task_promise(detail::source_location where = detail::source_location::current()) noexcept
            : task_promise_base(where) {}
    task<T> get_return_object() noexcept;

    template <typename U>
    requires std::is_convertible_v<U &&, T>
    void return_value(U &&value) noexcept(std::is_nothrow_constructible_v<T, U &&>) {
        value_.emplace(std::forward<U>(value));
    }

    T result() {
        rethrow_if_failed();
        return std::move(*value_);
    }
    /// The stored value, for the Python coroutine object's result conversion.
    T &value() noexcept { return *value_; }

private:
    std::optional<T> value_;
};

template <typename T>
class task_promise<T &> final : public task_promise_base {
public:
    // Declared here, not inherited: the default argument must be evaluated for this promise's
    // coroutine, not for the base constructor.
    explicit task_promise(detail::source_location where = detail::source_location::current()) noexcept
            : task_promise_base(where) {}
    task<T &> get_return_object() noexcept;
    void return_value(T &value) noexcept { value_ = std::addressof(value); }
    T &result() {
        rethrow_if_failed();
        return *value_;
    }
    T &value() noexcept { return *value_; }

private:
    T *value_ = nullptr;
};

template <>
class task_promise<void> final : public task_promise_base {
public:
    // Declared here, not inherited: the default argument must be evaluated for this promise's
    // coroutine, not for the base constructor.
    explicit task_promise(detail::source_location where = detail::source_location::current()) noexcept
            : task_promise_base(where) {}
    task<void> get_return_object() noexcept;
    void return_void() const noexcept {}
    void result() const { rethrow_if_failed(); }
};

} // namespace detail

} // namespace pyasync
