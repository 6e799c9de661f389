#pragma once
// Internal: the in-process runner. It owns the run's loop, suite and global fixtures and the case
// executor; `run` follows a run plan (the selection, iterations, batches), `serve` runs the cases
// a parent names on stdin (serving.cpp).

#include "case_executor.hpp"
#include "fixture_scopes.hpp"
#include "selection.hpp"

#include <functional>
#include <iosfwd>

namespace pyasync::testing::detail {

class serve_channel;

/// Main thread, GIL held, for every member.
class in_process_runner {
public:
    in_process_runner(const options &opts, reporter &report, run_record &record)
            : opts_(opts), report_(report), record_(record), hygiene_(opts, report), executor_(opts, hygiene_),
              suites_(report, record), globals_(report, record) {}

    /// Runs the selection: every iteration, in order. Returns the exit status.
    int run(const selection &chosen);
    /// Serves commands read from `commands` until it ends, answering on `channel` (serving.cpp).
    int serve(std::istream &commands, serve_channel &channel);
    /// Called by exit() while `run` or `serve` is under way: when a case is running, fails it
    /// ("the process exited with status N during Suite.Case"), writes every report and ends the
    /// process with status 1 (or `status`, when not 0). Main thread, or the thread that exited.
    void exited_during_run(int status);

private:
    // Loops.
    void open_loop();
    void close_loop();
    void ensure_loop_for(const case_info &info);
    // The plan.
    void run_iteration(const std::vector<const case_info *> &order, int iteration);
    void run_batch_on_loop(std::vector<const case_info *> batch, int iteration);
    task<> run_batch(std::vector<const case_info *> batch, int iteration);
    task<> worker(std::vector<const case_info *> &batch, std::size_t &next, int iteration);
    // One case: its row, the executor, its verdict reported.
    void run_sync_case(const case_info &info, int iteration);
    task<> run_async_case(const case_info &info, int iteration);
    case_result &begin_case(const case_info &info, int iteration);
    void end_case(case_result &result);
    /// Fails (and reports) every case that started but has no verdict: the loop under them failed.
    void fail_unfinished_cases(const std::string &why);
    void on_stop_signal(int signal_number);
    // Serving (serving.cpp).
    /// Opens `info`'s loop (per --loop-scope) and sets its suite up; returns why the loop could
    /// not be opened, or empty.
    std::string serve_prepare(const case_info &info);
    void serve_set_up(const case_info &info, serve_channel &channel);
    void serve_run(const case_info &info);
    /// Drops the rows whose verdicts were sent, so serving memory stays flat per case.
    void retire_reported_rows();
    void serve_tear_down(const std::string &suite, serve_channel &channel);

    const options &opts_;
    reporter &report_;
    run_record &record_;
    case_hygiene hygiene_;
    case_executor executor_;
    suite_scopes suites_;
    global_scope globals_;
    py::object loop_;
    std::string loop_suite_;
    bool stop_ = false;
    std::string loop_failure_;            ///< why the loop itself failed: the run ends with exit_internal
    const case_info *prepared_ = nullptr; ///< serving: the case whose suite `setup` just prepared
};

/// While one lives, exit() called during a case is judged by `runner` (exited_during_run)
/// rather than ending the process with the case's status. Main thread.
class exit_guard {
public:
    explicit exit_guard(in_process_runner &runner);
    exit_guard(const exit_guard &) = delete;
    exit_guard &operator=(const exit_guard &) = delete;
    ~exit_guard();
};

/// Says why the session could not start (the exception being handled). Returns exit_internal.
int session_did_not_start(const options &opts);

/// Starts the interpreter (unless one runs), builds a runner and hands it to `body`. Returns
/// `body`'s exit status, or exit_internal (said on stderr) when the session cannot start.
int with_in_process_runner(const options &opts, const std::string &program, reporter &report, run_record &record,
                           const std::function<int(in_process_runner &)> &body);

} // namespace pyasync::testing::detail
