// Running one case: its context, capture, timeout, the exceptions it lets escape, and the
// checks after it; its verdict. Async cases on asyncio and trio: async_case.cpp.
#include "case_executor.hpp"

#include "case_clock.hpp"
#include "runner.hpp"
#include "session_loop.hpp"

#include <pyasync/detail/module_state.hpp>
#include <pyasync/testing/assertions.hpp>

#include <cstdio>
#include <unistd.h>

namespace pyasync::testing::detail {
namespace {

/// The process that runs the cases (set when the executor is made): a forked child that returns
/// into the harness is any other.
pid_t owner_process = 0;

/// Sets the case variable to `id` in the current context for the scope's life (a sync case).
class case_context_scope {
public:
    explicit case_context_scope(int id) : token_(PyContextVar_Set(case_variable().ptr(), py::int_(id).ptr())) {}
    case_context_scope(const case_context_scope &) = delete;
    case_context_scope &operator=(const case_context_scope &) = delete;
    ~case_context_scope() {
        if (token_ != nullptr) {
            PyContextVar_Reset(case_variable().ptr(), token_);
            Py_DECREF(token_);
        }
        PyErr_Clear();
    }

private:
    PyObject *token_;
};

enum class harness_signal { none, fatal, skip };

/// Whether `error` is a REQUIRE's fatal_failure or a PYASYNC_SKIP that crossed Python, where the
/// bridge made it a pyasync.CppError naming the C++ type (neither is a std::exception).
harness_signal translated_harness_signal(const py::error_already_set &error) {
    if (!error.matches(pyasync::detail::state().cpp_error)) {
        return harness_signal::none;
    }
    static const std::string fatal_name = pyasync::detail::demangle(typeid(fatal_failure).name());
    static const std::string skip_name = pyasync::detail::demangle(typeid(skip_case).name());
    const std::string text = error.what();
    const auto names = [&text](const std::string &type) {
        return text.find("C++ exception of type " + type + " ") != std::string::npos;
    };
    return names(fatal_name) ? harness_signal::fatal : names(skip_name) ? harness_signal::skip : harness_signal::none;
}

} // namespace

void leave_if_forked(const case_result &result) noexcept {
    if (getpid() == owner_process) {
        return;
    }
    // A case forked without exec, and the child came back here: it must not report this case
    // (its parent does) nor run or serve the next ones. Nothing that flushes is run.
    const std::string text = "pyasync-test: a process forked by " + result.info->full_name() +
                             " returned into the harness; it exits (only the process that started a case reports "
                             "it)\n";
    [[maybe_unused]] const ssize_t written = write(real_stderr_fd(), text.data(), text.size());
    _exit(0);
}

void conclude_case(case_result &result, std::string output) {
    leave_if_forked(result);
    result.output = std::move(output);
    auto &table = results();
    std::lock_guard lock(table.mutex);
    result.finished = true;
    if (result.failures.empty()) {
        // A skip the case caught and went on from is no verdict: only one that ended it counts.
        result.status = result.skip_ended ? outcome::skipped : outcome::passed;
    } else {
        result.status = outcome::failed;
    }
}

case_executor::case_executor(const options &opts, case_hygiene &hygiene) : opts_(opts), hygiene_(hygiene) {
    owner_process = getpid();
}

bool case_executor::capturing() const {
    return opts_.capture && opts_.test_threads == 1;
}

void case_executor::absorb_exception(case_result &result) noexcept {
    try {
        try {
            throw;
        } catch (const fatal_failure &) {
        } catch (const skip_case &skip) {
            result.skip_raised = true;
            result.skip_ended = true;
            result.skip_reason = skip.reason;
        } catch (const py::error_already_set &error) {
            // A REQUIRE (the harness's or Boost's) already failed the case: what escapes now is
            // how it ends it, whatever it became crossing Python. A SKIP inside C++ awaited
            // through Python comes back as pyasync.CppError naming its type; any other Python
            // exception is a failure, even after a skip the case caught and went on from.
            if (result.fatal_raised) {
                return;
            }
            if (const harness_signal signal = translated_harness_signal(error); signal != harness_signal::none) {
                result.skip_ended = signal == harness_signal::skip && result.skip_raised;
                return;
            }
            if (error.matches(PyExc_KeyboardInterrupt) && interrupted_) {
                result.interrupted = true;
                result.fail("interrupted by " + interrupt_reason_);
                return;
            }
            result.fail(failure_location(result) + "a Python exception escaped the case:\n" + python_traceback(error));
        } catch (...) {
            if (result.fatal_raised) {
                return; // as above: Boost's execution_aborted after its REQUIRE failed
            }
            result.fail(failure_location(result) + "an exception escaped the case: " + describe_current_exception());
        }
    } catch (...) { // recording the failure failed (out of memory): the verdict stays a failure
        result.status = outcome::failed;
    }
}

void case_executor::judge_by_the_clock(case_result &result, std::optional<double> limit, double ran, const char *how) {
    if (!limit || result.timed_out || result.interrupted || ran <= *limit) {
        return;
    }
    result.timed_out = true;
    result.fail(failure_location(result) + "timed out after " + format_seconds(*limit) + " (it ran " +
                format_seconds(ran) + ", over by " + format_seconds(ran - *limit) + "); " + how);
}

// ---- sync cases --------------------------------------------------------------------------

void case_executor::run_sync(const case_info &info, case_result &result, py::handle loop,
                             std::function<void()> before_abort) {
    {
        auto &table = results();
        std::lock_guard lock(table.mutex);
        table.sync_case = result.id;
    }
    std::optional<output_capture> capture;
    if (capturing()) {
        capture.emplace();
        capture->start();
        sync_capture_ = &*capture;
    }
    const std::size_t unawaited = hygiene_.unawaited_mark();
    const auto limit = time_limit(info, opts_);
    if (limit) {
        watchdog_.arm(*limit, info.full_name() + ": sync case exceeded its timeout of " + format_seconds(*limit),
                      [this, &result, limit, before_abort = std::move(before_abort)] {
                          if (sync_capture_ != nullptr) {
                              sync_capture_->release_to_stderr();
                          }
                          result.fail(failure_location(result) + "timed out after " + format_seconds(*limit) +
                                      " (sync case: stopped by the watchdog; stacks on stderr)");
                          result.status = outcome::failed;
                          before_abort();
                      });
    }
    const auto start = case_clock::now();
    {
        case_context_scope context(result.id);
        in_sync_case_ = true;
        try {
            info.invoker->run_sync(loop);
        } catch (...) {
            absorb_exception(result);
        }
        in_sync_case_ = false;
        result.seconds = seconds_since(start);
        watchdog_.disarm();
    }
    judge_by_the_clock(result, limit, result.seconds, "it returned before the watchdog stopped it");
    try {
        hygiene_.check_unawaited_coroutines(result, unawaited);
    } catch (...) {
        absorb_exception(result);
    }
    sync_capture_ = nullptr;
    conclude_case(result, capture ? capture->stop() : std::string());
}

// ---- interruption ------------------------------------------------------------------------

void case_executor::interrupt(py::handle loop, std::string reason) {
    interrupted_ = true;
    interrupt_reason_ = std::move(reason);
    // The handler runs inside the selector's retry loop: cancelling here would not wake the loop
    // from a long select(). call_soon_threadsafe writes the loop's self-pipe, so it wakes.
    if (loop && !running_tasks_.empty()) {
        loop.attr("call_soon_threadsafe")(py::cpp_function([this] {
            for (PyObject *running : running_tasks_) {
                py::handle(running).attr("cancel")(py::str("pyasync-test: interrupted"));
            }
        }));
    }
    if (trio_token_ && !running_trio_scopes_.empty()) {
        // As above: the handler runs inside trio's wait for I/O; run_sync_soon wakes the run.
        try {
            trio_token_.attr("run_sync_soon")(py::cpp_function([this] {
                for (PyObject *scope : running_trio_scopes_) {
                    py::handle(scope).attr("cancel")();
                }
            }));
        } catch (py::error_already_set &error) {
            if (!error.matches(py::module_::import("trio").attr("RunFinishedError"))) {
                std::fprintf(stderr, "pyasync-test: cancelling the trio cases failed: %s\n", error.what());
            } // else the run ended meanwhile, with its cases
        }
    }
    if (in_sync_case_) {
        PyErr_SetNone(PyExc_KeyboardInterrupt);
        throw py::error_already_set();
    }
}

} // namespace pyasync::testing::detail
