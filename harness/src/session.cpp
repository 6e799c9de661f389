// The session: parse, select, list or run, report, exit status.
#include "replay.hpp"
#include "runner.hpp"
#include "schedule_exploration.hpp"

#include <pyasync/testing/session.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sys/prctl.h>
#include <unistd.h>

namespace pyasync::testing {
namespace detail {

std::uint32_t effective_seed(const options &opts) {
    static const std::uint32_t chosen =
        opts.seed ? *opts.seed : static_cast<std::uint32_t>(std::random_device{}() % 100000);
    return chosen;
}

run_plan_summary summarize_iteration(const std::vector<const case_info *> &order, const options &opts, int iteration) {
    std::set<std::string> suites;
    for (const case_info *info : order) {
        suites.insert(info->suite);
    }
    std::optional<std::uint32_t> seed;
    if (opts.order == case_order::random) {
        seed = effective_seed(opts) + static_cast<std::uint32_t>(iteration);
    }
    return {order.size(), suites.size(), seed, iteration, opts.repeat};
}

void report_ignored_cases(const selection &chosen, reporter &report, run_record &record) {
    for (const case_info *info : chosen.ignored) {
        case_result &result = record.add(*info, 0);
        result.status = outcome::ignored;
        result.skip_reason = info->ignore_reason;
        result.finished = true;
        record.count(result);
        report.case_finished(result);
    }
}

} // namespace detail

namespace {

void touch(const char *path) {
    std::ofstream{path, std::ios::app};
}

/// The exit handler of --print-exit-status: registered before anything else of the run, it runs
/// after every handler and static destructor registered later (the interpreter's included).
void print_exit_status(int status, void *) {
    char line[64];
    const int length = std::snprintf(line, sizeof line, "pyasync-test: exit status %d\n", status);
    std::fflush(nullptr);
    [[maybe_unused]] const ssize_t written = write(STDOUT_FILENO, line, static_cast<std::size_t>(length));
}

/// What an --isolate parent passes on to each child.
std::vector<std::string> forwarded_arguments(const options &opts) {
    std::vector<std::string> out;
    if (!opts.loop_factory.empty()) {
        out.insert(out.end(), {"--loop-factory", opts.loop_factory});
    }
    if (opts.timeout_seconds) {
        out.insert(out.end(), {"--timeout", std::to_string(*opts.timeout_seconds)});
    }
    out.insert(out.end(), {"--timeout-grace", std::to_string(opts.timeout_grace_seconds)});
    if (opts.asyncio_debug) {
        out.emplace_back("--asyncio-debug");
    }
    if (opts.strict_tasks) {
        out.emplace_back("--strict-tasks");
    }
    if (opts.schedule) {
        out.insert(out.end(),
                   {"--schedule", detail::schedule_name(*opts.schedule), "--schedule-seed",
                    std::to_string(*opts.schedule_seed), "--schedule-runs", std::to_string(*opts.schedule_runs)});
    }
    if (!opts.python_args.empty()) {
        out.emplace_back("--");
        out.insert(out.end(), opts.python_args.begin(), opts.python_args.end());
    }
    return out;
}

} // namespace

session::session(int argc, const char *const *argv)
        : program_(argc > 0 ? argv[0] : "pyasync-test"), arguments_(argv, argv + argc) {}

int session::run() {
    std::vector<const char *> argv;
    for (const std::string &argument : arguments_) {
        argv.push_back(argument.c_str());
    }
    options opts;
    try {
        opts = options::parse(static_cast<int>(argv.size()), argv.data());
        detail::validate_filters(opts);
    } catch (const usage_error &error) {
        std::fprintf(stderr, "%s: error: %s\n", program_.c_str(), error.what());
        return exit_usage;
    }
    if (opts.print_exit_status && on_exit(print_exit_status, nullptr) != 0) {
        std::fprintf(stderr, "%s: cannot register the exit handler of --print-exit-status\n", program_.c_str());
        return exit_internal;
    }
    if (opts.help) {
        std::cout << (opts.format == output_format::json ? options::help_json(program_) : options::help_text(program_));
        return exit_ok;
    }
    if (opts.version) {
        std::cout << "pyasync-test " << PYASYNC_VERSION_STRING << "\n";
        return exit_ok;
    }
    if (opts.report_events) {
        return detail::replay_events(std::cin, opts, program_);
    }
    if (!registration_errors().empty()) {
        for (const std::string &error : registration_errors()) {
            std::fprintf(stderr, "%s: error: %s\n", program_.c_str(), error.c_str());
        }
        return exit_usage;
    }
    if (opts.serve && opts.list == list_format::none) {
        return detail::run_serving(opts, program_);
    }
    for (const std::string &path : opts.shard_status_files) {
        touch(path.c_str());
    }
    detail::selection chosen = detail::select_cases(registered_cases(), opts);
    if (opts.list != list_format::none) {
        detail::write_listing(std::cout, chosen, opts);
        std::cout.flush();
        if (!std::cout) { // a full disk, a closed pipe: a listing nobody can read is no listing
            std::fprintf(stderr, "%s: cannot write the listing to stdout: %s\n", program_.c_str(),
                         std::strerror(errno));
            return exit_internal;
        }
        return exit_ok;
    }
    if (opts.shard_count) {
        detail::keep_shard(chosen, *opts.shard_count, *opts.shard_index);
    }
    const bool exact_names_missed =
        opts.exact && !opts.filters.empty() && chosen.runnable.empty() && chosen.ignored.empty();
    if (chosen.runnable.empty() && (opts.fail_if_no_tests || exact_names_missed)) {
        std::fprintf(stderr, "%s: no case selected (%zu registered, %zu filtered out)%s\n", program_.c_str(),
                     registered_cases().size(), chosen.filtered_out,
                     exact_names_missed ? "; --exact compares whole names like Suite.Case (see --list)" : "");
        return exit_no_tests;
    }
    if (!opts.premature_exit_file.empty()) {
        touch(opts.premature_exit_file.c_str());
    }
    if (opts.isolated_child) {
        // The --isolate parent puts each child in a process group of its own: should the parent
        // die (killed by a driver, a CI timeout), the child must not run on as an orphan.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1) {
            return exit_interrupted; // the parent was already gone
        }
    }
    std::FILE *out = nullptr;
    if (opts.event_fd && opts.isolated_child) {
        // Close-on-exec: a process the case starts must not hold the parent's event pipe open.
        fcntl(*opts.event_fd, F_SETFD, FD_CLOEXEC);
        out = fdopen(*opts.event_fd, "w");
    }
    int saved_stdout = -1;
    if (out == nullptr) {
        saved_stdout = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
        out = fdopen(fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0), "w");
        if (opts.format == output_format::json) {
            // stdout carries JSON alone: what cases print (uncaptured with -j N or --nocapture)
            // goes to stderr instead of between the events.
            std::fflush(stdout);
            dup2(STDERR_FILENO, STDOUT_FILENO);
        }
    }
    detail::run_properties properties;
    if (opts.order == case_order::random) {
        properties["seed"] = std::to_string(detail::effective_seed(opts));
    }
    if (opts.shard_count) {
        properties["shard"] = std::to_string(*opts.shard_index) + "/" + std::to_string(*opts.shard_count);
    }
    detail::reporter_list report(opts, out, program_, properties);
    detail::run_record record;
    const auto start = std::chrono::steady_clock::now();
    int status = opts.isolate && !opts.isolated_child
                     ? detail::run_isolated(opts, chosen, program_, forwarded_arguments(opts), report, record)
                     : detail::run_in_process(opts, chosen, program_, report, record);
    record.totals.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    record.totals.filtered_out = chosen.filtered_out;
    if (status == exit_internal && record.totals.session_error.empty()) {
        record.totals.session_error = "the session failed outside any case (see the message above)";
    }
    if (!record.python_version.empty()) {
        properties["python"] = record.python_version;
    }
    detail::report_late_failures(report, record.totals);
    const bool delivered = report.run_finished(record.results, record.totals);
    if (status == exit_ok) {
        if (record.totals.failed != 0 || record.totals.late_failures != 0) {
            status = exit_failed;
        } else if (opts.skip_exit_code && record.totals.passed == 0 && record.totals.skipped != 0) {
            status = *opts.skip_exit_code;
        }
    }
    if (!delivered && status == exit_ok) {
        status = exit_internal; // a report CI relies on is missing
    }
    if (std::fflush(out) != 0 || std::ferror(out) != 0) {
        // Events or lines lost to a full disk or a closed pipe: the run's report is incomplete.
        std::fprintf(stderr, "%s: cannot write the run's %s to %s: %s\n", program_.c_str(),
                     opts.format == output_format::json ? "JSON events" : "report",
                     opts.event_fd && opts.isolated_child ? "the parent's event pipe" : "stdout", std::strerror(errno));
        if (status == exit_ok) {
            status = exit_internal;
        }
    }
    std::fclose(out);
    if (saved_stdout >= 0) {
        std::fflush(stdout);
        dup2(saved_stdout, STDOUT_FILENO);
        close(saved_stdout);
    }
    if (!opts.premature_exit_file.empty()) {
        std::remove(opts.premature_exit_file.c_str());
    }
    return status;
}

} // namespace pyasync::testing

namespace pyasync {
int harness_main(int argc, char **argv) {
    return testing::session(argc, argv).run();
}
} // namespace pyasync
