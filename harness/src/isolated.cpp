// --isolate: each case in a child process (this binary, re-executed with --exact NAME), so a
// crash, an abort or a hang fails that case and the run goes on. No interpreter here.
#include "runner.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace pyasync::testing::detail {
namespace {

// Ctrl-C and SIGTERM: the first stops the running child (SIGINT, so it reports its case as
// interrupted; SIGKILL if it has not ended within `interrupt_grace_s`) and ends the run with its
// summary and reports; the second kills the child and exits at once. Children run in their own
// process group, so a terminal's Ctrl-C reaches only this process and is passed on once.
volatile std::sig_atomic_t stop_requested = 0;
volatile pid_t running_child = 0;
constexpr double interrupt_grace_s = 5.0;

extern "C" void on_stop_signal(int) {
    if (stop_requested != 0) {
        if (running_child > 0) {
            kill(running_child, SIGKILL);
        }
        constexpr char message[] = "\npyasync-test: interrupted twice: exiting now\n";
        (void)!write(STDERR_FILENO, message, sizeof message - 1);
        _exit(exit_interrupted);
    }
    stop_requested = 1;
    if (running_child > 0) {
        kill(running_child, SIGINT);
    }
}

/// Installs the stop handler for SIGINT and SIGTERM for its lifetime.
class stop_signals {
public:
    stop_signals() {
        struct sigaction action {};
        action.sa_handler = on_stop_signal;
        sigemptyset(&action.sa_mask);
        for (int k = 0; k < 2; ++k) {
            sigaction(signals_[k], &action, &previous_[k]);
        }
    }
    ~stop_signals() {
        for (int k = 0; k < 2; ++k) {
            sigaction(signals_[k], &previous_[k], nullptr);
        }
    }
    stop_signals(const stop_signals &) = delete;
    stop_signals &operator=(const stop_signals &) = delete;

private:
    int signals_[2] = {SIGINT, SIGTERM};
    struct sigaction previous_[2]{};
};

/// Variables the child must not see: it runs one case, unsharded, and writes no reports.
bool withheld(std::string_view entry) {
    for (std::string_view name : {"TEST_TOTAL_SHARDS=", "TEST_SHARD_INDEX=", "GTEST_TOTAL_SHARDS=",
                                  "GTEST_SHARD_INDEX=", "TEST_SHARD_STATUS_FILE=", "GTEST_SHARD_STATUS_FILE=",
                                  "XML_OUTPUT_FILE=", "GTEST_OUTPUT=", "TEST_PREMATURE_EXIT_FILE=", "PYASYNC_TEST_"}) {
        if (entry.starts_with(name)) {
            return true;
        }
    }
    return false;
}

struct child_outcome {
    std::string events;
    std::string output;
    int wait_status = 0;
    bool killed_for_time = false;
    bool killed_for_interrupt = false;
};

child_outcome run_child(const std::vector<std::string> &arguments, std::optional<double> limit) {
    child_outcome result;
    int events[2], output[2];
    if (pipe2(events, O_CLOEXEC) != 0 || pipe2(output, O_CLOEXEC) != 0) {
        result.output = std::string("pyasync-test: pipe failed: ") + std::strerror(errno);
        result.wait_status = -1;
        return result;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawn_file_actions_adddup2(&actions, events[1], 3);
    posix_spawn_file_actions_adddup2(&actions, output[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, output[1], STDERR_FILENO);
    std::vector<std::string> environment{"PYASYNC_TEST_EVENT_FD=3"};
    for (char **entry = environ; *entry != nullptr; ++entry) {
        if (!withheld(*entry)) {
            environment.emplace_back(*entry);
        }
    }
    std::vector<char *> argv, envp;
    for (const std::string &a : arguments) {
        argv.push_back(const_cast<char *>(a.c_str()));
    }
    argv.push_back(nullptr);
    for (const std::string &e : environment) {
        envp.push_back(const_cast<char *>(e.c_str()));
    }
    envp.push_back(nullptr);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(events[1]);
    close(output[1]);
    if (spawned != 0) {
        close(events[0]);
        close(output[0]);
        result.output = std::string("pyasync-test: cannot start the child: ") + std::strerror(spawned);
        result.wait_status = -1;
        return result;
    }
    running_child = pid;
    if (stop_requested != 0) { // the signal came between two children
        kill(pid, SIGINT);
    }
    std::optional<std::chrono::steady_clock::time_point> stop_deadline;
    // The child's own watchdog stops a hung case; this is the backstop if even that hangs.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(std::min(limit ? *limit + 10.0 : 1e9, 1e9));
    pollfd fds[2] = {{events[0], POLLIN, 0}, {output[0], POLLIN, 0}};
    std::string *sinks[2] = {&result.events, &result.output};
    int open_count = 2;
    while (open_count > 0) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 && !result.killed_for_time) {
            kill(pid, SIGKILL);
            result.killed_for_time = true;
        }
        if (stop_requested != 0 && !stop_deadline) {
            stop_deadline =
                std::chrono::steady_clock::now() + std::chrono::seconds(static_cast<int>(interrupt_grace_s));
        }
        if (stop_deadline && std::chrono::steady_clock::now() >= *stop_deadline && !result.killed_for_interrupt) {
            kill(pid, SIGKILL); // it ignored the interruption (a sync case blocked in C++)
            result.killed_for_interrupt = true;
        }
        if (poll(fds, 2, result.killed_for_time ? 1000 : static_cast<int>(std::min<long long>(left.count(), 1000))) <
                0 &&
            errno != EINTR) {
            break;
        }
        for (int k = 0; k < 2; ++k) {
            if (fds[k].fd >= 0 && (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                char buffer[8192];
                const ssize_t n = read(fds[k].fd, buffer, sizeof buffer);
                if (n > 0) {
                    sinks[k]->append(buffer, static_cast<std::size_t>(n));
                } else if (n == 0 || errno != EINTR) {
                    close(fds[k].fd);
                    fds[k].fd = -1;
                    --open_count;
                }
            }
        }
    }
    while (waitpid(pid, &result.wait_status, 0) < 0 && errno == EINTR) {
    }
    running_child = 0;
    return result;
}

std::string describe_wait(int status) {
    if (WIFSIGNALED(status)) {
        const int signal_number = WTERMSIG(status);
        return "killed by signal " + std::to_string(signal_number) + " (" + strsignal(signal_number) + ")";
    }
    if (WIFEXITED(status)) {
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    }
    return "ended abnormally";
}

} // namespace

int run_isolated(const options &opts, const selection &chosen, const std::string &program,
                 const std::vector<std::string> &forwarded, reporter &report, run_record &record) {
    const std::uint32_t seed = effective_seed(opts);
    stop_signals handler;
    stop_requested = 0;
    bool stop = false;
    for (int iteration = 0; !stop && (opts.repeat < 0 || iteration < opts.repeat); ++iteration) {
        const auto order = ordered(chosen.runnable, opts.order, seed + static_cast<std::uint32_t>(iteration));
        report.run_started(summarize_iteration(order, opts, iteration));
        if (iteration == 0) {
            report_ignored_cases(chosen, report, record);
        }
        for (const case_info *info : order) {
            case_result &result = record.add(*info, iteration);
            report.case_started(*info);
            std::vector<std::string> arguments{
                program, "--isolated-child", "--exact", info->full_name(), "--include-ignored", "--format",
                "json",  "--nocapture"};
            arguments.insert(arguments.end(), forwarded.begin(), forwarded.end());
            const auto limit = time_limit(*info, opts);
            const auto start = std::chrono::steady_clock::now();
            child_outcome child = run_child(arguments, limit);
            result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            result.output = std::move(child.output);
            bool reported = false;
            for (std::size_t begin = 0; begin < child.events.size();) {
                auto end = child.events.find('\n', begin);
                if (end == std::string::npos) {
                    end = child.events.size();
                }
                const auto event = nlohmann::json::parse(child.events.substr(begin, end - begin), nullptr, false);
                begin = end + 1;
                if (!event.is_object() || event.value("type", "") != "test" ||
                    event.value("name", "") != info->full_name()) {
                    continue;
                }
                const std::string kind = event.value("event", "");
                if (kind == "ok") {
                    result.status = outcome::passed;
                } else if (kind == "failed") {
                    result.fail(event.value("message", ""));
                } else if (kind == "skipped" || kind == "ignored") {
                    result.status = outcome::skipped;
                    result.skip_reason = event.value("message", "");
                } else {
                    continue;
                }
                reported = true;
            }
            if (stop_requested != 0) {
                record.totals.interrupted = true;
                stop = true;
                if (!reported) { // a case that reported before it was stopped keeps its verdict
                    result.fail("interrupted (SIGINT or SIGTERM): the case's process was stopped" +
                                std::string(child.killed_for_interrupt
                                                ? " with SIGKILL after " +
                                                      std::to_string(static_cast<int>(interrupt_grace_s)) + " s"
                                                : ""));
                }
                reported = true;
            }
            if (!reported) {
                result.fail(info->file + ":" + std::to_string(info->line) + ": Failure\n  the case's process " +
                            (child.killed_for_time ? "hung past its timeout and was killed"
                                                   : describe_wait(child.wait_status)) +
                            " before reporting a result (its output is below)");
            }
            result.finished = true;
            record.count(result);
            if (result.status != outcome::failed && !opts.capture) {
                std::fwrite(result.output.data(), 1, result.output.size(), stdout);
                result.output.clear();
            }
            report.case_finished(result);
            if (stop || (result.status == outcome::failed && opts.fail_fast)) {
                stop = true;
                break;
            }
        }
    }
    return stop_requested != 0 ? exit_interrupted : exit_ok;
}

} // namespace pyasync::testing::detail
