#pragma once
/// \file
/// Errors crossing the bridge: `python_error`, `cancelled_error`, and `pyasync.CppError`.

#include <pyasync/config.hpp>
#include <pyasync/detail/source_location.hpp>

#include <exception>
#include <memory>
#include <string>

namespace pyasync {

/// A Python exception seen from C++, keeping its type, value and traceback.
///
/// It is a `pybind11::error_already_set`, so a bound function that lets it escape re-raises the
/// original Python exception, traceback frames included, and a C++ coroutine that lets it escape
/// does the same. Construct it while the Python error indicator is set (it fetches it).
/// GIL: must be held to construct, inspect and destroy it.
class python_error : public py::error_already_set {
public:
    using py::error_already_set::error_already_set;
    /// True when the exception is an instance of `type` (a class or a tuple of classes).
    [[nodiscard]] bool is(py::handle type) const { return matches(type); }
};

/// The cancellation of a C++ coroutine, delivered at its suspension point.
///
/// Thrown by `co_await` when the Python side cancels the coroutine (`Task.cancel()`,
/// `wait_for`, `asyncio.timeout`, ...). Let it escape to re-raise the original
/// `asyncio.CancelledError` (its message kept); catch it to run clean-up (which may await Python
/// again) and then rethrow it or return a value.
///
/// Like `asyncio.CancelledError` (a `BaseException` since Python 3.8), it deliberately does not
/// derive from `std::exception`: a generic `catch (const std::exception &)` must not swallow a
/// cancellation.
class cancelled_error {
public:
    PYASYNC_API cancelled_error();
    /// Wraps a caught `asyncio.CancelledError` (or, under trio, `trio.Cancelled`) instance. GIL held.
    PYASYNC_API explicit cancelled_error(py::object exception);
    /// Copies share the wrapped Python exception (no reference counting: any thread, no GIL).
    cancelled_error(const cancelled_error &) = default;
    cancelled_error(cancelled_error &&) noexcept = default;            ///< takes the wrapped exception
    cancelled_error &operator=(const cancelled_error &) = default;     ///< as the copy constructor
    cancelled_error &operator=(cancelled_error &&) noexcept = default; ///< as the move constructor
    PYASYNC_API ~cancelled_error();

    /// "cancelled", or "cancelled: <message given to Task.cancel()>".
    [[nodiscard]] const char *what() const noexcept { return message_.c_str(); }
    /// The `asyncio.CancelledError` instance, or an empty (null) object when made in C++. GIL
    /// held to use it; the error itself may be copied and dropped on any thread.
    [[nodiscard]] PYASYNC_API const py::object &exception() const noexcept;

private:
    std::shared_ptr<py::object> exception_;
    std::string message_;
};

/// The Python class `pyasync.CppError` (a subclass of `RuntimeError`) raised for a C++ exception
/// that is not a `std::exception` and that no pybind11 translator knows. Shared by every module
/// built with pyasync in the process (it lives in the `pyasync` module). GIL held.
PYASYNC_API py::handle cpp_error_type();

namespace detail {
/// Throws the C++ form of the Python exception instance `exception` (a new reference, consumed):
/// `cancelled_error` for `asyncio.CancelledError`, `python_error` otherwise. GIL held.
[[noreturn]] PYASYNC_API void throw_python_exception(PyObject *exception);

/// Sets the Python error indicator from a C++ exception escaping the coroutine `coroutine_name`
/// (may be nullptr): Python exceptions are restored as they were; C++ ones go through pybind11's
/// translators, get a note naming their origin, and fall back to `pyasync.CppError`. GIL held.
PYASYNC_API void raise_in_python(const std::exception_ptr &error, const detail::source_location &origin,
                                 const char *coroutine_name) noexcept;

/// The normalized exception instance currently set (a new reference; the indicator is cleared).
PYASYNC_API PyObject *fetch_exception() noexcept;

/// A type's readable name from its `typeid(...).name()` (the mangled name when demangling
/// fails). Any thread, no GIL. Used wherever a C++ exception's type is shown.
PYASYNC_API std::string demangle(const char *mangled);
} // namespace detail

} // namespace pyasync
