// `--format json`: libtest's JSON event lines (cargo test -Z unstable-options --format json),
// the contract the pyasync-test driver and --isolate parents read.
#include "json_events.hpp"

namespace pyasync::testing::detail {

nlohmann::json case_event(const case_result &result) {
    // file and line: what a JUnit file written from these events (the driver's) needs.
    nlohmann::json event{{"type", "test"},
                         {"name", result.info->full_name()},
                         {"exec_time", result.seconds},
                         {"file", result.info->file},
                         {"line", result.info->line}};
    switch (result.status) {
    case outcome::passed: event["event"] = "ok"; break;
    case outcome::failed:
        event["event"] = "failed";
        event["message"] = result.failure_text();
        break;
    case outcome::skipped:
        event["event"] = "skipped";
        event["message"] = result.skip_reason;
        break;
    case outcome::ignored:
        event["event"] = "ignored";
        event["message"] = result.skip_reason;
        break;
    }
    if (!result.output.empty()) {
        event["stdout"] = result.output;
    }
    return event;
}

namespace {

class json_reporter final : public reporter {
public:
    explicit json_reporter(std::FILE *out) : out_(out) {}

    void run_started(const run_plan_summary &plan) override {
        emit(nlohmann::json{
            {"type", "suite"}, {"event", "started"}, {"test_count", plan.cases}, {"suite_count", plan.suites}});
    }

    void case_started(const case_info &info) override {
        emit(nlohmann::json{{"type", "test"}, {"event", "started"}, {"name", info.full_name()}});
    }

    void case_finished(const case_result &result) override { emit(case_event(result)); }

    /// stdout carries events alone: notes go to stderr.
    void note(const std::string &text) override { std::fprintf(stderr, "%s\n", text.c_str()); }

    bool run_finished(const std::vector<const case_result *> &, const run_totals &totals) override {
        const bool ok =
            totals.failed == 0 && totals.late_failures == 0 && !totals.interrupted && totals.session_error.empty();
        emit(nlohmann::json{{"type", "suite"},
                            {"event", ok ? "ok" : "failed"},
                            {"error", totals.session_error},
                            {"passed", totals.passed},
                            {"failed", totals.failed},
                            {"late_failures", totals.late_failures},
                            {"skipped", totals.skipped},
                            {"ignored", totals.ignored},
                            {"measured", 0},
                            {"filtered_out", totals.filtered_out},
                            {"interrupted", totals.interrupted},
                            {"interrupted_by", totals.interrupted ? totals.interrupted_by : ""},
                            {"exec_time", totals.seconds}});
        return true;
    }

private:
    void emit(const nlohmann::json &event) {
        // nlohmann refuses invalid UTF-8 by default; replace it instead of losing the event.
        const std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        std::fwrite(line.data(), 1, line.size(), out_);
        std::fputc('\n', out_);
        std::fflush(out_);
    }

    std::FILE *out_;
};

} // namespace

std::unique_ptr<reporter> make_json_reporter(std::FILE *out) {
    return std::make_unique<json_reporter>(out);
}

} // namespace pyasync::testing::detail
