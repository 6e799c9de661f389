#pragma once
/// \file
/// `pyasync::call(fn, args...)`: calls a Python callable from C++ with one vectorcall.
///
/// pybind11's `fn(args...)` packs the arguments into a tuple and goes through `PyObject_Call`.
/// In the commonest call a task makes, `co_await fn(x)` of a Python coroutine function, that
/// packing costs as much as everything pyasync does for the await itself (bench_await.py prints
/// both rows). `call` converts each argument with pybind11's casters straight into an array on
/// the stack and makes one `PyObject_Vectorcall`:
///
///     py::object value = co_await pyasync::call(fetch, url, 3);
///
/// - Eager: the call happens at once. Calling a coroutine function creates the coroutine; it runs
///   when awaited, as in Python.
/// - Positional arguments only; for keyword arguments use pybind11's `fn(py::arg("k") = v)`.
/// - Thread: the GIL must be held (the loop thread, where a task's frame runs unless it is away
///   on a runtime).
/// - Errors: both throw `py::error_already_set`: a `TypeError` naming the position and C++ type
///   of an argument that does not convert (pybind11's reason as its `__cause__`), or whatever
///   the callable raised. Nothing is called then, and no reference is leaked.

#include <pyasync/config.hpp>

#include <string>
#include <type_traits>
#include <utility>

namespace pyasync {
namespace detail {

/// What pybind11's `fn(...)` treats as keywords or unpacks (`py::arg`, `py::args`, `*obj`):
/// `call` would pass them as one positional argument instead, so it rejects them.
template <typename Arg, typename Plain = std::remove_cvref_t<Arg>>
inline constexpr bool is_keyword_or_unpacking =
    std::is_base_of_v<py::arg, Plain> || std::is_same_v<Plain, py::args> || std::is_same_v<Plain, py::kwargs> ||
    std::is_same_v<Plain, py::detail::args_proxy> || std::is_same_v<Plain, py::detail::kwargs_proxy>;

/// Raises the TypeError for argument `position` (1-based, as Python counts them) of C++ type
/// `type` that did not convert (the caster's own error, if it set one, becomes its cause) and
/// throws it.
[[noreturn]] PYASYNC_API void throw_unconvertible_argument(std::size_t position, const std::string &type);

/// One argument as a new reference; throws for one that does not convert.
template <py::return_value_policy Policy, typename Arg>
PyObject *call_argument(Arg &&argument, std::size_t position) {
    PyObject *converted = py::detail::make_caster<Arg>::cast(std::forward<Arg>(argument), Policy, nullptr).ptr();
    if (converted == nullptr) {
        throw_unconvertible_argument(position, py::type_id<Arg>());
    }
    return converted;
}

} // namespace detail

/// Calls `callable(args...)` with one vectorcall and returns its result (a new reference). See
/// the file comment: eager, positional arguments only, GIL held.
template <py::return_value_policy Policy = py::return_value_policy::automatic_reference, typename... Args>
py::object call(py::handle callable, Args &&...args) {
    static_assert((!detail::is_keyword_or_unpacking<Args> && ...),
                  "pyasync::call takes positional arguments only: use pybind11's fn(py::arg(\"name\") = value) or "
                  "fn(*args, **kwargs) for keywords and unpacking");
    PyObject *result = nullptr;
    if constexpr (sizeof...(Args) == 0) {
        result = PyObject_CallNoArgs(callable.ptr());
    } else {
        // Slot 0 is free for the callee (PY_VECTORCALL_ARGUMENTS_OFFSET): a bound method puts
        // its `self` there instead of copying the arguments.
        PyObject *slots[sizeof...(Args) + 1] = {nullptr};
        std::size_t converted = 0;
        try {
            ((slots[converted + 1] = detail::call_argument<Policy>(std::forward<Args>(args), converted + 1),
              ++converted),
             ...);
        } catch (...) {
            for (std::size_t i = 1; i <= converted; ++i) {
                Py_DECREF(slots[i]);
            }
            throw;
        }
        result =
            PyObject_Vectorcall(callable.ptr(), slots + 1, sizeof...(Args) | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr);
        for (std::size_t i = 1; i <= sizeof...(Args); ++i) {
            Py_DECREF(slots[i]);
        }
    }
    if (result == nullptr) {
        throw py::error_already_set();
    }
    return py::reinterpret_steal<py::object>(result);
}

} // namespace pyasync
