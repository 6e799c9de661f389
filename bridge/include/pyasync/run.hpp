#pragma once
/// \file
/// Applications: `pyasync::run`, `pyasync::run_until_complete`, `pyasync::main`, `PYASYNC_MAIN`.
///
/// Python's asyncio must own the main thread (signals, Ctrl-C). These helpers start a loop on
/// the calling thread and drive a C++ task on it; C++ resumed there runs with the GIL held.

#include <pyasync/coroutine.hpp>
#include <pyasync/errors.hpp>

#include <pybind11/embed.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pyasync {

/// How `run` and `main` make their loop.
struct run_options {
    /// "asyncio" (or empty): `asyncio.new_event_loop`; "uvloop"; or "module:callable" returning a
    /// new loop. For `pyasync::main` the environment variable `PYASYNC_LOOP` overrides it.
    std::string loop_factory;
    /// asyncio debug mode (`loop.set_debug(True)`).
    bool debug = false;
};

/// The loop factory named by `spec` (None for asyncio's default). Throws `py::value_error`
/// naming the accepted forms when `spec` is unknown, `python_error` when the import fails.
PYASYNC_API py::object resolve_loop_factory(const std::string &spec);

namespace detail {
template <typename T>
struct run_outcome {
    std::optional<std::conditional_t<
        std::is_void_v<T>, bool,
        std::conditional_t<std::is_reference_v<T>, std::reference_wrapper<std::remove_reference_t<T>>, T>>>
        value;
    std::exception_ptr failure;
};

/// Awaits `work` and keeps its C++ value or exception for the caller of `run`; a cancellation
/// propagates so that asyncio.Runner turns Ctrl-C into KeyboardInterrupt. The outcome is shared:
/// when the loop stops before `work` is done (a `loop.stop()` inside it), the caller has returned
/// with the error and `work` may still finish later, when the loop runs again to close.
template <typename T>
task<void> keep_outcome(task<T> work, std::shared_ptr<run_outcome<T>> outcome) {
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(work);
            outcome->value.emplace(true);
        } else {
            outcome->value.emplace(co_await std::move(work));
        }
    } catch (const cancelled_error &) {
        throw;
    } catch (...) {
        outcome->failure = std::current_exception();
    }
}

/// Runs `coroutine` with asyncio.Runner (a new loop on this thread, then cancel leftovers,
/// shutdown_asyncgens, shutdown_default_executor, close) and returns its result. Throws
/// `python_error`.
PYASYNC_API py::object run_with_runner(const py::object &coroutine, const run_options &options);
/// The same with the loop factory given as an object (None: asyncio's) and asyncio's `debug`
/// (None: the default); what `pyasync.run` calls.
PYASYNC_API py::object run_with_runner(const py::object &coroutine, const py::object &loop_factory,
                                       const py::object &debug);
/// `loop.run_until_complete(coroutine)`. Throws `python_error`.
PYASYNC_API void run_on_loop(py::handle loop, const py::object &coroutine);

template <typename T>
T take_outcome(run_outcome<T> &outcome) {
    if (outcome.failure) {
        std::rethrow_exception(outcome.failure);
    }
    if constexpr (std::is_reference_v<T>) {
        return outcome.value->get();
    } else if constexpr (!std::is_void_v<T>) {
        return std::move(*outcome.value);
    }
}

/// Exit status for an error escaping `main` (prints the Python traceback to stderr).
PYASYNC_API int report_main_error(const std::exception_ptr &error) noexcept;
/// The loop factory for `main`: `PYASYNC_LOOP` when set, else `options.loop_factory`.
PYASYNC_API run_options main_options(run_options options);
} // namespace detail

/// Runs `work` to completion on a new event loop on the calling thread and returns its value.
///
/// Eager: blocks until done. Like `asyncio.run`: a fresh loop, then remaining tasks cancelled,
/// `shutdown_asyncgens`, `shutdown_default_executor` and `close`; repeatable. C++ exceptions come
/// back with their C++ type; Python ones as `python_error`; Ctrl-C (main thread) cancels `work`
/// and throws `python_error` holding KeyboardInterrupt. GIL held by the caller, no loop running.
template <typename T>
T run(task<T> work, const run_options &options = {}) {
    auto outcome = std::make_shared<detail::run_outcome<T>>();
    detail::run_with_runner(make_coroutine(detail::keep_outcome(std::move(work), outcome), {}), options);
    return detail::take_outcome(*outcome);
}

/// Runs `work` on the existing, not running, `loop` (`loop.run_until_complete`) and returns its
/// value. The loop is left open. GIL held by the caller.
template <typename T>
T run_until_complete(py::handle loop, task<T> work) {
    auto outcome = std::make_shared<detail::run_outcome<T>>();
    detail::run_on_loop(loop, make_coroutine(detail::keep_outcome(std::move(work), outcome), {}));
    return detail::take_outcome(*outcome);
}

/// A whole program: starts the interpreter (signal handlers installed, `sys.argv` set), gives
/// the main thread to asyncio, runs `entry` and returns the exit status: the `int` the task
/// returns (clamped to 0..255), 0 for `task<void>`, 1 after printing the Python traceback of an
/// error, 130 after Ctrl-C. `entry` is callable as `entry(std::vector<std::string> args)` or
/// `entry()` and returns `task<int>` or `task<void>`.
template <typename Entry>
int main(int argc, char **argv, Entry &&entry, run_options options = {}) {
    py::scoped_interpreter interpreter{true, argc, argv};
    try {
        const run_options effective = detail::main_options(std::move(options));
        auto start = [&] {
            if constexpr (std::is_invocable_v<Entry &, std::vector<std::string>>) {
                return entry(std::vector<std::string>(argv, argv + argc));
            } else {
                return entry();
            }
        };
        using result = typename decltype(start())::value_type;
        static_assert(std::is_void_v<result> || std::is_convertible_v<result, int>,
                      "pyasync::main: the entry coroutine must return task<int> or task<void>");
        // Errors travel as Python exceptions here (not as C++ ones, as `run` keeps them), so the
        // printed traceback carries the C++ origin note and the Python frames.
        py::object status = detail::run_with_runner(make_coroutine(start()), effective);
        if constexpr (std::is_void_v<result>) {
            return 0;
        } else {
            const int code = status.cast<int>();
            return code < 0 ? 1 : (code > 255 ? 255 : code);
        }
    } catch (...) {
        return detail::report_main_error(std::current_exception());
    }
}

} // namespace pyasync

/// Defines `int main(int, char **)` running the coroutine function `entry` with asyncio owning
/// the main thread (see `pyasync::main`). Example:
///
///     pyasync::task<int> app(std::vector<std::string> args) { co_await pyasync::sleep(0.1); co_return 0; }
///     PYASYNC_MAIN(app)
#define PYASYNC_MAIN(entry)                                                                                            \
    int main(int argc, char **argv) {                                                                                  \
        return ::pyasync::main(argc, argv, entry);                                                                     \
    }
