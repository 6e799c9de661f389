#pragma once
/// \file
/// Asio interop. Inside a `pyasync::task`:
///   - `co_await timer.async_wait(pyasync::use_task)`: any Asio asynchronous operation;
///   - `co_await some_asio_awaitable()`: an `asio::awaitable<T>`, run on the default runtime.
/// From Python, a bound function returning `asio::awaitable<T>` is a coroutine function, and
/// `pyasync::future_into_py(awaitable)` starts one now.
///
/// Not part of `pyasync/pyasync.hpp` (Asio's headers are heavy): include it where you use Asio.

#include <pyasync/asio_runtime.hpp>
#include <pyasync/coroutine.hpp>
#include <pyasync/detail/runtime_operation.hpp>
#include <pyasync/future_into_py.hpp>

#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <asio/strand.hpp>

// Asio does not detect co_await under Clang with libstdc++ (pyasync::bridge's CMake target defines it).
#if !defined(ASIO_HAS_CO_AWAIT)
#    error "pyasync/asio.hpp needs Asio's co_await: define ASIO_HAS_CO_AWAIT=1 for every file (Clang)"
#endif

#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>

namespace pyasync {

/// The completion token that makes an Asio operation awaitable in a `pyasync::task`:
/// `std::size_t n = co_await socket.async_read_some(buffer, pyasync::use_task);`
///
/// Lazy: the operation starts at `co_await`. Its handler runs on the operation's executor
/// without the GIL and completes through the loop's completion queue (or, for a frame away
/// after `resume_on`, resumes the frame right there). The result is what the completion
/// signature carries after its error: nothing, one value, or a `std::tuple` of several. A
/// non-zero `std::error_code` is thrown as `std::system_error` (Python sees `OSError`, with the
/// errno subclass such as `ConnectionRefusedError`); an `std::exception_ptr` is rethrown.
///
/// Cancelling the awaiting Task emits Asio's terminal cancellation to the operation, on the
/// operation's executor, and the frame resumes with `cancelled_error` **once the operation has
/// completed**: the I/O objects a frame owns are never destroyed under a running operation. An
/// operation without per-operation cancellation runs to its end first.
struct use_task_t {
    constexpr use_task_t() noexcept = default;
};
/// The completion token itself: `co_await socket.async_read_some(buffer, pyasync::use_task)`.
inline constexpr use_task_t use_task{};

namespace detail {

template <typename... Values>
struct asio_values {
    using type = std::tuple<Values...>;
};
template <>
struct asio_values<> {
    using type = void;
};
template <typename Value>
struct asio_values<Value> {
    using type = Value;
};

/// A completion signature split into its leading error (if any) and the values after it.
template <typename Signature>
struct asio_signature;
template <typename... Args>
struct asio_signature<void(Args...)> {
    using error = void;
    using result = typename asio_values<std::decay_t<Args>...>::type;
};
template <typename... Args>
struct asio_signature<void(std::error_code, Args...)> {
    using error = std::error_code;
    using result = typename asio_values<std::decay_t<Args>...>::type;
};
template <typename... Args>
struct asio_signature<void(const std::error_code &, Args...)> : asio_signature<void(std::error_code, Args...)> {};
template <typename... Args>
struct asio_signature<void(std::exception_ptr, Args...)> {
    using error = std::exception_ptr;
    using result = typename asio_values<std::decay_t<Args>...>::type;
};

/// The cancellation signal bound to one operation. Emitted on the operation's executor when it
/// has one (Asio's rule: cancellation is not thread-safe), and never after the operation
/// completed: the handler clears the slot under the same lock, so a late emission cannot reach
/// an I/O object that the resumed frame has since destroyed.
class asio_cancellation final : public abandon_hook, public std::enable_shared_from_this<asio_cancellation> {
public:
    void set_executor(asio::any_io_executor executor) { executor_ = std::move(executor); }
    [[nodiscard]] asio::cancellation_slot slot() noexcept { return signal_.slot(); }

    void on_abandon() noexcept override {
        if (!executor_) {
            emit();
            return;
        }
        try {
            asio::post(*executor_, [self = shared_from_this()] { self->emit(); });
        } catch (...) {
            emit(); // no memory to post: emit here rather than never
        }
    }
    /// The operation's handler, before anything else: no emission after this.
    void finish() noexcept {
        const std::lock_guard lock(mutex_);
        finished_ = true;
        signal_.slot().clear();
    }

private:
    void emit() noexcept {
        const std::lock_guard lock(mutex_);
        if (!finished_) {
            signal_.emit(asio::cancellation_type::terminal);
        }
    }

    std::mutex mutex_;
    bool finished_ = false;
    asio::cancellation_signal signal_;
    std::optional<asio::any_io_executor> executor_;
};

/// The handler `use_task` gives an Asio operation: holds the work's reference, stores the
/// outcome and completes the operation once; releases it if Asio destroys it uninvoked.
template <typename Signature>
class asio_handler {
public:
    using result = typename asio_signature<Signature>::result;
    using cancellation_slot_type = asio::cancellation_slot;

    asio_handler(runtime_operation<result> *operation, std::shared_ptr<asio_cancellation> cancellation) noexcept
            : operation_(operation), cancellation_(std::move(cancellation)) {}
    asio_handler(asio_handler &&other) noexcept
            : operation_(std::exchange(other.operation_, nullptr)), cancellation_(std::move(other.cancellation_)) {}
    asio_handler &operator=(asio_handler &&) = delete;
    ~asio_handler() {
        if (operation_ != nullptr) {
            operation_->release();
        }
    }

    [[nodiscard]] cancellation_slot_type get_cancellation_slot() const noexcept { return cancellation_->slot(); }

    template <typename... Args>
    void operator()(Args &&...args) {
        cancellation_->finish();
        runtime_operation<result> *operation = std::exchange(operation_, nullptr);
        store(*operation, std::forward<Args>(args)...);
        operation->complete();
    }

private:
    using error_type = typename asio_signature<Signature>::error;

    template <typename... Args>
    static void store(runtime_operation<result> &operation, Args &&...args) noexcept {
        try {
            if constexpr (std::is_void_v<error_type>) {
                store_values(operation, std::forward<Args>(args)...);
            } else {
                store_after_error(operation, std::forward<Args>(args)...);
            }
        } catch (...) {
            operation.error = std::current_exception();
        }
    }
    template <typename Error, typename... Values>
    static void store_after_error(runtime_operation<result> &operation, Error &&error, Values &&...values) {
        if constexpr (std::is_same_v<error_type, std::exception_ptr>) {
            if (error) {
                operation.error = error;
                return;
            }
        } else if (error) {
            operation.error = std::make_exception_ptr(std::system_error(error));
            return;
        }
        store_values(operation, std::forward<Values>(values)...);
    }
    template <typename... Values>
    static void store_values(runtime_operation<result> &operation, Values &&...values) {
        if constexpr (!std::is_void_v<result>) {
            operation.slot.value.emplace(std::forward<Values>(values)...);
        }
    }

    runtime_operation<result> *operation_;
    std::shared_ptr<asio_cancellation> cancellation_;
};

/// Starts `initiation` with a `use_task` handler for `operation`, binding its cancellation.
template <typename Signature, typename Initiation, typename... Args>
void launch_asio(runtime_operation<typename asio_signature<Signature>::result> *operation, Initiation &initiation,
                 std::tuple<Args...> &args) {
    auto cancellation = std::make_shared<asio_cancellation>();
    if constexpr (requires { asio::any_io_executor(initiation.get_executor()); }) {
        cancellation->set_executor(asio::any_io_executor(initiation.get_executor()));
    }
    operation->hook = cancellation;
    std::apply(
        [&](auto &...arguments) {
            std::move(initiation)(asio_handler<Signature>(operation, std::move(cancellation)), std::move(arguments)...);
        },
        args);
}

/// `co_await some_awaitable()` in a task: co-spawned on a strand of the default runtime, so
/// its cancellation (emitted on that strand) never races the coroutine.
template <typename T, typename Executor>
auto await_asio_awaitable(asio::awaitable<T, Executor> &&awaitable) {
    return asio::co_spawn(asio::make_strand(asio_executor()), std::move(awaitable), use_task);
}

template <typename T, typename Executor>
task<T> asio_awaitable_task(asio::awaitable<T, Executor> awaitable) {
    co_return co_await std::move(awaitable);
}
template <typename Executor>
task<void> asio_awaitable_task(asio::awaitable<void, Executor> awaitable) {
    co_await std::move(awaitable);
}

} // namespace detail

/// `co_await` of an `asio::awaitable<T>` inside a `pyasync::task` (see `detail::foreign_awaitable`).
template <typename T, typename Executor>
struct detail::foreign_awaitable<asio::awaitable<T, Executor>> {
    static auto adapt(asio::awaitable<T, Executor> &&awaitable) {
        return detail::await_asio_awaitable(std::move(awaitable));
    }
};

/// Starts `awaitable` on the default runtime **now** and returns the `asyncio.Task` that
/// completes with its converted result (as `future_into_py(task)`). Loop thread, GIL held.
template <typename T, typename Executor>
py::object future_into_py(asio::awaitable<T, Executor> &&awaitable, runtime &engine = default_runtime()) {
    return future_into_py(detail::asio_awaitable_task(std::move(awaitable)), engine);
}

} // namespace pyasync

// Specialisations of Asio's and pybind11's templates: what they do is said in this file's
// comment and `use_task`'s; Doxygen cannot place them in a namespace of this project.
/// \cond INTERNAL

/// `use_task` as an Asio completion token: `initiate` returns the lazy awaiter.
template <typename Signature>
struct asio::async_result<pyasync::use_task_t, Signature> {
    using result = typename pyasync::detail::asio_signature<Signature>::result;

    template <typename Initiation, typename... Args>
    static auto initiate(Initiation initiation, pyasync::use_task_t, Args... args) {
        return pyasync::detail::make_operation_awaiter<result>(
            "pyasync::use_task",
            [initiation = std::move(initiation), args = std::tuple<Args...>(std::move(args)...)](
                pyasync::detail::runtime_operation<result> *operation) mutable {
                pyasync::detail::launch_asio<Signature>(operation, initiation, args);
            },
            pyasync::detail::on_cancel::wait_for_the_work);
    }
};

/// A bound function returning `asio::awaitable<T>` is a Python coroutine function: the call
/// returns a lazy coroutine object; awaiting it runs the awaitable on a strand of the default
/// runtime and resumes on the loop with the converted result.
template <typename T, typename Executor>
struct pybind11::detail::type_caster<asio::awaitable<T, Executor>> {
private:
    using result_caster = make_caster<std::conditional_t<std::is_void_v<T>, void_type, T>>;
    using awaitable_type = asio::awaitable<T, Executor>; // one macro argument, no comma

public:
    PYBIND11_TYPE_CASTER(awaitable_type, const_name("Awaitable[") + result_caster::name + const_name("]"));
    bool load(handle, bool) { return false; } // a Python awaitable cannot become an Asio one
    static handle cast(asio::awaitable<T, Executor> &&source, return_value_policy, handle parent) {
        return pyasync::make_coroutine(pyasync::detail::asio_awaitable_task(std::move(source)), {}, parent).release();
    }
};
/// \endcond
