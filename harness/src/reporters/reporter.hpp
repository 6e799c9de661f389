#pragma once
// Internal: the reporter interface every output of a run implements (Catch2's IEventListener
// in spirit): the stream reporters (pretty, terse, json) print progress as cases finish; the
// JUnit reporter writes its file at the end. The session owns one `reporter_list` that fans
// each event out to the reporters the options ask for.

#include "../case_result.hpp"

#include <pyasync/testing/options.hpp>

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pyasync::testing::detail {

/// What `run_started` announces: one iteration of the selection.
struct run_plan_summary {
    std::size_t cases = 0;
    std::size_t suites = 0;
    std::optional<std::uint32_t> seed; ///< set when the order is shuffled
    int iteration = 0;
    int repeat = 1; ///< --repeat (-1: until interrupted)
};

/// One output of a run. Every call is made on the main thread, in this order: `run_started`
/// once per iteration, `case_started`/`case_finished` per case (`case_finished` alone for an
/// ignored case or one whose verdict came from elsewhere), `note` at any time, `run_aborting`
/// at most once (from the watchdog thread, while the main thread is stuck), `run_finished` once.
class reporter {
public:
    virtual ~reporter() = default;
    virtual void run_started(const run_plan_summary &plan) = 0;
    virtual void case_started(const case_info &info) = 0;
    virtual void case_finished(const case_result &result) = 0;
    /// A harness message (not a case's): a warning, a fixture's tear-down error.
    virtual void note(const std::string &text) = 0;
    /// A failure outside any running case, after the end of `failure.after`: reported between
    /// cases, never as a case's verdict. As a note unless the format has a place of its own.
    virtual void outside_failure(const late_failure &failure) { note(describe_late_failure(failure)); }
    /// The process is about to abort (a sync case overran its timeout): save what can be saved.
    virtual void run_aborting(const std::vector<const case_result *> &, const run_totals &) {}
    /// The end of the run. Returns false (having said why on stderr) when the report could not
    /// be delivered, which makes the run's exit status 3.
    [[nodiscard]] virtual bool run_finished(const std::vector<const case_result *> &results,
                                            const run_totals &totals) = 0;
};

/// Run-level facts the file reporters record (JUnit `<properties>`): seed, shard, python.
using run_properties = std::map<std::string, std::string>;

/// The reporters `opts` asks for, as one: the stream format on `out` (the real stdout, or the
/// event pipe of an --isolate child), then one JUnit file per `--junit` path.
class reporter_list final : public reporter {
public:
    reporter_list(const options &opts, std::FILE *out, const std::string &program, const run_properties &properties);
    void run_started(const run_plan_summary &plan) override;
    void case_started(const case_info &info) override;
    void case_finished(const case_result &result) override;
    void note(const std::string &text) override;
    void outside_failure(const late_failure &failure) override;
    void run_aborting(const std::vector<const case_result *> &results, const run_totals &totals) override;
    [[nodiscard]] bool run_finished(const std::vector<const case_result *> &results, const run_totals &totals) override;

private:
    std::vector<std::unique_ptr<reporter>> reporters_;
};

/// Hands the failures outside any running case that were not reported yet to `report`, and
/// adds them to `totals`. Main thread, between cases (the table's lock is taken here).
void report_late_failures(reporter &report, run_totals &totals);

/// The stream reporters, one per `--format`, and the JUnit file reporter.
std::unique_ptr<reporter> make_pretty_reporter(const options &opts, std::FILE *out);
std::unique_ptr<reporter> make_terse_reporter(const options &opts, std::FILE *out);
std::unique_ptr<reporter> make_json_reporter(std::FILE *out);
std::unique_ptr<reporter> make_junit_reporter(std::string path, std::string program, const run_properties &properties);

} // namespace pyasync::testing::detail
