// Running an async case: as an asyncio Task on the session loop (its context, the timeout's
// cancellation, the grace period, the watchdog of a loop that never comes back), or under trio
// in a cancel scope whose deadline is its timeout; then the checks after it.
#include "case_clock.hpp"
#include "case_executor.hpp"
#include "loop_errors.hpp"
#include "runner.hpp"
#include "session_loop.hpp"

#include <pyasync/await.hpp>
#include <pyasync/coroutine.hpp>
#include <pyasync/detail/module_state.hpp>
#include <pyasync/detail/schedule.hpp>

namespace pyasync::testing::detail {
namespace {

/// Offers `restart` (which gives a case its time limit afresh) to explore_schedules while the
/// case runs, whichever way it ends (each schedule run has the whole limit).
class limit_offered {
public:
    limit_offered(const std::function<void()> *&slot, const std::function<void()> &restart, bool exploring)
            : slot_(slot) {
        slot_ = exploring && restart ? &restart : nullptr;
    }
    limit_offered(const limit_offered &) = delete;
    limit_offered &operator=(const limit_offered &) = delete;
    ~limit_offered() { slot_ = nullptr; }

private:
    const std::function<void()> *&slot_;
};

/// A copy of the current context in which the case variable is `id`: an async case's Task
/// runs in it, so assertions find their case however many run at once.
py::object context_for_case(int id) {
    py::object context = py::reinterpret_steal<py::object>(PyContext_CopyCurrent());
    PyContext_Enter(context.ptr());
    PyObject *token = PyContextVar_Set(case_variable().ptr(), py::int_(id).ptr());
    Py_XDECREF(token);
    PyContext_Exit(context.ptr());
    return context;
}

/// Sets the result of a case's `done` future unless it has one (the grace timer, or the case's
/// own Task, came first).
void resolve_done(py::handle done) {
    const pyasync::detail::module_state &names = pyasync::detail::state();
    py::object is_done = py::reinterpret_steal<py::object>(PyObject_CallMethodNoArgs(done.ptr(), names.str_done));
    if (!is_done) {
        throw py::error_already_set();
    }
    if (is_done.ptr() == Py_False) {
        PyObject *set = PyObject_CallMethodOneArg(done.ptr(), names.str_set_result, Py_None);
        if (set == nullptr) {
            throw py::error_already_set();
        }
        Py_DECREF(set);
    }
}

/// What every async case asks of Python, made once: attribute names, `asyncio.current_task`,
/// and the done callback that resolves a case's `done` future. Before, each case built these
/// (a pybind11 function object, a str per attribute lookup): a tenth of a trivial case's cost.
/// Leaked on purpose: nothing may be released after the interpreter is finalised. GIL held.
struct case_objects {
    PyObject *create_task, *create_future, *add_done_callback, *remove_done_callback, *kwnames_name_context;
    py::object current_task, partial;
    /// resolve(done, task): sets `done`'s result unless the grace timer did already.
    py::object resolve;
};

const case_objects &objects() {
    static const case_objects *made = [] {
        auto intern = [](const char *text) {
            PyObject *name = PyUnicode_InternFromString(text);
            if (name == nullptr) {
                throw py::error_already_set();
            }
            return name;
        };
        auto *o = new case_objects{};
        o->create_task = intern("create_task");
        o->create_future = intern("create_future");
        o->add_done_callback = intern("add_done_callback");
        o->remove_done_callback = intern("remove_done_callback");
        o->kwnames_name_context = py::make_tuple("name", "context").release().ptr();
        o->current_task = py::module_::import("asyncio").attr("current_task");
        o->partial = py::module_::import("functools").attr("partial");
        o->resolve = py::cpp_function([](py::handle done, py::handle) { resolve_done(done); });
        return o;
    }();
    return *made;
}

/// `loop.create_task(coroutine, name=name, context=context)`, without a kwargs dict.
py::object create_case_task(py::handle loop, py::object coroutine, const std::string &name, py::object context) {
    const py::str task_name(name);
    PyObject *args[] = {loop.ptr(), coroutine.ptr(), task_name.ptr(), context.ptr()};
    PyObject *created = PyObject_VectorcallMethod(objects().create_task, args, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                                  objects().kwnames_name_context);
    if (created == nullptr) {
        throw py::error_already_set();
    }
    return py::reinterpret_steal<py::object>(created);
}

py::object call_method(py::handle self, PyObject *name) {
    PyObject *result = PyObject_CallMethodNoArgs(self.ptr(), name);
    if (result == nullptr) {
        throw py::error_already_set();
    }
    return py::reinterpret_steal<py::object>(result);
}

} // namespace

task<> case_executor::case_body(const case_info &info, case_result &result, py::object done, py::object fallback,
                                py::object trio_scope) {
    bool cancelled = false;
    std::string cancel_message;
    try {
        co_await run_body(info, result);
    } catch (const cancelled_error &error) {
        cancelled = true;
        cancel_message = error.what();
    } catch (...) {
        absorb_exception(result);
    }
    // Under trio, a timeout is the deadline of the case's cancel scope: said after the case, by
    // run_async_under_trio, rather than as a cancellation that escaped.
    const bool trio_deadline = trio_scope && !trio_scope.is_none() && trio_scope.attr("cancel_called").cast<bool>();
    if (cancelled && !result.timed_out) {
        if (interrupted_) { // under trio too: Ctrl-C cancels the case's scope
            result.interrupted = true;
            result.fail("interrupted by " + interrupt_reason_);
        } else if (!trio_deadline && !result.fatal_raised) {
            result.fail(failure_location(result) + "the case was cancelled (" + cancel_message +
                        ") and let the cancellation escape");
        }
    }
    result.body_ended = true; // the last use of `result` here
    if (!done) {
        co_return; // under trio: nothing waits on a future
    }
    // Resolved here, inside the case's own step, the batch resumes in the loop's next iteration;
    // through the Task's done callback it took one more (a seventh of a trivial case). The
    // callback stays for a Task cancelled before its first step, where this never runs.
    resolve_done(done);
    // Its fallback, the done callback, would now cost a loop callback per case for nothing.
    PyObject *own_task = PyObject_CallNoArgs(objects().current_task.ptr());
    if (own_task != nullptr && own_task != Py_None) {
        PyObject *removed = PyObject_CallMethodOneArg(own_task, objects().remove_done_callback, fallback.ptr());
        Py_XDECREF(removed);
    }
    Py_XDECREF(own_task);
    PyErr_Clear(); // the callback then runs, and finds `done` resolved
}

task<> case_executor::run_async(const case_info &info, case_result &result, py::handle loop,
                                std::function<void()> before_abort) {
    if (is_trio_session(loop)) {
        co_await run_async_under_trio(info, result);
        co_return;
    }
    std::optional<output_capture> capture;
    if (capturing()) {
        capture.emplace();
        capture->start();
    }
    restore_loop_error_handler(loop);
    const std::size_t unawaited = hygiene_.unawaited_mark();
    const case_objects &python = objects();
    py::object done = call_method(loop, python.create_future);
    py::object resolve = python.partial(python.resolve, done);
    py::object case_task = create_case_task(loop, make_coroutine(case_body(info, result, done, resolve, py::none())),
                                            info.full_name(), context_for_case(result.id));
    case_task.attr(python.add_done_callback)(resolve);
    running_tasks_.insert(case_task.ptr());
    if (interrupted_) { // Ctrl-C came between the batch's check and this case's start
        case_task.attr("cancel")(py::str("pyasync-test: interrupted"));
    }

    // Under exploration the case's own limits are not its code's timers: no schedule makes the
    // runtime's work wait for them (pyasync/detail/schedule.hpp).
    const auto keep_out_of_schedules = [this](const py::object &handle) {
        if (opts_.schedule) {
            pyasync::detail::exempt_from_schedules(handle.ptr());
        }
    };
    py::object timer;
    py::object grace_timer;
    std::optional<watchdog> stuck_loop;
    auto limit_started = case_clock::now();
    const auto limit = time_limit(info, opts_);
    std::function<void()> arm_limit;
    if (limit) {
        py::object on_limit = py::cpp_function([&, limit] {
            if (case_task.attr("done")().cast<bool>()) {
                return;
            }
            const std::string label =
                info.full_name() + " (C++ case at " + info.file + ":" + std::to_string(info.line) + ")";
            const std::string where = hygiene_.describe_suspension(case_task, label);
            result.timed_out = true;
            result.fail(failure_location(result) + "timed out after " + format_seconds(*limit) +
                        "; cancelled through asyncio while suspended at:\n" + where);
            case_task.attr("cancel")(py::str("pyasync-test: timed out"));
            // A case that swallows its cancellation is abandoned after a grace period.
            grace_timer = loop.attr("call_later")(
                opts_.timeout_grace_seconds, py::cpp_function([&] {
                    result.fail("  the case did not finish within " + format_seconds(opts_.timeout_grace_seconds) +
                                " of its cancellation (--timeout-grace): abandoned, its Task still pending");
                    resolve(case_task);
                }));
            keep_out_of_schedules(grace_timer);
        });
        // Armed at the start, and again at each schedule run after the first: each run has the
        // whole limit (explore_schedules).
        arm_limit = [&, limit, on_limit = std::move(on_limit)] {
            if (timer) {
                timer.attr("cancel")();
                if (opts_.schedule) {
                    pyasync::detail::end_exemption(timer.ptr());
                }
            }
            limit_started = case_clock::now();
            timer = loop.attr("call_later")(*limit, on_limit);
            keep_out_of_schedules(timer);
            // The timers above need the loop: one the case blocks for good never runs them.
            stuck_loop.emplace();
            stuck_loop->arm(*limit + 2 * opts_.timeout_grace_seconds,
                            info.full_name() + ": async case overran its timeout of " + format_seconds(*limit) +
                                " and the event loop has not come back within twice the grace period of " +
                                format_seconds(opts_.timeout_grace_seconds) + " (--timeout-grace)",
                            [&result, &capture, limit, before_abort] {
                                if (capture) {
                                    capture->release_to_stderr();
                                }
                                result.timed_out = true;
                                result.fail(failure_location(result) + "timed out after " + format_seconds(*limit) +
                                            " and never gave the event loop back (a blocking call, or a loop that "
                                            "ignores every cancellation without suspending): stopped by the "
                                            "watchdog; stacks on stderr");
                                if (before_abort) {
                                    before_abort();
                                }
                            });
        };
        arm_limit();
    }
    const limit_offered offered(restart_case_limit_, arm_limit, opts_.schedule.has_value());
    const auto start = case_clock::now();
    try {
        co_await await_as<void>(done);
    } catch (const cancelled_error &) {
        // The batch itself was cancelled (Ctrl-C): stop the case and record it.
        case_task.attr("cancel")();
        result.interrupted = true;
        result.fail("interrupted by " + interrupt_reason_);
    }
    result.seconds = seconds_since(start);
    if (stuck_loop) {
        stuck_loop->disarm();
    }
    judge_by_the_clock(result, limit, seconds_since(limit_started),
                       "its cancellation never reached it in time: it blocked the event loop "
                       "(a blocking call on the loop's thread) or finished a swallowed cancellation");
    running_tasks_.erase(case_task.ptr());
    for (py::object *handle : {&timer, &grace_timer}) {
        if (*handle) {
            handle->attr("cancel")();
            if (opts_.schedule) {
                pyasync::detail::end_exemption(handle->ptr());
            }
        }
    }
    try {
        if (opts_.test_threads == 1) {
            // The case's own Task is done; it is listed so the check's fast path can account for it.
            hygiene_.check_leftover_tasks(result, loop, py::make_tuple(python.current_task(), case_task));
        }
        hygiene_.check_unawaited_coroutines(result, unawaited);
    } catch (...) {
        absorb_exception(result);
    }
    conclude_case(result, capture ? capture->stop() : std::string());
}

task<> case_executor::run_async_under_trio(const case_info &info, case_result &result) {
    std::optional<output_capture> capture;
    if (capturing()) {
        capture.emplace();
        capture->start();
    }
    const std::size_t unawaited = hygiene_.unawaited_mark();
    py::module_ trio = py::module_::import("trio");
    py::object scope = trio.attr("CancelScope")();
    const auto limit = time_limit(info, opts_);
    auto limit_started = case_clock::now();
    std::function<void()> arm_limit;
    if (limit) {
        // Armed at the start, and again at each schedule run after the first (explore_schedules).
        arm_limit = [&] {
            limit_started = case_clock::now();
            scope.attr("deadline") = trio.attr("current_time")() + py::float_(*limit);
        };
        arm_limit();
    }
    const limit_offered offered(restart_case_limit_, arm_limit, opts_.schedule.has_value());
    py::object body = make_coroutine(case_body(info, result, py::object(), py::object(), scope));
    const auto start = case_clock::now();
    trio_token_ = trio.attr("lowlevel").attr("current_trio_token")();
    running_trio_scopes_.insert(scope.ptr());
    struct unregister { // also when the frame is destroyed while it waits
        std::set<PyObject *> &scopes;
        PyObject *scope;
        ~unregister() { scopes.erase(scope); }
    } unregister_at_exit{running_trio_scopes_, scope.ptr()};
    if (interrupted_) {
        scope.attr("cancel")(); // Ctrl-C came between the batch's start and this case's
    }
    try {
        co_await await_as<void>(trio_case_runner()(scope, std::move(body), case_variable(), result.id));
    } catch (...) {
        absorb_exception(result);
    }
    result.seconds = seconds_since(start);
    try {
        if (limit && scope.attr("cancel_called").cast<bool>() && !interrupted_) {
            result.timed_out = true;
            result.fail(failure_location(result) + "timed out after " + format_seconds(*limit) +
                        "; cancelled through trio (the deadline of the case's cancel scope)");
        }
        judge_by_the_clock(result, limit, seconds_since(limit_started),
                           "trio never cancelled it in time: it blocked the trio run "
                           "(a blocking call on its thread) or swallowed the cancellation");
        hygiene_.check_unawaited_coroutines(result, unawaited);
    } catch (...) {
        absorb_exception(result);
    }
    conclude_case(result, capture ? capture->stop() : std::string());
}

} // namespace pyasync::testing::detail
