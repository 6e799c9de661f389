#pragma once
/// \file
/// pybind11 type caster for `pyasync::task<T>`: any bound function, lambda or method returning a
/// task is a Python async function, and a Python awaitable passed to a `task<T>` parameter is
/// awaited by that task.

#include <pyasync/await.hpp>
#include <pyasync/coroutine.hpp>

namespace pyasync {
namespace detail {
/// A task that awaits a Python awaitable (lazy: starts when awaited).
template <typename T>
task<T> await_python(py::object awaitable) {
    if constexpr (std::is_void_v<T>) {
        co_await await_as<void>(std::move(awaitable));
    } else {
        co_return co_await await_as<T>(std::move(awaitable));
    }
}

inline bool is_awaitable(PyObject *object) {
    return PyCoro_CheckExact(object) ||
           (Py_TYPE(object)->tp_as_async != nullptr && Py_TYPE(object)->tp_as_async->am_await != nullptr);
}
} // namespace detail
} // namespace pyasync

PYBIND11_NAMESPACE_BEGIN(PYBIND11_NAMESPACE)
PYBIND11_NAMESPACE_BEGIN(detail)

/// Return values: the task becomes a `pyasync.coroutine` (names derived from the C++ function;
/// for `m.def`'d methods the `self` is kept alive while the coroutine lives).
/// Arguments: any awaitable converts to a task awaiting it.
///
/// NOTE: `m.def` converts arguments into pybind11's own casters, which die when the call
/// returns, before the lazy coroutine body runs: a coroutine taking `const std::string &` through
/// `m.def` would dangle. `pyasync::def` (def.hpp) owns such arguments and is ~2x faster; prefer it.
template <typename T>
struct type_caster<pyasync::task<T>> {
private:
    using result_caster = make_caster<std::conditional_t<std::is_void_v<T>, void_type, T>>;

public:
    PYBIND11_TYPE_CASTER(pyasync::task<T>, const_name("Awaitable[") + result_caster::name + const_name("]"));

    bool load(handle source, bool) {
        if (!source || !pyasync::detail::is_awaitable(source.ptr())) {
            return false;
        }
        value = pyasync::detail::await_python<T>(reinterpret_borrow<object>(source));
        return true;
    }

    static handle cast(pyasync::task<T> &&source, return_value_policy, handle parent) {
        return pyasync::make_coroutine(std::move(source), {}, parent).release();
    }
};

PYBIND11_NAMESPACE_END(detail)
PYBIND11_NAMESPACE_END(PYBIND11_NAMESPACE)
