// Reporting a run from its JSON events (the driver's merged stream), through the reporters.
#include "replay.hpp"

#include "reporters/reporter.hpp"

#include <nlohmann/json.hpp>

#include <deque>
#include <map>

namespace pyasync::testing::detail {
namespace {

/// Any pyasync invoker: a replayed case never runs, but its row needs an info that has one.
class replayed_case final : public case_invoker {
public:
    [[nodiscard]] case_kind kind() const noexcept override { return case_kind::async; }
};

class event_replay {
public:
    event_replay(const options &opts, const std::string &program) : report_(opts, stdout, program, properties_) {}

    /// Handles one line; false once the closing suite event was handled.
    bool handle(const std::string &line);
    int finish(bool closed);

private:
    case_info &info_for(const nlohmann::json &event);
    void case_finished(const nlohmann::json &event);

    run_properties properties_;
    reporter_list report_;
    std::deque<case_info> infos_; ///< stable addresses: rows point at their info
    std::map<std::string, case_info *> by_name_;
    std::deque<case_result> rows_;
    std::vector<const case_result *> results_;
    run_totals totals_;
    bool started_ = false;
    std::size_t not_events_ = 0;
};

std::string text_of(const nlohmann::json &event, const char *key) {
    const auto found = event.find(key);
    return found != event.end() && found->is_string() ? found->get<std::string>() : std::string();
}

case_info &event_replay::info_for(const nlohmann::json &event) {
    const std::string name = text_of(event, "name");
    if (const auto found = by_name_.find(name); found != by_name_.end()) {
        return *found->second;
    }
    case_info &info = infos_.emplace_back();
    const auto dot = name.rfind('.'); // "binary::Suite.Case": the case name has no dot
    info.suite = dot == std::string::npos ? name : name.substr(0, dot);
    info.name = dot == std::string::npos ? std::string() : name.substr(dot + 1);
    info.file = text_of(event, "file");
    info.line = event.value("line", 0);
    static const auto never_run = std::make_shared<replayed_case>(); // one for every replayed row
    info.invoker = never_run;
    by_name_.emplace(name, &info);
    return info;
}

void event_replay::case_finished(const nlohmann::json &event) {
    case_info &info = info_for(event);
    if (info.file.empty()) {
        info.file = text_of(event, "file");
        info.line = event.value("line", 0);
    }
    case_result &row = rows_.emplace_back();
    row.info = &info;
    row.id = static_cast<int>(rows_.size() - 1);
    row.seconds = event.value("exec_time", 0.0);
    row.output = text_of(event, "stdout");
    row.finished = true;
    const std::string verdict = text_of(event, "event");
    const std::string message = text_of(event, "message");
    if (verdict == "ok") {
        row.status = outcome::passed;
        ++totals_.passed;
    } else if (verdict == "skipped" || verdict == "ignored") {
        row.status = verdict == "skipped" ? outcome::skipped : outcome::ignored;
        row.skip_reason = message;
        ++(verdict == "skipped" ? totals_.skipped : totals_.ignored);
    } else {
        row.fail(message.empty() ? "the case failed (event '" + verdict + "' without a message)" : message);
        ++totals_.failed;
    }
    results_.push_back(&row);
    report_.case_finished(row);
}

bool event_replay::handle(const std::string &line) {
    if (line.empty()) {
        return true;
    }
    const nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
    if (!event.is_object()) {
        ++not_events_;
        report_.note("pyasync-test: not an event: " + line);
        return true;
    }
    const std::string type = text_of(event, "type");
    const std::string what = text_of(event, "event");
    if (type == "note") {
        report_.note(text_of(event, "text"));
    } else if (type == "suite" && what == "started") {
        started_ = true;
        report_.run_started({event.value("test_count", std::size_t{0}), event.value("suite_count", std::size_t{0}),
                             std::nullopt, 0, 1});
    } else if (type == "test" && what == "started") {
        report_.case_started(info_for(event));
    } else if (type == "test") {
        case_finished(event);
    } else if (type == "suite") {
        // The closing event's totals are the authority: they count failures outside any case
        // (a suite fixture's tear-down) that no test event shows.
        totals_.passed = event.value("passed", totals_.passed);
        totals_.failed = event.value("failed", totals_.failed);
        totals_.skipped = event.value("skipped", totals_.skipped);
        totals_.ignored = event.value("ignored", totals_.ignored);
        totals_.filtered_out = event.value("filtered_out", std::size_t{0});
        totals_.interrupted = event.value("interrupted", false);
        totals_.interrupted_by = event.value("interrupted_by", "");
        totals_.session_error = event.value("error", std::string());
        totals_.seconds = event.value("exec_time", 0.0);
        return false;
    } else {
        ++not_events_;
        report_.note("pyasync-test: an event of unknown type: " + line);
    }
    return true;
}

int event_replay::finish(bool closed) {
    if (!started_) {
        report_.run_started({results_.size(), 0, std::nullopt, 0, 1});
    }
    if (!closed) {
        report_.note("pyasync-test: the event stream ended before the run's closing event");
    }
    const bool delivered = report_.run_finished(results_, totals_);
    return delivered && closed && not_events_ == 0 ? exit_ok : exit_internal;
}

} // namespace

int replay_events(std::istream &in, const options &opts, const std::string &program) {
    event_replay replay(opts, program);
    std::string line;
    bool closed = false;
    while (!closed && std::getline(in, line)) {
        closed = !replay.handle(line);
    }
    return replay.finish(closed);
}

} // namespace pyasync::testing::detail
