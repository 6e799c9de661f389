#pragma once
/// \file
/// The `pyasync-test` command line, parsed: selection, listing, running and output options.
/// Every long flag also reads `PYASYNC_TEST_<FLAG>` from the environment (`--test-threads` from
/// `PYASYNC_TEST_TEST_THREADS`); the command line wins. GoogleTest (`--gtest_*`, `GTEST_*`),
/// libtest and Catch2 spellings are aliases of the same options.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pyasync::testing {

/// Exit statuses (pytest's table; 1 is what GoogleTest and pytest-cpp expect for failures).
enum exit_status : int {
    exit_ok = 0,          ///< every selected case passed (skips allowed)
    exit_failed = 1,      ///< a case failed
    exit_interrupted = 2, ///< Ctrl-C: the running case was cancelled and the summary printed
    exit_internal = 3,    ///< the interpreter, a global fixture or the harness itself failed
    exit_usage = 4,       ///< a bad command line (the message names the argument)
    exit_no_tests = 5,    ///< nothing selected under `--exact` or `--fail-if-no-tests`
};

/// A bad command line: `what()` names the argument and what was expected.
class usage_error : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Ignored cases: left out (the default), run alone (`--ignored`), or run too (`--include-ignored`).
enum class ignored_mode { exclude, only, include };
/// `--list`'s format (`none`: not listing); `gtest` is `--gtest_list_tests`, `tags` Catch2's `--list-tags`.
enum class list_format { none, human, terse, json, gtest, tags };
/// `--format` while running: GoogleTest-style lines, one line per case, or libtest JSON events.
enum class output_format { pretty, terse, json };
/// `--loop-scope`: one event loop for the run, one per suite, or one per case.
enum class loop_scope { session, suite, test };
/// `--color`: on a terminal without NO_COLOR, always, or never.
enum class color_mode { automatic, always, never };
/// `--order`: as declared, by name, or shuffled (`--shuffle`, with `--seed`).
enum class case_order { declared, lexical, random };
/// `--schedule`: how an async case's runs under exploration choose among the orders real timing
/// could produce (see `pyasync/detail/schedule.hpp`).
enum class schedule_strategy { random, pct };

/// Every option of a harness run, as `parse` made it from the command line and the environment.
/// The reference page lists the flags that set each field (`--help` names them too).
struct options {
    // Selection.
    std::vector<std::string> filters;             ///< positional substrings (any-of); `--exact` makes them whole names
    std::vector<std::string> tag_filters;         ///< Catch2 tag expressions (`[a][b]`, `[a],[b]`, `~[slow]`)
    bool exact = false;                           ///< `--exact`: filters and skips match whole names
    std::vector<std::string> skips;               ///< `--skip PAT`, substring (whole name with `--exact`)
    std::optional<std::string> gtest_filter;      ///< `--filter` / `--gtest_filter`, GoogleTest grammar
    ignored_mode ignored = ignored_mode::exclude; ///< `--ignored`, `--include-ignored`
    // Listing.
    list_format list = list_format::none; ///< `--list` and its `--format`
    // Running.
    int test_threads = 1;                    ///< `--test-threads`: async cases in flight at once
    bool isolate = false;                    ///< `--isolate`: each case in a child process
    int repeat = 1;                          ///< -1: until interrupted
    case_order order = case_order::declared; ///< `--order`, `--shuffle`
    std::optional<std::uint32_t> seed;       ///< `--seed`, else TEST_RANDOM_SEED
    bool fail_fast = false;                  ///< `--fail-fast`: stop after the first failed case
    std::optional<double> timeout_seconds;   ///< `--timeout`: every case's limit, unless its own
    /// After a timeout's cancellation: how long an async case may take to finish before it is
    /// abandoned (failed, its Task left pending); a loop that has not come back after a second
    /// such period is blocked, and the watchdog dumps the stacks and aborts.
    double timeout_grace_seconds = 2.0;
    std::string loop_factory;               ///< "asyncio", "uvloop" or "module:callable"
    loop_scope scope = loop_scope::session; ///< `--loop-scope`
    bool asyncio_debug = false;             ///< `--asyncio-debug`: the loop in debug mode
    bool strict_tasks = false;              ///< `--strict-tasks`: a Task or coroutine a case leaves behind fails it
    bool capture = true;                    ///< output captured per case (`--nocapture` turns it off)
    // Schedule exploration: set when any of its three flags is given; `parse` fills the others
    // (random; the seed drawn at random; 100 runs, or 1 when a seed alone replays a run).
    std::optional<schedule_strategy> schedule;  ///< `--schedule random|pct`
    std::optional<std::uint64_t> schedule_seed; ///< `--schedule-seed N`: the first run's seed
    std::optional<int> schedule_runs;           ///< `--schedule-runs K`: runs per async case
    // Output.
    output_format format = output_format::pretty; ///< `--format`
    color_mode color = color_mode::automatic;     ///< `--color`
    std::optional<int> durations;                 ///< print the N slowest cases (0: all)
    std::vector<std::string> junit_paths;         ///< `--junit`, `--gtest_output=xml:`, XML_OUTPUT_FILE
    bool quiet = false;                           ///< `--quiet`: failures and the summary only
    bool fail_if_no_tests = false;                ///< `--fail-if-no-tests`: exit 5 when nothing is selected
    /// `--print-exit-status`: the process's very last output is "pyasync-test: exit status N",
    /// so that a runner matching it (ctest's PASS_REGULAR_EXPRESSION) fails a run that ended
    /// without it: `_Exit(0)` inside a case, a crash in the interpreter's finalisation.
    bool print_exit_status = false;
    std::optional<int> skip_exit_code; ///< `--skip-exit-code`: the status of a run whose cases all skipped
    // Sharding.
    std::optional<int> shard_count; ///< `--shard-count`, GTEST_TOTAL_SHARDS, TEST_TOTAL_SHARDS
    std::optional<int> shard_index; ///< `--shard-index`, GTEST_SHARD_INDEX, TEST_SHARD_INDEX
    // Test-runner protocols, from the environment only.
    std::vector<std::string> shard_status_files; ///< TEST_SHARD_STATUS_FILE, GTEST_SHARD_STATUS_FILE: touched
    std::string premature_exit_file; ///< TEST_PREMATURE_EXIT_FILE (Bazel): exists while the run is under way
    std::optional<int> event_fd;     ///< PYASYNC_TEST_EVENT_FD: where an --isolate child writes its events
    // Internal: the child of `--isolate`; the reporting process of the pyasync-test driver.
    bool isolated_child = false;          ///< `--isolated-child`: this process is one case of an `--isolate` run
    bool report_events = false;           ///< `--report-events`: report JSON events read from stdin
    bool serve = false;                   ///< `--serve`: run the cases a parent names on stdin (the pytest plugin)
    bool help = false;                    ///< `--help` (with `--format json`: as data)
    bool version = false;                 ///< `--version`
    std::vector<std::string> python_args; ///< after `--`: `sys.argv[1:]`

    /// Parses `argv` (and the environment twins). Throws `usage_error`.
    static options parse(int argc, const char *const *argv);
    /// The `--help` text. Any thread.
    static std::string help_text(const std::string &program);
    /// `--help --format json`: the same, as data: every flag (its spellings, value, help,
    /// section and environment twin) and the prose around them. What the documentation's
    /// command-line reference is generated from. Any thread; starts no interpreter.
    static std::string help_json(const std::string &program);
};

} // namespace pyasync::testing
