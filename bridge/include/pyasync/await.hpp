#pragma once
/// \file
/// Awaiting Python awaitables from C++.
///
/// Inside a `pyasync::task`, `co_await obj` accepts any `py::object` (a coroutine, an
/// `asyncio.Future`, a Task, any object with `__await__`) and yields its result as a
/// `py::object`. `co_await pyasync::await_as<T>(obj)` converts the result with pybind11's casters.
///
/// On the event-loop thread the task delegates to the awaitable as `yield from` does: no
/// `create_task`, no extra Future, and an awaitable that finishes at once never suspends the C++
/// frame. The awaitable runs in the driving Task's `contextvars` context.
/// A non-awaitable raises `TypeError` naming its type at the `co_await`; a Python exception
/// arrives as `pyasync::python_error`, a cancellation as `pyasync::cancelled_error`.

#include <pyasync/detail/python_awaiter.hpp>

namespace pyasync {

/// Awaits `awaitable` and converts its result to `T` (lazy: nothing runs until `co_await`).
/// The object is borrowed for the `co_await` (it must outlive it); no reference count changes,
/// so this works on a runtime thread too, where the result is converted on the loop thread.
template <typename T>
detail::typed_python_awaitable<T> await_as(py::handle awaitable) noexcept {
    return {awaitable.ptr(), false};
}

/// As above, taking over the reference of a temporary (`await_as<int>(fn())`).
template <typename T>
detail::typed_python_awaitable<T> await_as(py::object &&awaitable) noexcept {
    return {awaitable.release().ptr(), true};
}

} // namespace pyasync
