#pragma once
// Internal: runs a selection in this process (interpreter, loops, cases) or, with --isolate,
// each case in a child process.

#include "report.hpp"
#include "selection.hpp"

#include <string>
#include <vector>

namespace pyasync::testing::detail {

/// Collects results and totals for one run, whichever way the cases run.
struct run_record {
    std::vector<const case_result *> results;
    run_totals totals;
    std::string python_version; ///< for the JUnit properties; empty when Python did not start
    case_result &add(const case_info &info, int iteration);
    void count(const case_result &result);
};

/// Runs `chosen` in this process. Returns the exit status.
int run_in_process(const options &opts, const selection &chosen, const std::string &program, reporter &report,
                   run_record &record);

/// Runs each case of `chosen` in a child process (`--isolate`); no interpreter here.
int run_isolated(const options &opts, const selection &chosen, const std::string &program,
                 const std::vector<std::string> &forwarded, reporter &report, run_record &record);

/// The case's own timeout, else --timeout.
inline std::optional<double> time_limit(const case_info &info, const options &opts) {
    return info.timeout_seconds ? info.timeout_seconds : opts.timeout_seconds;
}

/// The seed of this run: `--seed`, else TEST_RANDOM_SEED, else from the clock.
std::uint32_t effective_seed(const options &opts);

} // namespace pyasync::testing::detail
