#pragma once
/// \file
/// `pyasync::task<T>`: the C++ coroutine type of pyasync.

#include <pyasync/detail/task_promise.hpp>

#include <utility>

namespace pyasync {

/// A lazy, move-only C++20 coroutine producing a `T` (or `void`, or a reference `U&`).
///
/// Contract:
/// - **Lazy**: calling a coroutine function returning `task<T>` only allocates its frame; the body
///   starts when the task is awaited (`co_await` from another task) or handed to Python
///   (returned from a bound function, `pyasync::run`), never before.
/// - **Awaiting a task from a task does not touch Python**: the child is resumed by symmetric
///   transfer and resumes its parent the same way, so deep chains use no stack and no GIL calls.
/// - Exceptions escaping the body are carried to the awaiter and rethrown by `co_await`.
/// - Inside the body, `co_await` accepts another `task`, any pyasync awaitable (`sleep`,
///   `gather`, `get_stop_token`, ...) and any Python object (a coroutine, Future, Task or
///   object with `__await__`), which the task awaits by delegation on the event-loop thread.
/// - Thread: a task handed to Python runs on the thread driving its Python coroutine (the
///   event-loop thread) with the GIL held.
template <typename T = void>
class [[nodiscard]] task {
public:
    /// The promise the compiler uses for a coroutine returning `task<T>` (internal).
    using promise_type = detail::task_promise<T>;
    /// What `co_await` on the task gives.
    using value_type = T;

    /// An empty task: not valid, awaiting it throws `std::logic_error`.
    task() noexcept = default;
    /// Adopts a frame (what the promise's `get_return_object` does).
    explicit task(std::coroutine_handle<promise_type> handle) noexcept : handle_(handle) {}
    /// Takes the frame: `other` is left empty.
    task(task &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    /// Destroys the frame held, if any, and takes `other`'s.
    task &operator=(task &&other) noexcept {
        if (this != &other) {
            destroy();
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    task(const task &) = delete;
    task &operator=(const task &) = delete;
    /// Destroys the frame: a task never awaited never runs (its body's clean-up does not run either).
    ~task() { destroy(); }

    /// True when the task holds a coroutine frame (false after a move or `release()`).
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }
    /// True when the body has run to completion (value or exception stored).
    [[nodiscard]] bool done() const noexcept { return !handle_ || handle_.done(); }

    /// Gives up ownership of the frame (used by the Python coroutine object that adopts it).
    std::coroutine_handle<promise_type> release() noexcept { return std::exchange(handle_, nullptr); }

    /// Awaiting a task starts it and suspends the awaiter until it finishes.
    auto operator co_await() &&noexcept { return awaiter{handle_}; }
    /// The same, for a task awaited by name (`co_await t`): the frame stays owned by `t`.
    auto operator co_await() &noexcept { return awaiter{handle_}; }

private:
    struct awaiter {
        std::coroutine_handle<promise_type> child;

        bool await_ready() const noexcept { return !child || child.done(); }

        detail::task_promise_base *parent_promise = nullptr;

        template <typename ParentPromise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<ParentPromise> parent) noexcept {
            child.promise().set_continuation(parent);
            if constexpr (std::is_base_of_v<detail::task_promise_base, ParentPromise>) {
                parent_promise = &parent.promise();
                child.promise().set_driver(parent_promise->driver_ptr());
            }
            return child;
        }

        decltype(auto) await_resume() {
            if (!child) {
                throw std::logic_error("pyasync::task: co_await on an empty task (moved from or released)");
            }
            if (parent_promise != nullptr) {
                child.promise().hand_origin_to(*parent_promise);
            }
            return child.promise().result();
        }
    };

    void destroy() noexcept {
        if (handle_) {
            handle_.destroy();
        }
    }

    std::coroutine_handle<promise_type> handle_;
};

/// \cond INTERNAL
namespace detail {
template <typename T>
task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
template <typename T>
task<T &> task_promise<T &>::get_return_object() noexcept {
    return task<T &>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
} // namespace detail
/// \endcond

} // namespace pyasync
