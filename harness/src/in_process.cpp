// The in-process run plan: the interpreter, the loop on the main thread (per --loop-scope),
// iterations and order, batches of async cases sharing the loop, sync cases while it is idle,
// suite and global fixtures, stop signals. Each case runs through the case executor.
#include "in_process.hpp"
#include "interruption.hpp"
#include "runner.hpp"
#include "schedule_exploration.hpp"
#include "session_loop.hpp"

#include <csignal>

#include <pyasync/gather.hpp>
#include <pyasync/run.hpp>
#include <pyasync/testing/assertions.hpp>

namespace pyasync::testing::detail {
namespace {

/// The runner whose run or serving is under way, for the process's exit handler. Main thread.
in_process_runner *running_runner = nullptr;

/// Run by exit() (glibc's on_exit hands it the status): a case that calls exit() must not end
/// the process with its status, as if the run had passed.
void on_process_exit(int status, void *) {
    if (running_runner != nullptr) {
        running_runner->exited_during_run(status);
    }
}

} // namespace

exit_guard::exit_guard(in_process_runner &runner) {
    // Exit handlers run in reverse order of registration, static destructors among them: what
    // the handler uses must exist before it is registered, or it is destroyed first.
    (void)results();
    static const bool registered = on_exit(on_process_exit, nullptr) == 0;
    (void)registered;
    running_runner = &runner;
}

exit_guard::~exit_guard() {
    running_runner = nullptr;
}

void in_process_runner::exited_during_run(int status) {
    std::vector<case_result *> unfinished;
    results().for_each_row([&unfinished](case_result &result) {
        if (!result.finished) {
            leave_if_forked(result); // a forked child's exit is its own business
            unfinished.push_back(&result);
        }
    });
    if (unfinished.empty()) {
        return; // exit() outside any case (a fixture, the user's main): not a case's verdict
    }
    const std::string why = "the process exited with status " + std::to_string(status) + " during " +
                            unfinished.front()->info->full_name() +
                            " (exit() was called inside the case: nothing after the call ran)";
    for (case_result *result : unfinished) {
        result->fail(failure_location(*result) + why);
        result->finished = true;
        record_.count(*result);
        report_.case_finished(*result);
    }
    record_.totals.session_error = why;
    report_late_failures(report_, record_.totals);
    (void)report_.run_finished(record_.results, record_.totals);
    flush_all_output();
    // Not through the rest of exit(): the interpreter's finalisation and static destructors
    // would run under a case that is still on the stack.
    _exit(status == 0 ? exit_failed : status);
}

int session_did_not_start(const options &opts) {
    const std::string factory = opts.loop_factory.empty() ? "" : " (--loop-factory '" + opts.loop_factory + "')";
    std::fprintf(stderr, "pyasync-test: cannot start the session%s: %s\n", factory.c_str(),
                 describe_current_exception().c_str());
    return exit_internal;
}

int in_process_runner::run(const selection &chosen) {
    const exit_guard guard(*this);
    try {
        py::module_::import("faulthandler").attr("enable")(py::arg("all_threads") = true);
        install_stop_signal_handlers([this](int signal_number) { on_stop_signal(signal_number); });
        open_loop();
    } catch (...) {
        return session_did_not_start(opts_);
    }
    if (!globals_.set_up(loop_)) {
        record_.totals.session_error = globals_.failure();
        globals_.tear_down(loop_);
        close_loop();
        return exit_internal;
    }
    if (opts_.schedule) {
        // On stderr: stdout may carry only JSON events. A failing run names its own seed.
        std::fprintf(stderr, "pyasync-test: %s\n", exploration_banner(opts_).c_str());
    }
    const std::uint32_t seed = effective_seed(opts_);
    for (int iteration = 0; opts_.repeat < 0 || iteration < opts_.repeat; ++iteration) {
        const auto order = ordered(chosen.runnable, opts_.order, seed + static_cast<std::uint32_t>(iteration));
        report_.run_started(summarize_iteration(order, opts_, iteration));
        if (iteration == 0) {
            report_ignored_cases(chosen, report_, record_);
        }
        run_iteration(order, iteration);
        if (stop_) {
            break;
        }
    }
    suites_.tear_down_remaining(loop_);
    globals_.tear_down(loop_);
    close_loop();
    fail_unfinished_cases("the run stopped before the case finished");
    record_.totals.interrupted = executor_.interrupted();
    record_.totals.interrupted_by = executor_.interrupt_reason();
    record_.totals.session_error = loop_failure_;
    if (executor_.interrupted()) {
        return exit_interrupted;
    }
    return loop_failure_.empty() ? exit_ok : exit_internal; // the caller turns failures into exit_failed
}

// ---- loops -------------------------------------------------------------------------------

void in_process_runner::open_loop() {
    loop_ = open_session_loop(opts_);
}

void in_process_runner::close_loop() {
    close_session_loop(loop_);
}

void in_process_runner::ensure_loop_for(const case_info &info) {
    const bool fresh =
        opts_.scope == loop_scope::test || (opts_.scope == loop_scope::suite && loop_suite_ != info.suite);
    if (fresh && !loop_suite_.empty()) {
        close_loop();
        open_loop();
    }
    loop_suite_ = info.suite;
}

// ---- the plan ----------------------------------------------------------------------------

void in_process_runner::run_iteration(const std::vector<const case_info *> &order, int iteration) {
    suites_.plan_iteration(order);
    for (std::size_t i = 0; i < order.size() && !stop_;) {
        const case_info &first = *order[i];
        try {
            ensure_loop_for(first);
        } catch (...) {
            std::fprintf(stderr, "pyasync-test: cannot open a new event loop: %s\n",
                         describe_current_exception().c_str());
            loop_failure_ = "cannot open a new event loop";
            stop_ = true;
            break;
        }
        if (first.kind() == case_kind::sync) {
            suites_.set_up(first, loop_);
            run_sync_case(first, iteration);
            ++i;
            continue;
        }
        // A batch: consecutive async cases that share the loop (one case with --loop-scope test).
        std::vector<const case_info *> batch{&first};
        for (std::size_t j = i + 1;
             j < order.size() && order[j]->kind() == case_kind::async && opts_.scope != loop_scope::test &&
             !(opts_.scope == loop_scope::suite && order[j]->suite != first.suite);
             ++j) {
            batch.push_back(order[j]);
        }
        for (const case_info *info : batch) {
            suites_.set_up(*info, loop_);
        }
        i += batch.size();
        run_batch_on_loop(std::move(batch), iteration);
    }
}

void in_process_runner::run_batch_on_loop(std::vector<const case_info *> batch, int iteration) {
    try {
        pyasync::run_until_complete(loop_, run_batch(std::move(batch), iteration));
    } catch (py::error_already_set &error) {
        if (error.matches(PyExc_KeyboardInterrupt)) {
            on_stop_signal(SIGINT);
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

// ---- one case ----------------------------------------------------------------------------

case_result &in_process_runner::begin_case(const case_info &info, int iteration) {
    case_result &result = record_.add(info, iteration);
    report_.case_started(info);
    return result;
}

void in_process_runner::end_case(case_result &result) {
    record_.count(result);
    report_.case_finished(result);
    report_late_failures(report_, record_.totals);
    if (result.status == outcome::failed && opts_.fail_fast) {
        stop_ = true;
    }
}

void in_process_runner::run_sync_case(const case_info &info, int iteration) {
    case_result &result = begin_case(info, iteration);
    if (suites_.failed_with_its_suite(result)) {
        conclude_case(result, {});
    } else {
        executor_.run_sync(info, result, loop_, [this] { report_.run_aborting(record_.results, record_.totals); });
    }
    result.body_ended = true;
    end_case(result);
    try {
        pyasync::run_until_complete(loop_, suites_.tear_down_if_last(info));
    } catch (...) {
        std::fprintf(stderr, "pyasync-test: suite tear-down failed: %s\n", describe_current_exception().c_str());
    }
}

task<> in_process_runner::run_async_case(const case_info &info, int iteration) {
    case_result &result = begin_case(info, iteration);
    if (suites_.failed_with_its_suite(result)) {
        conclude_case(result, {});
        result.body_ended = true;
    } else {
        co_await executor_.run_async(info, result, loop_,
                                     [this] { report_.run_aborting(record_.results, record_.totals); });
    }
    end_case(result);
    co_await suites_.tear_down_if_last(info);
}

void in_process_runner::fail_unfinished_cases(const std::string &why) {
    results().for_each_row([&](case_result &result) {
        if (!result.finished) {
            result.fail(failure_location(result) + why);
            result.finished = true;
            record_.count(result);
            report_.case_finished(result);
        }
    });
}

void in_process_runner::on_stop_signal(int signal_number) {
    if (executor_.interrupted()) {
        exit_interrupted_twice();
    }
    stop_ = true;
    const std::string reason = describe_stop_signal(signal_number);
    std::fprintf(stderr,
                 "\npyasync-test: interrupted by %s: cancelling the running case (a second signal exits at once)\n",
                 reason.c_str());
    executor_.interrupt(loop_, reason);
}

int with_in_process_runner(const options &opts, const std::string &program, reporter &report, run_record &record,
                           const std::function<int(in_process_runner &)> &body) {
    // The interpreter outlives the runner, which holds Python objects.
    std::optional<py::scoped_interpreter> interpreter;
    if (!Py_IsInitialized()) {
        std::vector<const char *> argv{program.c_str()};
        for (const std::string &argument : opts.python_args) {
            argv.push_back(argument.c_str());
        }
        watchdog::install_native_stack_dump();
        apply_baked_python_path();
        interpreter.emplace(true, static_cast<int>(argv.size()), argv.data());
    }
    record.python_version = Py_GetVersion();
    std::optional<in_process_runner> runner;
    try {
        install_case_variable();
        runner.emplace(opts, report, record);
    } catch (...) {
        return session_did_not_start(opts);
    }
    return body(*runner);
}

int run_in_process(const options &opts, const selection &chosen, const std::string &program, reporter &report,
                   run_record &record) {
    return with_in_process_runner(opts, program, report, record,
                                  [&](in_process_runner &runner) { return runner.run(chosen); });
}

} // namespace pyasync::testing::detail
