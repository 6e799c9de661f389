// --serve: the child the pytest plugin keeps per binary. Python starts once; the parent names
// one command per line on stdin and reads one JSON event per line on stdout:
//   setup Suite.Case  -> {"type":"setup","name":…,"event":"ok"|"failed","message":…}
//                        (the loop for the case, per --loop-scope, and its suite's fixture)
//   run Suite.Case    -> the case's result event, as --format json writes it
//   teardown Suite    -> {"type":"teardown","suite":…,"event":"ok"|"failed","message":…}
//   (end of input)    -> every fixture torn down, then {"type":"serve","event":"finished",…}
// Output is not captured: what a case prints goes to stderr, where the parent attributes it to
// the command running, and where it survives a crash.
// The first line is {"type":"serve","event":"ready",…}, or "failed" with the reason when the
// session cannot start (a global fixture failed). Harness notes (warnings, tear-down errors)
// arrive as {"type":"note","text":…} lines before the reply of the command that caused them.
#include "capture.hpp"
#include "in_process.hpp"
#include "interruption.hpp"
#include "runner.hpp"

#include <pyasync/run.hpp>
#include <pyasync/testing/assertions.hpp>

#include <nlohmann/json.hpp>

#include <csignal>
#include <iostream>
#include <sys/prctl.h>
#include <unistd.h>

namespace pyasync::testing::detail {

/// The serving child's reporter: case events as --format json writes them, harness notes as
/// events too, and the replies of the protocol, all on one stream.
class serve_channel final : public reporter {
public:
    explicit serve_channel(std::FILE *out) : out_(out), cases_(make_json_reporter(out)) {}

    void run_started(const run_plan_summary &) override {}
    /// The parent knows which case it asked for: no "started" event (a write saved per case).
    void case_started(const case_info &) override {}
    void case_finished(const case_result &result) override {
        flush_all_output(); // what the case printed is in the stderr file before its verdict is out
        cases_->case_finished(result);
    }
    void note(const std::string &text) override {
        notes_.push_back(text);
        emit({{"type", "note"}, {"text", text}});
    }
    bool run_finished(const std::vector<const case_result *> &, const run_totals &) override { return true; }

    void emit(const nlohmann::json &event) {
        flush_all_output();
        const std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        std::fwrite(line.data(), 1, line.size(), out_);
        std::fputc('\n', out_);
        std::fflush(out_);
    }
    /// The notes since the last call, joined by newlines.
    std::string take_notes() {
        std::string joined;
        for (const std::string &text : notes_) {
            joined += (joined.empty() ? "" : "\n") + text;
        }
        notes_.clear();
        return joined;
    }

private:
    std::FILE *out_;
    std::unique_ptr<reporter> cases_;
    std::vector<std::string> notes_;
};

int in_process_runner::serve(std::istream &commands, serve_channel &channel) {
    const exit_guard guard(*this);
    try {
        py::module_::import("faulthandler").attr("enable")(py::arg("all_threads") = true);
        install_stop_signal_handlers([this] { on_stop_signal(); });
        open_loop();
    } catch (...) {
        channel.emit({{"type", "serve"},
                      {"event", "failed"},
                      {"message", "cannot start the session: " + describe_current_exception()}});
        return session_did_not_start(opts_);
    }
    if (!globals_.set_up(loop_)) {
        channel.emit({{"type", "serve"}, {"event", "failed"}, {"message", globals_.failure()}});
        globals_.tear_down(loop_);
        close_loop();
        return exit_internal;
    }
    suites_.hold_open();
    std::map<std::string, const case_info *, std::less<>> by_name;
    for (const case_info &info : registered_cases()) {
        by_name.emplace(info.full_name(), &info);
    }
    channel.emit({{"type", "serve"}, {"event", "ready"}, {"cases", by_name.size()}, {"python", Py_GetVersion()}});
    std::string line;
    while (!stop_ && loop_failure_.empty() && std::getline(commands, line)) {
        channel.take_notes();
        const std::size_t space = line.find(' ');
        const std::string verb = line.substr(0, space);
        const std::string argument = space == std::string::npos ? "" : line.substr(space + 1);
        if (verb == "teardown") {
            serve_tear_down(argument, channel);
            continue;
        }
        if (verb != "setup" && verb != "run") {
            channel.emit({{"type", "serve"},
                          {"event", "error"},
                          {"message", "unknown command '" + line +
                                          "': expected 'setup Suite.Case', 'run Suite.Case' or 'teardown Suite'"}});
            continue;
        }
        const auto found = by_name.find(argument);
        if (found == by_name.end()) {
            channel.emit({{"type", verb == "run" ? "test" : "setup"},
                          {"event", "failed"},
                          {"name", argument},
                          {"message", "no case named '" + argument + "' in this binary (see --list)"}});
        } else if (verb == "setup") {
            serve_set_up(*found->second, channel);
        } else {
            serve_run(*found->second);
        }
    }
    channel.take_notes();
    const std::size_t failed_before = record_.totals.failed;
    suites_.tear_down_remaining(loop_);
    globals_.tear_down(loop_);
    close_loop();
    const bool clean = record_.totals.failed == failed_before;
    channel.emit({{"type", "serve"},
                  {"event", "finished"},
                  {"errors", channel.take_notes()},
                  {"interrupted", executor_.interrupted()},
                  {"loop_failure", loop_failure_}});
    if (executor_.interrupted()) {
        return exit_interrupted;
    }
    return !loop_failure_.empty() ? exit_internal : clean ? exit_ok : exit_failed;
}

std::string in_process_runner::serve_prepare(const case_info &info) {
    try {
        ensure_loop_for(info);
    } catch (...) {
        return "cannot open a new event loop: " + describe_current_exception();
    }
    suites_.set_up(info, loop_);
    return {};
}

void in_process_runner::serve_set_up(const case_info &info, serve_channel &channel) {
    prepared_ = nullptr;
    std::string failure = serve_prepare(info);
    if (failure.empty()) {
        prepared_ = &info;
        failure = suites_.set_up_failure(info);
    }
    nlohmann::json reply{{"type", "setup"}, {"name", info.full_name()}, {"event", failure.empty() ? "ok" : "failed"}};
    if (!failure.empty()) {
        reply["message"] = failure;
    }
    channel.emit(reply);
}

void in_process_runner::serve_run(const case_info &info) {
    if (prepared_ != &info) {
        loop_failure_ = serve_prepare(info); // a suite set-up failure fails the case itself
    }
    prepared_ = nullptr;
    if (!loop_failure_.empty()) {
        case_result &result = begin_case(info, 0);
        result.fail(loop_failure_);
        conclude_case(result, {});
        end_case(result);
    } else if (info.kind() == case_kind::sync) {
        run_sync_case(info, 0);
    } else {
        run_batch_on_loop({&info}, 0);
    }
}

void in_process_runner::serve_tear_down(const std::string &suite, serve_channel &channel) {
    prepared_ = nullptr;
    const std::size_t failed_before = record_.totals.failed;
    try {
        pyasync::run_until_complete(loop_, suites_.tear_down(suite));
    } catch (...) {
        report_.note("error: tearing down " + suite + " failed: " + describe_current_exception());
        ++record_.totals.failed;
    }
    const bool clean = record_.totals.failed == failed_before;
    channel.emit({{"type", "teardown"},
                  {"suite", suite},
                  {"event", clean ? "ok" : "failed"},
                  {"message", channel.take_notes()}});
}

int run_serving(const options &opts, const std::string &program) {
    // The parent may die without closing our stdin (killed by a CI timeout): do not outlive it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) {
        return exit_interrupted;
    }
    // stdout carries the events alone: what cases print outside capture goes to stderr.
    std::fflush(stdout);
    std::FILE *events = fdopen(dup(STDOUT_FILENO), "w");
    dup2(STDERR_FILENO, STDOUT_FILENO);
    serve_channel channel(events);
    run_record record;
    options serving = opts;
    serving.capture = false;
    const int status = with_in_process_runner(
        serving, program, channel, record, [&](in_process_runner &runner) { return runner.serve(std::cin, channel); });
    std::fclose(events);
    return status;
}

} // namespace pyasync::testing::detail
