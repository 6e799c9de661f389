// The reporters a run writes to, chosen from the options, each event fanned out in order.
#include "reporter.hpp"

namespace pyasync::testing::detail {

reporter_list::reporter_list(const options &opts, std::FILE *out, const std::string &program,
                             const run_properties &properties) {
    switch (opts.format) {
    case output_format::pretty: reporters_.push_back(make_pretty_reporter(opts, out)); break;
    case output_format::terse: reporters_.push_back(make_terse_reporter(opts, out)); break;
    case output_format::json: reporters_.push_back(make_json_reporter(out)); break;
    }
    for (const std::string &path : opts.junit_paths) {
        reporters_.push_back(make_junit_reporter(path, program, properties));
    }
}

void reporter_list::run_started(const run_plan_summary &plan) {
    for (auto &each : reporters_) {
        each->run_started(plan);
    }
}

void reporter_list::case_started(const case_info &info) {
    for (auto &each : reporters_) {
        each->case_started(info);
    }
}

void reporter_list::case_finished(const case_result &result) {
    for (auto &each : reporters_) {
        each->case_finished(result);
    }
}

void reporter_list::note(const std::string &text) {
    for (auto &each : reporters_) {
        each->note(text);
    }
}

void reporter_list::outside_failure(const late_failure &failure) {
    for (auto &each : reporters_) {
        each->outside_failure(failure);
    }
}

void report_late_failures(reporter &report, run_totals &totals) {
    auto &table = results();
    if (!table.has_unreported.load(std::memory_order_acquire)) {
        return; // the common case, after every case: no lock
    }
    std::vector<late_failure> failures;
    {
        std::lock_guard lock(table.mutex);
        failures.swap(table.unreported);
        table.has_unreported.store(false, std::memory_order_relaxed);
    }
    for (const late_failure &failure : failures) {
        ++totals.late_failures;
        report.outside_failure(failure);
    }
}

void reporter_list::run_aborting(const std::vector<const case_result *> &results, const run_totals &totals) {
    for (auto &each : reporters_) {
        each->run_aborting(results, totals);
    }
}

bool reporter_list::run_finished(const std::vector<const case_result *> &results, const run_totals &totals) {
    bool delivered = true;
    for (auto &each : reporters_) {
        delivered = each->run_finished(results, totals) && delivered; // every report is attempted
    }
    return delivered;
}

} // namespace pyasync::testing::detail
