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
#include "reporters/json_events.hpp"
#include "runner.hpp"

#include <pyasync/run.hpp>
#include <pyasync/testing/assertions.hpp>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <sys/prctl.h>
#include <unistd.h>

namespace pyasync::testing::detail {

/// The serving child's reporter: case events as --format json writes them, harness notes as
/// events too, and the replies of the protocol, all on one stream. Every event names the command
/// it belongs to (`seq`, the command's line number, from 1), and a command gets one reply at most:
/// a second result for the same `run` (a case that broke the loop ends twice) becomes a note.
class serve_channel final : public reporter {
public:
    explicit serve_channel(std::FILE *out) : out_(out) {}

    /// A command line was read: what follows answers it.
    void begin_command() {
        ++seq_;
        answered_ = false;
    }
    [[nodiscard]] long seq() const { return seq_; }

    void run_started(const run_plan_summary &) override {}
    /// The parent knows which case it asked for: no "started" event (a write saved per case).
    void case_started(const case_info &) override {}
    void case_finished(const case_result &result) override {
        flush_all_output(); // what the case printed is in the stderr file before its verdict is out
        nlohmann::json event = case_event(result);
        if (answered_) {
            note("a second result for command " + std::to_string(seq_) + " (" + result.info->full_name() +
                 ", not sent as its answer): " + event.value("event", "") + " " + event.value("message", ""));
            return;
        }
        reply(std::move(event));
    }
    void note(const std::string &text) override {
        notes_.push_back(text);
        emit({{"type", "note"}, {"text", text}});
    }
    /// An event of its own: the parent fails its session with it, never the case it is running.
    void outside_failure(const late_failure &failure) override {
        emit({{"type", "late_failure"}, {"after", failure.after}, {"message", failure.text}});
    }
    /// Called only when the process ends inside a case (exit() during it: see
    /// in_process_runner::exited_during_run), after the case's answer: the closing event tells
    /// the parent that this child reads no further command, which then goes to a fresh child.
    bool run_finished(const std::vector<const case_result *> &, const run_totals &totals) override {
        emit({{"type", "serve"},
              {"event", "finished"},
              {"errors", take_notes()},
              {"interrupted", false},
              {"loop_failure", ""},
              {"exited", totals.session_error},
              {"last_seq", seq_}});
        return true;
    }

    /// The answer to the current command.
    void reply(nlohmann::json event) {
        answered_ = true;
        emit(std::move(event));
    }
    /// Writes `event` with the current command's `seq`. A write that fails means the parent is
    /// gone (or the pipe broke): nobody can read a verdict any more, so the child ends (status 3)
    /// rather than run cases blind.
    void emit(nlohmann::json event) {
        flush_all_output();
        event["seq"] = seq_;
        const std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() || std::fflush(out_) != 0) {
            const std::string text =
                "pyasync-test --serve: cannot write to the event pipe (stdout): " + std::string(std::strerror(errno)) +
                "; the parent is gone: stopping\n";
            [[maybe_unused]] const ssize_t written = write(STDERR_FILENO, text.data(), text.size());
            _exit(exit_internal);
        }
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
    std::vector<std::string> notes_;
    long seq_ = 0;
    bool answered_ = false;
};

/// The options a serving child cannot honour, each with what to do instead: the parent chooses
/// which case runs when, and reports it. Empty when every option can be honoured.
std::string options_serving_cannot_honour(const options &opts) {
    std::string refused;
    const auto refuse = [&refused](const std::string &what) { refused += (refused.empty() ? "" : "; ") + what; };
    if (opts.repeat != 1) {
        refuse("--repeat " + std::to_string(opts.repeat) +
               " (also PYASYNC_TEST_REPEAT): each case runs once per pytest item; repeat the items "
               "(pytest's --count with pytest-repeat, or `pytest --lf` in a loop), or run the binary directly");
    }
    if (opts.test_threads != 1) {
        refuse("--test-threads " + std::to_string(opts.test_threads) +
               ": cases run one at a time, as pytest asks for them; use pytest-xdist's -n for parallel cases");
    }
    if (opts.isolate) {
        refuse("--isolate: the plugin already runs a crashing case's successors in a fresh child");
    }
    if (opts.order != case_order::declared) {
        refuse("a shuffled order (--shuffle, --order): pytest chooses the order of its items");
    }
    if (opts.fail_fast) {
        refuse("--fail-fast: use pytest's -x");
    }
    if (!opts.junit_paths.empty()) {
        refuse("--junit: use pytest's --junitxml");
    }
    return refused;
}

int in_process_runner::serve(std::istream &commands, serve_channel &channel) {
    const exit_guard guard(*this);
    try {
        py::module_::import("faulthandler").attr("enable")(py::arg("all_threads") = true);
        install_stop_signal_handlers([this](int signal_number) { on_stop_signal(signal_number); });
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
        channel.begin_command();
        channel.take_notes();
        const std::size_t space = line.find(' ');
        const std::string verb = line.substr(0, space);
        const std::string argument = space == std::string::npos ? "" : line.substr(space + 1);
        if (verb == "teardown") {
            serve_tear_down(argument, channel);
            continue;
        }
        if (verb != "setup" && verb != "run") {
            channel.reply({{"type", "serve"},
                           {"event", "error"},
                           {"message", "unknown command '" + line +
                                           "': expected 'setup Suite.Case', 'run Suite.Case' or 'teardown Suite'"}});
            continue;
        }
        const auto found = by_name.find(argument);
        if (found == by_name.end()) {
            channel.reply({{"type", verb == "run" ? "test" : "setup"},
                           {"event", "failed"},
                           {"name", argument},
                           {"message", "no case named '" + argument + "' in this binary (see --list)"}});
        } else if (verb == "setup") {
            serve_set_up(*found->second, channel);
        } else {
            serve_run(*found->second);
        }
        report_late_failures(channel, record_.totals); // after its answer: never taken for it
    }
    channel.take_notes();
    const std::size_t failed_before = record_.totals.failed;
    suites_.tear_down_remaining(loop_);
    globals_.tear_down(loop_);
    close_loop();
    report_late_failures(channel, record_.totals);
    const bool clean = record_.totals.failed == failed_before;
    // `last_seq`: the last command this child read. A parent that sent a later one knows the child
    // ended before reading it (a case broke the loop or stopped it): that command is not failed,
    // it is sent again to a fresh child.
    channel.emit({{"type", "serve"},
                  {"event", "finished"},
                  {"errors", channel.take_notes()},
                  {"interrupted", executor_.interrupted()},
                  {"loop_failure", loop_failure_},
                  {"last_seq", channel.seq()}});
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
    channel.reply(std::move(reply));
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
    retire_reported_rows();
}

void in_process_runner::retire_reported_rows() {
    auto &table = results();
    std::lock_guard lock(table.mutex);
    // A row still referred to (an abandoned case's Task, a case under a stopped loop) stays, and
    // is retired after a later command once its body has ended.
    std::erase_if(record_.results, [&table](const case_result *row) {
        if (!row->finished || !row->body_ended) {
            return false;
        }
        table.retire(row->id); // frees the row: `row` is not read after this
        return true;
    });
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
    channel.reply({{"type", "teardown"},
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
    if (const std::string refused = options_serving_cannot_honour(opts); !refused.empty()) {
        std::fprintf(stderr, "%s: error: --serve cannot honour %s\n", program.c_str(), refused.c_str());
        return exit_usage;
    }
    // stdout carries the events alone: what cases print outside capture goes to stderr. The
    // event pipe is close-on-exec: a process a case starts must not hold it (the parent would
    // wait for that process to see the child's end).
    std::fflush(stdout);
    std::FILE *events = fdopen(fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0), "w");
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
