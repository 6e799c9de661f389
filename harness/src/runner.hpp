#pragma once
// Internal: runs a selection in this process (interpreter, loops, cases) or, with --isolate,
// each case in a child process.

#include "reporters/reporter.hpp"
#include "selection.hpp"

#include <string>
#include <vector>

namespace pyasync::testing::detail {

/// Runs `chosen` in this process. Returns the exit status.
int run_in_process(const options &opts, const selection &chosen, const std::string &program, reporter &report,
                   run_record &record);

/// `--serve`: runs the cases named on stdin, answering with JSON events on stdout (serving.cpp).
int run_serving(const options &opts, const std::string &program);

/// Runs each case of `chosen` in a child process (`--isolate`); no interpreter here.
int run_isolated(const options &opts, const selection &chosen, const std::string &program,
                 const std::vector<std::string> &forwarded, reporter &report, run_record &record);

/// The case's own timeout, else --timeout.
inline std::optional<double> time_limit(const case_info &info, const options &opts) {
    return info.timeout_seconds ? info.timeout_seconds : opts.timeout_seconds;
}

/// What `reporter::run_started` announces for iteration `iteration` of `order`.
run_plan_summary summarize_iteration(const std::vector<const case_info *> &order, const options &opts, int iteration);

/// Records and reports the ignored cases of `chosen` (a verdict without a run): once, after the
/// first `run_started`.
void report_ignored_cases(const selection &chosen, reporter &report, run_record &record);

/// Appends the directories baked in with `add_python_path` to the environment's PYTHONPATH
/// (those it does not hold yet): before the interpreter starts, or a child is spawned.
void apply_baked_python_path();

/// The seed of this run: `--seed`, else TEST_RANDOM_SEED, else from the clock.
std::uint32_t effective_seed(const options &opts);

} // namespace pyasync::testing::detail
