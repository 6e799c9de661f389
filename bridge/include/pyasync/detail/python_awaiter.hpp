#pragma once
/// \file
/// Awaiting a Python awaitable from a task by delegation (internal; see `pyasync/await.hpp`).

#include <pyasync/detail/driver.hpp>
#include <pyasync/errors.hpp>

#include <string>
#include <type_traits>
#include <utility>

PYASYNC_NAMESPACE_BEGIN
namespace detail {

/// The iterator that `await obj` would drive (a new reference), or nullptr with a TypeError that
/// names the type when `obj` is not awaitable.
PyObject *get_awaitable_iterator(PyObject *awaitable) noexcept;

/// Raises the error for a task awaiting Python without a driver.
[[noreturn]] void throw_no_driver(PyObject *awaitable);

/// Converts a Python result to `T`, naming both types when it cannot.
template <typename T>
T convert_result(py::object value) {
    if constexpr (std::is_void_v<T>) {
        return;
    } else if constexpr (std::is_same_v<T, py::object>) {
        return value;
    } else {
        py::detail::make_caster<T> caster;
        if (!caster.load(value, true)) {
            throw py::type_error("pyasync::await_as: the awaitable returned "
                                 + std::string(Py_TYPE(value.ptr())->tp_name) + ", which does not convert to "
                                 + py::type_id<T>());
        }
        return py::detail::cast_op<T>(std::move(caster));
    }
}

/// The awaiter for a Python awaitable inside a task. On the loop thread it delegates as
/// `yield from` does: the first send happens in `await_ready` (an awaitable that finishes at
/// once never suspends the C++ frame); if it yields, the driver forwards the yielded value to
/// the Task and routes later sends, throws and the outcome back here.
template <typename T>
class python_awaiter : private delegation_target {
public:
    python_awaiter(driver *d, py::object awaitable) noexcept : driver_(d), awaitable_(std::move(awaitable)) {}
    python_awaiter(const python_awaiter &) = delete;
    python_awaiter &operator=(const python_awaiter &) = delete;
    python_awaiter(python_awaiter &&other) noexcept
        : delegation_target(std::exchange(static_cast<delegation_target &>(other), {})),
          driver_(other.driver_), awaitable_(std::move(other.awaitable_)) {}
    ~python_awaiter() {
        Py_XDECREF(value);
        Py_XDECREF(error);
        Py_XDECREF(iterator_);
        Py_XDECREF(yielded_);
    }

    bool await_ready() {
        if (driver_ == nullptr) {
            throw_no_driver(awaitable_.ptr());
        }
        iterator_ = get_awaitable_iterator(awaitable_.ptr());
        if (iterator_ == nullptr) {
            error = fetch_exception();
            return true;
        }
        switch (PyIter_Send(iterator_, Py_None, &yielded_)) {
        case PYGEN_RETURN:
            value = std::exchange(yielded_, nullptr);
            return true;
        case PYGEN_ERROR:
            error = fetch_exception();
            return true;
        case PYGEN_NEXT:
            break;
        }
        return false;
    }

    void await_suspend(std::coroutine_handle<> waiter_handle) noexcept {
        waiter = waiter_handle;
        driver_->delegate(std::exchange(iterator_, nullptr), std::exchange(yielded_, nullptr), *this);
    }

    T await_resume() {
        if (error != nullptr) {
            throw_python_exception(std::exchange(error, nullptr));
        }
        return convert_result<T>(py::reinterpret_steal<py::object>(std::exchange(value, nullptr)));
    }

private:
    driver *driver_;
    py::object awaitable_;
    PyObject *iterator_ = nullptr;
    PyObject *yielded_ = nullptr;
};

template <typename T>
struct typed_python_awaitable {
    using result_type = T;
    py::object object;
};

template <typename T>
struct is_typed_python_awaitable : std::false_type {};
template <typename T>
struct is_typed_python_awaitable<typed_python_awaitable<T>> : std::true_type {};

} // namespace detail
PYASYNC_NAMESPACE_END
