#pragma once
/// \file
/// Awaiting a Python awaitable from a task by delegation (internal; see `pyasync/await.hpp`).

#include <pyasync/detail/driver.hpp>
#include <pyasync/errors.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace pyasync {
namespace detail {

/// The iterator that `await obj` would drive (a new reference), or nullptr with a TypeError that
/// names the type when `obj` is not awaitable.
PYASYNC_API PyObject *get_awaitable_iterator(PyObject *awaitable) noexcept;

/// `get_awaitable_iterator` with its commonest case inline: a Python coroutine is its own
/// iterator. Every `co_await` of one pays no call into libpyasync for it.
inline PyObject *awaitable_iterator(PyObject *awaitable) noexcept {
    return PyCoro_CheckExact(awaitable) ? Py_NewRef(awaitable) : get_awaitable_iterator(awaitable);
}

/// Raises the error for a task awaiting Python without a driver.
[[noreturn]] PYASYNC_API void throw_no_driver(PyObject *awaitable);

/// `PyIter_Send(iterator, value)` counted against Python's recursion limit: a chain of C++
/// coroutines awaiting each other recurses on the C stack once per link, and a chain too deep
/// raises RecursionError ("while driving a C++ coroutine") instead of overflowing the stack.
PYASYNC_API PySendResult send_counted(PyObject *iterator, PyObject *value, PyObject **result);

/// Sends `value` into the iterator a delegation drives. A Python coroutine counts its own frame
/// against the recursion limit (as when Python awaits it), so only other iterators (pyasync's
/// coroutines among them) pay for the count: the guard lives here, where the C stack grows,
/// and not in every coroutine's send, so `await ready(x)` never pays for it.
inline PySendResult send_to_delegate(PyObject *iterator, PyObject *value, PyObject **result) {
    return PyCoro_CheckExact(iterator) ? PyIter_Send(iterator, value, result) : send_counted(iterator, value, result);
}

/// `iterator.throw(exception)` as `yield from` does it. Without a `throw` method the exception is
/// raised in the delegating frame (PYGEN_ERROR with it set). GIL held.
PYASYNC_API PySendResult throw_into(PyObject *iterator, PyObject *exception, PyObject **result);

/// True for an instance of asyncio.CancelledError, or of trio.Cancelled once trio is imported. GIL held.
PYASYNC_API bool is_cancellation(PyObject *exception);

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
            throw py::type_error("pyasync::await_as: the awaitable returned " +
                                 std::string(Py_TYPE(value.ptr())->tp_name) + ", which does not convert to " +
                                 py::type_id<T>());
        }
        return py::detail::cast_op<T>(std::move(caster));
    }
}

/// The awaiter for a Python awaitable inside a task.
///
/// On the loop thread it delegates as `yield from` does: the first send happens in
/// `await_ready` (an awaitable that finishes at once never suspends the C++ frame, and its
/// iterator is released there, as Python's SEND releases its receiver); if it yields, the
/// driver takes the iterator and the yielded value, forwards the value to the Task and routes
/// later sends, throws and the outcome back here.
///
/// Away on a runtime thread it touches no Python object: it hands the awaitable to the loop
/// (`driver::await_from_away`), where it is awaited the same way inside the Task's context; the
/// outcome is converted to C++ on the loop (`settle_on_loop`) and the frame resumes on the
/// runtime.
///
/// Held between the steps, for the destructor: `value` or `error` (an outcome not yet taken),
/// `awaitable_` until the first send (an awaiter never awaited, or one without a driver), and
/// the outcome settled for an await from away (constructed only then: `settle_on_loop` is set).
/// Every co_await pays one inline test of the four (one OR); releasing anything is out of line.
template <typename T>
class python_awaiter : private delegation_target {
public:
    /// `awaitable` is a new reference when `owned`, else borrowed for the `co_await`.
    python_awaiter(driver *d, PyObject *awaitable, bool owned) noexcept
            : driver_(d), awaitable_(awaitable), owned_(owned) {}
    python_awaiter(const python_awaiter &) = delete;
    python_awaiter &operator=(const python_awaiter &) = delete;
    /// Moved only before the first step (out of `await_transform`): nothing settled away yet.
    python_awaiter(python_awaiter &&other) noexcept
            : delegation_target(std::exchange(static_cast<delegation_target &>(other), {})), driver_(other.driver_),
              awaitable_(std::exchange(other.awaitable_, nullptr)), owned_(other.owned_) {}
    ~python_awaiter() {
        const std::uintptr_t held = reinterpret_cast<std::uintptr_t>(value) | reinterpret_cast<std::uintptr_t>(error) |
                                    reinterpret_cast<std::uintptr_t>(awaitable_) |
                                    reinterpret_cast<std::uintptr_t>(settle_on_loop);
        if (held != 0) [[unlikely]] {
            release_held();
        }
    }

    bool await_ready() {
        if (driver_ == nullptr) [[unlikely]] {
            throw_no_driver(awaitable_);
        }
        if (driver_->away()) [[unlikely]] {
            return false; // await_suspend hands awaitable_ to the loop
        }
        PyObject *iterator = nullptr;
        PySendResult status = PYGEN_ERROR;
        if (owned_ && PyCoro_CheckExact(awaitable_)) {
            // A coroutine is its own iterator: ours takes the reference over (no count change),
            // and a coroutine counts its own frame against the recursion limit.
            iterator = std::exchange(awaitable_, nullptr);
            status = PyIter_Send(iterator, Py_None, &value);
        } else {
            iterator = awaitable_iterator(awaitable_);
            drop_awaitable(); // the iterator holds what it needs, as after Python's GET_AWAITABLE
            if (iterator == nullptr) {
                error = fetch_exception();
                return true;
            }
            status = send_to_delegate(iterator, Py_None, &value);
        }
        if (status == PYGEN_NEXT) {
            driver_->delegate(iterator, std::exchange(value, nullptr), *this);
            return false;
        }
        if (status == PYGEN_ERROR) {
            error = fetch_exception(); // before the release, which may run a finalizer
        }
        Py_DECREF(iterator);
        return true;
    }

    void await_suspend(std::coroutine_handle<> waiter_handle) noexcept {
        waiter = waiter_handle;
        if (awaitable_ != nullptr) { // away: the loop awaits it for us
            std::construct_at(&away_.settled);
            settle_on_loop = &settle_for_away;
            driver_->await_from_away(std::exchange(awaitable_, nullptr), owned_, *this);
        } // else await_ready made the driver delegate to the iterator
    }

    T await_resume() {
        if (value != nullptr) [[likely]] {
            return convert_result<T>(py::reinterpret_steal<py::object>(std::exchange(value, nullptr)));
        }
        return resume_without_value();
    }

private:
    /// An error, or an outcome settled away (a converted value, or none for `void`).
    T resume_without_value() {
        if (settle_on_loop != nullptr) {
            if (away_.settled.error) {
                std::rethrow_exception(away_.settled.error);
            }
            if constexpr (!std::is_void_v<T> && !std::is_same_v<T, py::object>) {
                if (away_.settled.value) {
                    return std::move(*away_.settled.value);
                }
            }
        }
        if (error != nullptr) {
            throw_python_exception(std::exchange(error, nullptr));
        }
        // Only `void` comes here without an error: its outcome away was settled as nothing.
        return convert_result<T>(py::reinterpret_steal<py::object>(std::exchange(value, nullptr)));
    }

    void drop_awaitable() noexcept {
        PyObject *awaitable = std::exchange(awaitable_, nullptr);
        if (owned_) {
            Py_DECREF(awaitable);
        }
    }

    /// After an await from away, on the runtime thread: `value`, `error` and `awaitable_` are
    /// null then (settled on the loop), so nothing here needs the GIL.
    [[gnu::noinline]] void release_held() noexcept {
        Py_XDECREF(value);
        Py_XDECREF(error);
        if (owned_) {
            Py_XDECREF(awaitable_);
        }
        if (settle_on_loop != nullptr) {
            std::destroy_at(&away_.settled);
        }
    }

    /// Loop thread, GIL held: turns the outcome into C++ before the frame resumes away. A
    /// `py::object` result stays a reference for the frame (which needs the GIL to use it).
    static void settle_for_away(delegation_target *self) noexcept {
        auto &awaiter = static_cast<python_awaiter &>(*self);
        try {
            if (awaiter.error != nullptr) {
                throw_python_exception(std::exchange(awaiter.error, nullptr));
            }
            if constexpr (std::is_void_v<T>) {
                Py_CLEAR(awaiter.value);
            } else if constexpr (!std::is_same_v<T, py::object>) {
                awaiter.away_.settled.value.emplace(
                    convert_result<T>(py::reinterpret_steal<py::object>(std::exchange(awaiter.value, nullptr))));
            }
        } catch (...) {
            awaiter.away_.settled.error = std::current_exception();
        }
    }

    struct no_value {};
    struct outcome {
        std::optional<std::conditional_t<std::is_void_v<T> || std::is_same_v<T, py::object>, no_value, T>> value;
        std::exception_ptr error;
    };

    /// Storage for the outcome of an await from away, constructed by `await_suspend` only then:
    /// every other co_await pays neither its construction nor its destruction.
    union away_slot {
        // Not `= default`: a union's defaulted constructor and destructor are deleted when a
        // member's are not trivial (an exception_ptr's are not).
        away_slot() noexcept {} // NOLINT(modernize-use-equals-default)
        ~away_slot() {}         // NOLINT(modernize-use-equals-default)
        outcome settled;
    };

    driver *driver_;
    PyObject *awaitable_;
    bool owned_;
    away_slot away_;
};

/// What `pyasync::await_as<T>(obj)` returns: the awaitable (owned or borrowed) and the type.
template <typename T>
struct typed_python_awaitable {
    using result_type = T;
    PyObject *object = nullptr;
    bool owned = false;
    typed_python_awaitable(PyObject *awaitable, bool owns) noexcept : object(awaitable), owned(owns) {}
    typed_python_awaitable(typed_python_awaitable &&other) noexcept
            : object(std::exchange(other.object, nullptr)), owned(other.owned) {}
    typed_python_awaitable(const typed_python_awaitable &) = delete;
    typed_python_awaitable &operator=(const typed_python_awaitable &) = delete;
    ~typed_python_awaitable() {
        if (owned) {
            Py_XDECREF(object);
        }
    }
};

template <typename T>
struct is_typed_python_awaitable : std::false_type {};
template <typename T>
struct is_typed_python_awaitable<typed_python_awaitable<T>> : std::true_type {};

} // namespace detail
} // namespace pyasync
