// Running cases in this process: the interpreter, the loop on the main thread, async cases as
// asyncio Tasks, sync cases while the loop is idle, timeouts, capture, fixtures, Ctrl-C.
#include "capture.hpp"
#include "runner.hpp"

#include <pyasync/await.hpp>
#include <pyasync/coroutine.hpp>
#include <pyasync/testing/assertions.hpp>
#include <pyasync/gather.hpp>
#include <pyasync/run.hpp>

#include <chrono>
#include <csignal>
#include <map>
#include <set>
#include <unistd.h>

namespace pyasync::testing::detail {

case_result &run_record::add(const case_info &info, int iteration) {
    auto &table = detail::results();
    std::lock_guard lock(table.mutex);
    table.results.push_back(std::make_unique<case_result>());
    case_result &result = *table.results.back();
    result.id = static_cast<int>(table.results.size() - 1);
    result.info = &info;
    result.iteration = iteration;
    results.push_back(&result);
    return result;
}

void run_record::count(const case_result &result) {
    switch (result.status) {
    case outcome::passed: ++totals.passed; break;
    case outcome::failed: ++totals.failed; break;
    case outcome::skipped: ++totals.skipped; break;
    case outcome::ignored: ++totals.ignored; break;
    }
}

namespace {

using clock = std::chrono::steady_clock;

std::string format_seconds(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%g s", seconds);
    return text;
}

std::string where_of(const case_result &result) {
    return result.info->file + ":" + std::to_string(result.info->line) + ": Failure\n  ";
}

double seconds_since(clock::time_point start) {
    return std::chrono::duration<double>(clock::now() - start).count();
}

/// Python helpers: where a Task is suspended, the tasks a case left behind, and the coroutines
/// it never awaited.
constexpr const char *python_helpers = R"(
def describe_suspension(task, label):
    lines = [f'  {label}']
    awaitable = task.get_coro().cr_await
    for _ in range(64):
        if awaitable is None:
            break
        frame = getattr(awaitable, 'cr_frame', None) or getattr(awaitable, 'gi_frame', None)
        name = getattr(awaitable, '__qualname__', None) or type(awaitable).__name__
        if frame is not None:
            lines.append(f'  {name} at {frame.f_code.co_filename}:{frame.f_lineno}')
        elif hasattr(awaitable, 'cr_await') or hasattr(awaitable, 'gi_yieldfrom'):
            lines.append(f'  {name} (C++ coroutine)' if type(awaitable).__module__ == 'pyasync' else f'  {name}')
        else:
            lines.append(f'  {awaitable!r}')
            break
        following = getattr(awaitable, 'cr_await', None)
        if following is None:
            following = getattr(awaitable, 'gi_yieldfrom', None)
        awaitable = following
    return '\n'.join(lines) if lines else '  (not started)'

def leftover_tasks(loop, keep):
    import asyncio
    return [t for t in asyncio.all_tasks(loop) if t not in keep and not t.done()]

class UnawaitedCoroutines:
    # Every "coroutine ... was never awaited" RuntimeWarning (Python's and pyasync's) passes
    # through warnings._showwarnmsg: record it, then show it as usual. The filter, appended so a
    # user's own filters still win, shows each one, not only the first per source line.
    def __init__(self):
        import warnings
        self.warnings = warnings
        self.seen = []
        warnings.filterwarnings('always', message=r'coroutine .* was never awaited', category=RuntimeWarning,
                                append=True)
        self.original = warnings._showwarnmsg
        def record(message):
            if issubclass(message.category, RuntimeWarning) and 'was never awaited' in str(message.message):
                self.seen.append(f'{message.message} (reported at {message.filename}:{message.lineno})')
            return self.original(message)
        warnings._showwarnmsg = record

    def since(self, mark, collect):
        if collect:
            import gc
            gc.collect()  # coroutines kept alive only by a reference cycle
        return self.seen[mark:]

    def uninstall(self):
        self.warnings._showwarnmsg = self.original
)";

struct suite_state {
    bool set_up = false;
    bool failed = false;
    std::string failure;
    int remaining = 0; ///< cases of the suite still to run in this iteration
};

class in_process_runner {
public:
    in_process_runner(const options &opts, const std::string &program, reporter &report, run_record &record)
        : opts_(opts), program_(program), report_(report), record_(record) {}

    int run(const selection &chosen);

private:
    // Loops.
    void open_loop();
    void close_loop();
    void ensure_loop_for(const case_info &info);
    // Cases.
    void execute(const std::vector<const case_info *> &order, int iteration);
    void run_sync_case(const case_info &info, int iteration);
    task<> run_batch(std::vector<const case_info *> batch, int iteration);
    task<> worker(std::vector<const case_info *> &batch, std::size_t &next, int iteration);
    task<> run_async_case(const case_info &info, int iteration);
    task<> case_body(const case_info &info, case_result &result);
    /// Records the exception being handled on `result`; never throws, so no exception of any
    /// type can leave a case unjudged.
    void absorb_exception(case_result &result) noexcept;
    /// Fails (and reports) every case that started but has no verdict: the loop under them failed.
    void fail_unfinished_cases(const std::string &why);
    /// Fails a case whose suite set-up failed; true when it did.
    bool failed_with_its_suite(case_result &result);
    void finish(case_result &result, std::optional<output_capture> &capture);
    void check_leftover_tasks(case_result &result, py::handle keep);
    std::size_t unawaited_mark() const;
    void check_unawaited_coroutines(case_result &result, std::size_t mark);
    // Suite fixtures.
    void set_up_suite_now(const case_info &info);
    task<> tear_down_suite_if_last(const case_info &info);
    void tear_down_remaining_suites();
    // Global fixtures.
    bool set_up_global_fixtures();
    void tear_down_global_fixtures();
    // Ctrl-C.
    void install_interrupt_handler();
    void on_interrupt();

    const options &opts_;
    const std::string &program_;
    reporter &report_;
    run_record &record_;
    py::dict helpers_;
    py::object unawaited_; ///< UnawaitedCoroutines: every never-awaited warning of the session
    py::object loop_;
    std::string loop_suite_;
    bool stop_ = false;
    bool interrupted_ = false;
    std::string loop_failure_; ///< why the loop itself failed: the run ends with exit_internal
    bool in_sync_case_ = false;
    std::set<PyObject *> running_tasks_;   ///< case Tasks in flight (borrowed; owned by the awaiting frame)
    std::map<std::string, suite_state> suites_;
    std::vector<std::pair<std::string, std::unique_ptr<fixture_lifetime>>> globals_;
    watchdog watchdog_;
    output_capture *sync_capture_ = nullptr;
};

bool capture_enabled(const options &opts) { return opts.capture && opts.test_threads == 1; }

int in_process_runner::run(const selection &chosen) {
    try {
        install_case_variable();
        py::exec(python_helpers, helpers_);
        unawaited_ = helpers_["UnawaitedCoroutines"]();
        py::module_::import("faulthandler").attr("enable")(py::arg("all_threads") = true);
        install_interrupt_handler();
        open_loop();
    } catch (...) {
        const std::string factory = opts_.loop_factory.empty() ? "" : " (--loop-factory '" + opts_.loop_factory + "')";
        std::fprintf(stderr, "pyasync-test: cannot start the session%s: %s\n", factory.c_str(),
                     describe_current_exception().c_str());
        return exit_internal;
    }
    if (!set_up_global_fixtures()) {
        tear_down_global_fixtures();
        close_loop();
        return exit_internal;
    }
    const std::uint32_t seed = effective_seed(opts_);
    for (int iteration = 0; opts_.repeat < 0 || iteration < opts_.repeat; ++iteration) {
        auto order = ordered(chosen.runnable, opts_.order, seed + static_cast<std::uint32_t>(iteration));
        std::set<std::string> suites;
        for (const case_info *info : order) {
            suites.insert(info->suite);
        }
        report_.run_started(order.size(), suites.size(),
                            opts_.order == case_order::random ? std::optional(seed + static_cast<std::uint32_t>(iteration))
                                                              : std::nullopt,
                            iteration, opts_.repeat);
        if (iteration == 0) {
            for (const case_info *info : chosen.ignored) {
                case_result &result = record_.add(*info, iteration);
                result.status = outcome::ignored;
                result.skip_reason = info->ignore_reason;
                result.finished = true;
                record_.count(result);
                report_.case_finished(result);
            }
        }
        execute(order, iteration);
        if (stop_) {
            break;
        }
    }
    tear_down_remaining_suites();
    tear_down_global_fixtures();
    close_loop();
    fail_unfinished_cases("the run stopped before the case finished");
    unawaited_.attr("uninstall")();
    record_.totals.interrupted = interrupted_;
    if (interrupted_) {
        return exit_interrupted;
    }
    return loop_failure_.empty() ? exit_ok : exit_internal; // the caller turns failures into exit_failed
}

// ---- loops -------------------------------------------------------------------------------

void in_process_runner::open_loop() {
    py::object factory = resolve_loop_factory(opts_.loop_factory);
    py::object asyncio = py::module_::import("asyncio");
    py::object loop = factory.is_none() ? asyncio.attr("new_event_loop")() : factory();
    if (!py::isinstance(loop, asyncio.attr("AbstractEventLoop"))) {
        throw py::type_error("--loop-factory '" + opts_.loop_factory + "' returned " + python_repr(loop) +
                             ", expected an asyncio event loop (an asyncio.AbstractEventLoop)");
    }
    loop_ = loop;
    if (opts_.asyncio_debug) {
        loop_.attr("set_debug")(true);
    }
    py::module_::import("asyncio").attr("set_event_loop")(loop_);
}

void in_process_runner::close_loop() {
    if (!loop_) {
        return;
    }
    try {
        py::object asyncio = py::module_::import("asyncio");
        py::list pending = asyncio.attr("all_tasks")(loop_);
        for (py::handle t : pending) {
            t.attr("cancel")();
        }
        if (py::len(pending) != 0) {
            loop_.attr("run_until_complete")(asyncio.attr("gather")(*pending, py::arg("return_exceptions") = true));
        }
        loop_.attr("run_until_complete")(loop_.attr("shutdown_asyncgens")());
        loop_.attr("close")();
        asyncio.attr("set_event_loop")(py::none());
    } catch (py::error_already_set &error) {
        std::fprintf(stderr, "pyasync-test: closing the loop failed: %s\n", python_traceback(error).c_str());
    }
    loop_ = py::object();
}

void in_process_runner::ensure_loop_for(const case_info &info) {
    const bool fresh = opts_.scope == loop_scope::test || (opts_.scope == loop_scope::suite && loop_suite_ != info.suite);
    if (fresh && !loop_suite_.empty()) {
        close_loop();
        open_loop();
    }
    loop_suite_ = info.suite;
}

// ---- the plan ----------------------------------------------------------------------------

void in_process_runner::execute(const std::vector<const case_info *> &order, int iteration) {
    for (auto &[name, state] : suites_) {
        state.remaining = 0;
    }
    for (const case_info *info : order) {
        ++suites_[info->suite].remaining;
    }
    for (std::size_t i = 0; i < order.size() && !stop_;) {
        const case_info &first = *order[i];
        try {
            ensure_loop_for(first);
        } catch (...) {
            std::fprintf(stderr, "pyasync-test: cannot open a new event loop: %s\n", describe_current_exception().c_str());
            loop_failure_ = "cannot open a new event loop";
            stop_ = true;
            break;
        }
        if (first.kind() == case_kind::sync) {
            set_up_suite_now(first);
            run_sync_case(first, iteration);
            ++i;
            continue;
        }
        // A batch: consecutive async cases that share the loop (one case with --loop-scope test).
        std::vector<const case_info *> batch{&first};
        for (std::size_t j = i + 1; j < order.size() && order[j]->kind() == case_kind::async &&
                                    opts_.scope != loop_scope::test &&
                                    !(opts_.scope == loop_scope::suite && order[j]->suite != first.suite);
             ++j) {
            batch.push_back(order[j]);
        }
        for (const case_info *info : batch) {
            set_up_suite_now(*info);
        }
        i += batch.size();
        try {
            pyasync::run_until_complete(loop_, run_batch(std::move(batch), iteration));
        } catch (py::error_already_set &error) {
            if (error.matches(PyExc_KeyboardInterrupt)) {
                on_interrupt();
            } else {
                loop_failure_ = "the event loop failed under the case: " + python_traceback(error);
            }
        } catch (const cancelled_error &) {
            stop_ = true; // Ctrl-C cancelled the batch; its cases recorded the interruption
        } catch (...) {
            loop_failure_ = "the event loop failed under the case: " + describe_current_exception();
        }
        if (!loop_failure_.empty()) {
            std::fprintf(stderr, "pyasync-test: %s\n", loop_failure_.c_str());
            fail_unfinished_cases(loop_failure_);
            stop_ = true;
        }
    }
}


bool in_process_runner::failed_with_its_suite(case_result &result) {
    const suite_state &state = suites_[result.info->suite];
    if (state.failed) {
        result.fail("suite set-up failed (" + result.info->suite + "):\n" + state.failure);
    }
    return state.failed;
}

void in_process_runner::absorb_exception(case_result &result) noexcept {
    try {
        try {
            throw;
        } catch (const fatal_failure &) {
        } catch (const skip_case &skip) {
            result.skip_raised = true;
            result.skip_reason = skip.reason;
        } catch (const py::error_already_set &error) {
            // A REQUIRE or SKIP inside C++ awaited through Python comes back as pyasync.CppError.
            if (result.fatal_raised || result.skip_raised) {
                return;
            }
            if (error.matches(PyExc_KeyboardInterrupt) && interrupted_) {
                result.interrupted = true;
                result.fail("interrupted by Ctrl-C");
                return;
            }
            result.fail(where_of(result) + "a Python exception escaped the case:\n" + python_traceback(error));
        } catch (...) {
            if (result.fatal_raised || result.skip_raised) {
                return;
            }
            result.fail(where_of(result) + "an exception escaped the case: " + describe_current_exception());
        }
    } catch (...) { // recording the failure failed (out of memory): the verdict stays a failure
        result.status = outcome::failed;
    }
}

void in_process_runner::fail_unfinished_cases(const std::string &why) {
    for (const auto &result : results().results) {
        if (!result->finished) {
            result->fail(where_of(*result) + why);
            result->finished = true;
            record_.count(*result);
            report_.case_finished(*result);
        }
    }
}

void in_process_runner::finish(case_result &result, std::optional<output_capture> &capture) {
    if (capture) {
        result.output = capture->stop();
    }
    {
        auto &table = results();
        std::lock_guard lock(table.mutex);
        result.finished = true;
        if (result.failures.empty()) {
            result.status = result.skip_raised ? outcome::skipped : outcome::passed;
        } else {
            result.status = outcome::failed;
        }
    }
    record_.count(result);
    report_.case_finished(result);
    if (result.status == outcome::failed && opts_.fail_fast) {
        stop_ = true;
    }
}

std::size_t in_process_runner::unawaited_mark() const { return py::len(unawaited_.attr("seen")); }

// Only with one case in flight: with several, a warning cannot be pinned on the case that caused it.
void in_process_runner::check_unawaited_coroutines(case_result &result, std::size_t mark) {
    if (opts_.test_threads != 1) {
        return;
    }
    py::list found = unawaited_.attr("since")(mark, opts_.strict_tasks);
    if (py::len(found) == 0) {
        return;
    }
    std::string list;
    for (py::handle warning : found) {
        list += "\n  " + warning.cast<std::string>();
    }
    const std::string message = std::to_string(py::len(found)) + " coroutine(s) never awaited:" + list;
    if (opts_.strict_tasks) {
        result.fail(where_of(result) + "(--strict-tasks) " + message);
    } else {
        report_.note("warning: " + result.info->full_name() + ": " + message + " (--strict-tasks makes this a failure)");
    }
}

void in_process_runner::check_leftover_tasks(case_result &result, py::handle keep) {
    py::list leftovers = helpers_["leftover_tasks"](loop_, keep);
    if (py::len(leftovers) == 0) {
        return;
    }
    std::string names;
    for (py::handle t : leftovers) {
        names += "\n  " + py::repr(t).cast<std::string>();
        t.attr("cancel")();
    }
    const std::string message = std::to_string(py::len(leftovers)) + " task(s) still pending after the case; cancelled:" + names;
    if (opts_.strict_tasks) {
        result.fail(result.info->file + ":" + std::to_string(result.info->line) + ": Failure (--strict-tasks)\n  " + message);
    } else {
        report_.note("warning: " + result.info->full_name() + ": " + message + " (--strict-tasks makes this a failure)");
    }
}

// ---- sync cases --------------------------------------------------------------------------

void in_process_runner::run_sync_case(const case_info &info, int iteration) {
    case_result &result = record_.add(info, iteration);
    report_.case_started(info);
    const int id = result.id;
    {
        auto &table = results();
        std::lock_guard lock(table.mutex);
        table.sync_case = id;
    }
    if (failed_with_its_suite(result)) {
        std::optional<output_capture> none;
        finish(result, none);
        return;
    }
    std::optional<output_capture> capture;
    if (capture_enabled(opts_)) {
        capture.emplace();
        capture->start();
        sync_capture_ = &*capture;
    }
    PyObject *token = PyContextVar_Set(case_variable().ptr(), py::int_(id).ptr());
    const std::size_t unawaited = unawaited_mark();
    const auto limit = time_limit(info, opts_);
    if (limit) {
        watchdog_.arm(*limit, info.full_name() + ": sync case exceeded its timeout of " + format_seconds(*limit),
                      [this, &result, limit] {
                          if (sync_capture_ != nullptr) {
                              sync_capture_->release_to_stderr();
                          }
                          result.fail(where_of(result) + "timed out after " + format_seconds(*limit) +
                                      " (sync case: stopped by the watchdog; stacks on stderr)");
                          result.status = outcome::failed;
                          for (const std::string &path : opts_.junit_paths) {
                              write_junit(path, program_, record_.results, record_.totals, {{"partial", "timed out"}});
                          }
                      });
    }
    const auto start = clock::now();
    in_sync_case_ = true;
    try {
        info.invoker->run_sync(loop_);
    } catch (...) {
        absorb_exception(result);
    }
    in_sync_case_ = false;
    result.seconds = seconds_since(start);
    watchdog_.disarm();
    if (token != nullptr) {
        PyContextVar_Reset(case_variable().ptr(), token);
        Py_DECREF(token);
    }
    PyErr_Clear();
    try {
        check_unawaited_coroutines(result, unawaited);
    } catch (...) {
        absorb_exception(result);
    }
    sync_capture_ = nullptr;
    finish(result, capture);
    try {
        pyasync::run_until_complete(loop_, tear_down_suite_if_last(info));
    } catch (...) {
        std::fprintf(stderr, "pyasync-test: suite tear-down failed: %s\n", describe_current_exception().c_str());
    }
}

// ---- async cases -------------------------------------------------------------------------

task<> in_process_runner::run_batch(std::vector<const case_info *> batch, int iteration) {
    std::size_t next = 0;
    const std::size_t width = std::min<std::size_t>(static_cast<std::size_t>(opts_.test_threads), batch.size());
    if (width <= 1) {
        co_await worker(batch, next, iteration);
    } else {
        std::vector<py::object> workers;
        for (std::size_t k = 0; k < width; ++k) {
            workers.push_back(make_coroutine(worker(batch, next, iteration)));
        }
        co_await gather(std::move(workers));
    }
}

task<> in_process_runner::worker(std::vector<const case_info *> &batch, std::size_t &next, int iteration) {
    while (next < batch.size() && !stop_) {
        const case_info &info = *batch[next++];
        co_await run_async_case(info, iteration);
    }
}

task<> in_process_runner::case_body(const case_info &info, case_result &result) {
    bool cancelled = false;
    std::string cancel_message;
    try {
        co_await info.invoker->run_async();
    } catch (const cancelled_error &error) {
        cancelled = true;
        cancel_message = error.what();
    } catch (...) {
        absorb_exception(result);
    }
    if (cancelled && !result.timed_out) {
        if (interrupted_) {
            result.interrupted = true;
            result.fail("interrupted by Ctrl-C");
        } else if (!result.fatal_raised) {
            result.fail(where_of(result) + "the case was cancelled (" +
                        cancel_message + ") and let the cancellation escape");
        }
    }
}

task<> in_process_runner::run_async_case(const case_info &info, int iteration) {
    case_result &result = record_.add(info, iteration);
    report_.case_started(info);
    if (failed_with_its_suite(result)) {
        std::optional<output_capture> none;
        finish(result, none);
        co_await tear_down_suite_if_last(info);
        co_return;
    }
    const int id = result.id;
    std::optional<output_capture> capture;
    if (capture_enabled(opts_)) {
        capture.emplace();
        capture->start();
    }
    // The case's Task runs in a copy of the context holding its id, so assertions find it.
    py::object context = py::reinterpret_steal<py::object>(PyContext_CopyCurrent());
    PyContext_Enter(context.ptr());
    PyObject *token = PyContextVar_Set(case_variable().ptr(), py::int_(id).ptr());
    Py_XDECREF(token);
    PyContext_Exit(context.ptr());

    const std::size_t unawaited = unawaited_mark();
    py::object case_task = loop_.attr("create_task")(make_coroutine(case_body(info, result)),
                                                      py::arg("name") = info.full_name(), py::arg("context") = context);
    py::object done = loop_.attr("create_future")();
    auto resolve = [done](py::handle) {
        if (!done.attr("done")().cast<bool>()) {
            done.attr("set_result")(py::none());
        }
    };
    case_task.attr("add_done_callback")(py::cpp_function(resolve));
    running_tasks_.insert(case_task.ptr());

    py::object timer;
    py::object grace_timer;
    const auto limit = time_limit(info, opts_);
    if (limit) {
        timer = loop_.attr("call_later")(*limit, py::cpp_function([&, limit] {
            if (case_task.attr("done")().cast<bool>()) {
                return;
            }
            const std::string label = info.full_name() + " (C++ case at " + info.file + ":" + std::to_string(info.line) + ")";
            const std::string where = helpers_["describe_suspension"](case_task, label).cast<std::string>();
            result.timed_out = true;
            result.fail(where_of(result) + "timed out after " +
                        format_seconds(*limit) + "; cancelled through asyncio while suspended at:\n" + where);
            case_task.attr("cancel")(py::str("pyasync-test: timed out"));
            // A case that swallows its cancellation is abandoned after a grace period.
            grace_timer = loop_.attr("call_later")(2.0, py::cpp_function([&] {
                result.fail("  the case did not finish within 2 s of its cancellation: abandoned, its Task still pending");
                resolve(py::none());
            }));
        }));
    }
    const auto start = clock::now();
    try {
        co_await await_as<void>(done);
    } catch (const cancelled_error &) {
        // The batch itself was cancelled (Ctrl-C): stop the case and record it.
        case_task.attr("cancel")();
        result.interrupted = true;
        result.fail("interrupted by Ctrl-C");
    }
    result.seconds = seconds_since(start);
    running_tasks_.erase(case_task.ptr());
    for (py::object *handle : {&timer, &grace_timer}) {
        if (*handle) {
            handle->attr("cancel")();
        }
    }
    try {
        if (opts_.test_threads == 1) {
            check_leftover_tasks(result, py::make_tuple(py::module_::import("asyncio").attr("current_task")()));
        }
        check_unawaited_coroutines(result, unawaited);
    } catch (...) {
        absorb_exception(result);
    }
    finish(result, capture);
    co_await tear_down_suite_if_last(info);
}

// ---- suite fixtures ----------------------------------------------------------------------

void in_process_runner::set_up_suite_now(const case_info &info) {
    suite_state &state = suites_[info.suite];
    if (state.set_up || state.failed || info.suite_fixture.set_up == nullptr) {
        state.set_up = state.set_up || info.suite_fixture.set_up == nullptr;
        return;
    }
    try {
        pyasync::run_until_complete(loop_, info.suite_fixture.set_up());
        state.set_up = true;
    } catch (...) {
        state.failed = true;
        state.failure = std::string(info.suite_fixture.fixture) + "::set_up_suite() threw " + describe_current_exception();
    }
}

task<> in_process_runner::tear_down_suite_if_last(const case_info &info) {
    suite_state &state = suites_[info.suite];
    if (--state.remaining > 0 || !state.set_up || info.suite_fixture.tear_down == nullptr) {
        co_return;
    }
    state.set_up = false;
    std::string failure;
    try {
        co_await info.suite_fixture.tear_down();
    } catch (...) {
        failure = describe_current_exception();
    }
    if (!failure.empty()) {
        report_.note("error: " + std::string(info.suite_fixture.fixture) + "::tear_down_suite() threw " + failure);
        ++record_.totals.failed;
    }
}

void in_process_runner::tear_down_remaining_suites() {
    for (const case_info &info : registered_cases()) {
        suite_state &state = suites_[info.suite];
        if (state.set_up && info.suite_fixture.tear_down != nullptr) {
            state.remaining = 1;
            try {
                pyasync::run_until_complete(loop_, tear_down_suite_if_last(info));
            } catch (...) {
            }
        }
    }
}

// ---- global fixtures ---------------------------------------------------------------------

bool in_process_runner::set_up_global_fixtures() {
    for (const global_fixture &fixture : registered_global_fixtures()) {
        try {
            auto lifetime = fixture.make();
            pyasync::run_until_complete(loop_, lifetime->set_up());
            globals_.emplace_back(fixture.name, std::move(lifetime));
        } catch (...) {
            std::fprintf(stderr, "pyasync-test: the global fixture %s failed to set up: %s\n", fixture.name.c_str(),
                         describe_current_exception().c_str());
            return false;
        }
    }
    return true;
}

void in_process_runner::tear_down_global_fixtures() {
    for (auto it = globals_.rbegin(); it != globals_.rend(); ++it) {
        try {
            pyasync::run_until_complete(loop_, it->second->tear_down());
        } catch (...) {
            report_.note("error: the global fixture " + it->first + " failed to tear down: " + describe_current_exception());
            ++record_.totals.failed;
        }
    }
    globals_.clear();
}

// ---- Ctrl-C ------------------------------------------------------------------------------

// SIGINT and SIGTERM stop the run alike. The Python handler (on_interrupt) runs only when the
// main thread returns to Python: a sync case blocked in C++ never does. This C handler, chained
// before Python's, keeps the promise that a second signal exits at once whatever the main
// thread is doing.
struct sigaction python_actions[2] {}; // SIGINT's, SIGTERM's
volatile std::sig_atomic_t stop_signals_seen = 0;

extern "C" void count_stop_signal(int signal_number) {
    stop_signals_seen = stop_signals_seen + 1;
    if (stop_signals_seen >= 2) {
        constexpr char message[] = "\npyasync-test: interrupted twice: exiting now\n";
        (void)!write(real_stderr_fd(), message, sizeof message - 1);
        _exit(exit_interrupted);
    }
    const struct sigaction &python = python_actions[signal_number == SIGTERM ? 1 : 0];
    if (python.sa_handler != SIG_DFL && python.sa_handler != SIG_IGN) {
        python.sa_handler(signal_number);
    }
}

void in_process_runner::install_interrupt_handler() {
    py::module_ signal = py::module_::import("signal");
    py::cpp_function handler([this](py::handle, py::handle) { on_interrupt(); });
    struct sigaction counting {};
    counting.sa_handler = count_stop_signal;
    sigemptyset(&counting.sa_mask);
    counting.sa_flags = SA_ONSTACK;
    stop_signals_seen = 0;
    const int numbers[2] = {SIGINT, SIGTERM};
    for (int k = 0; k < 2; ++k) {
        signal.attr("signal")(numbers[k], handler);
        sigaction(numbers[k], &counting, &python_actions[k]);
    }
}

void in_process_runner::on_interrupt() {
    if (interrupted_) {
        std::fputs("\npyasync-test: interrupted twice: exiting now\n", stderr);
        std::fflush(nullptr);
        _exit(exit_interrupted);
    }
    interrupted_ = true;
    stop_ = true;
    std::fputs("\npyasync-test: interrupted: cancelling the running case (Ctrl-C again exits at once)\n", stderr);
    // The handler runs inside the selector's retry loop: cancelling here would not wake the loop
    // from a long select(). call_soon_threadsafe writes the loop's self-pipe, so it wakes.
    if (loop_ && !running_tasks_.empty()) {
        loop_.attr("call_soon_threadsafe")(py::cpp_function([this] {
            for (PyObject *running : running_tasks_) {
                py::handle(running).attr("cancel")(py::str("pyasync-test: interrupted"));
            }
        }));
    }
    if (in_sync_case_) {
        PyErr_SetNone(PyExc_KeyboardInterrupt);
        throw py::error_already_set();
    }
}

} // namespace

int run_in_process(const options &opts, const selection &chosen, const std::string &program, reporter &report,
                   run_record &record) {
    // The interpreter outlives the runner, which holds Python objects.
    std::optional<py::scoped_interpreter> interpreter;
    if (!Py_IsInitialized()) {
        std::vector<const char *> argv{program.c_str()};
        for (const std::string &argument : opts.python_args) {
            argv.push_back(argument.c_str());
        }
        watchdog::install_native_stack_dump();
        interpreter.emplace(true, static_cast<int>(argv.size()), argv.data());
    }
    record.python_version = Py_GetVersion();
    in_process_runner runner(opts, program, report, record);
    return runner.run(chosen);
}

} // namespace pyasync::testing::detail
