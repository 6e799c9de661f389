// Every flag of a harness binary, with its aliases, value, help and environment twin.
#include "flag_table.hpp"

#include "option_values.hpp"

#include <pyasync/detail/schedule.hpp>

#include <algorithm>
#include <cctype>

namespace pyasync::testing::detail {
namespace {

using section = flag_section;

/// A switch: `--flag` sets the member; `--flag=0` (gtest style) clears it.
auto set_switch(bool options::*member, bool on = true) {
    return [member, on](parse_state &p, const std::string &value, const std::string &spelled) {
        p.o.*member = value.empty() ? on : (to_bool(value, spelled) ? on : !on);
    };
}

/// A flag whose value is parsed by `convert` into `member`.
template <typename Member, typename Convert>
auto set_value(Member options::*member, Convert convert) {
    return [member, convert](parse_state &p, const std::string &value, const std::string &spelled) {
        p.o.*member = convert(value, spelled);
    };
}

auto append_to(std::vector<std::string> options::*member) {
    return [member](parse_state &p, const std::string &value, const std::string &) { (p.o.*member).push_back(value); };
}

auto no_effect() {
    return [](parse_state &, const std::string &, const std::string &) {};
}

} // namespace

const std::vector<flag> &flags() {
    static const std::vector<flag> table = {
        // Selection.
        {section::selection, {"--exact"}, "", "FILTERs and --skip match whole names", set_switch(&options::exact)},
        {section::selection, {"--skip"}, "PAT", "skip cases containing PAT (repeatable)", append_to(&options::skips)},
        {section::selection,
         {"--filter", "--gtest_filter"},
         "SPEC",
         "GoogleTest filter: POSITIVE[-NEGATIVE], ':'-separated, '*' and '?'",
         [](parse_state &p, const std::string &v, const std::string &) { p.o.gtest_filter = v; }},
        {section::selection,
         {"--tag", "-t"},
         "EXPR",
         "Catch2 tag expression: [a][b] (and), [a],[b] (or), ~[slow] (not)",
         append_to(&options::tag_filters)},
        {section::selection,
         {"--ignored"},
         "",
         "run only ignored cases (ignore(\"why\"), hidden tags, DISABLED_)",
         [](parse_state &p, const std::string &, const std::string &) { p.o.ignored = ignored_mode::only; }},
        {section::selection,
         {"--include-ignored", "--gtest_also_run_disabled_tests"},
         "",
         "run ignored cases too",
         [](parse_state &p, const std::string &v, const std::string &f) {
             if (v.empty() || to_bool(v, f)) {
                 p.o.ignored = ignored_mode::include;
             }
         }},
        // Listing.
        {section::listing,
         {"--list", "--list-tests"},
         "",
         "list cases (--format human|terse|json);\nterse is nextest's \"name: test\" contract",
         [](parse_state &p, const std::string &, const std::string &) { p.o.list = list_format::human; },
         false},
        {section::listing,
         {"--gtest_list_tests"},
         "",
         "list in GoogleTest's layout (gtest_discover_tests, pytest-cpp)",
         [](parse_state &p, const std::string &, const std::string &) { p.o.list = list_format::gtest; },
         false},
        {section::listing,
         {"--list-tags"},
         "",
         "list tags with their case counts",
         [](parse_state &p, const std::string &, const std::string &) { p.o.list = list_format::tags; },
         false},
        // Running.
        {section::running,
         {"--test-threads", "--jobs", "-j"},
         "N",
         "async cases in flight on the loop at once",
         set_value(&options::test_threads, [](const std::string &v, const std::string &f) { return to_int(v, f, 1); }),
         true,
         "1"},
        {section::running,
         {"--isolate", "--subprocess"},
         "",
         "run each case in a child process (a crash fails only that case)",
         set_switch(&options::isolate)},
        {section::running,
         {"--repeat", "--gtest_repeat"},
         "N",
         "run the selection N times (-1: until interrupted)",
         set_value(&options::repeat,
                   [](const std::string &v, const std::string &f) { return v == "-1" ? -1 : to_int(v, f, 1); }),
         true,
         "1"},
        {section::running,
         {"--shuffle", "--gtest_shuffle"},
         "",
         "random order; a shuffle always prints its seed",
         [](parse_state &p, const std::string &v, const std::string &f) {
             if (v.empty() || to_bool(v, f)) {
                 p.o.order = case_order::random;
             }
         }},
        {section::running,
         {"--order"},
         "decl|lex|rand",
         "declaration, lexical or random order",
         set_value(&options::order,
                   [](const std::string &v, const std::string &f) {
                       return to_choice<case_order>(v, f,
                                                    {{"decl", case_order::declared},
                                                     {"lex", case_order::lexical},
                                                     {"rand", case_order::random}});
                   }),
         true,
         "decl"},
        {section::running,
         {"--seed", "--shuffle-seed", "--gtest_random_seed", "--rng-seed"},
         "S",
         "the seed of a random order (also TEST_RANDOM_SEED)",
         [](parse_state &p, const std::string &v, const std::string &f) {
             p.o.seed = static_cast<std::uint32_t>(to_int(v, f, 0));
         },
         true,
         "random, printed"},
        {section::running,
         {"--fail-fast", "-x", "--gtest_fail_fast", "--abort", "-a"},
         "",
         "stop after the first failure",
         set_switch(&options::fail_fast)},
        {section::running,
         {"--timeout"},
         "S",
         "per-case limit in seconds: async cases are cancelled through asyncio and\n"
         "fail when they end past it however they ended; sync cases are stopped by\n"
         "a watchdog that dumps stacks and aborts",
         [](parse_state &p, const std::string &v, const std::string &f) { p.o.timeout_seconds = to_seconds(v, f); }},
        {section::running,
         {"--timeout-grace"},
         "S",
         "after a timeout's cancellation, seconds an async case has to finish before it\n"
         "is abandoned; a loop still blocked after twice this is ended by the watchdog\n"
         "(stacks dumped, reports written, the process aborts)",
         [](parse_state &p, const std::string &v, const std::string &f) {
             p.o.timeout_grace_seconds = to_seconds(v, f);
         },
         true,
         "2"},
        {section::running,
         {"--loop-factory"},
         "asyncio|uvloop|trio|module:callable",
         "the event loop the cases run on (trio: async cases under trio.run, one run per batch)",
         set_value(&options::loop_factory, to_loop_factory),
         true,
         "asyncio"},
        {section::running,
         {"--loop-scope"},
         "session|suite|test",
         "one loop for the run, per suite, or a fresh loop per case",
         set_value(&options::scope,
                   [](const std::string &v, const std::string &f) {
                       return to_choice<loop_scope>(v, f,
                                                    {{"session", loop_scope::session},
                                                     {"suite", loop_scope::suite},
                                                     {"test", loop_scope::test}});
                   }),
         true,
         "session"},
        {section::running, {"--asyncio-debug"}, "", "loop debug mode", set_switch(&options::asyncio_debug)},
        {section::running,
         {"--strict-tasks"},
         "",
         "fail a case that leaves tasks pending or coroutines never awaited\n(default: warn, and cancel the tasks)",
         set_switch(&options::strict_tasks)},
        {section::running,
         {"--nocapture", "--no-capture", "-s"},
         "",
         "do not capture the cases' stdout and stderr",
         set_switch(&options::capture, false)},
        // Schedule exploration.
        {section::exploration,
         {"--schedule"},
         "random|pct",
         "run each async case under seeded schedules of the runtime's work and timers,\n"
         "executor calls and ready sockets (under trio: trio's own order), stopping at\n"
         "the first failing run, which is reported with the seed that replays it\n"
         "(random: a fresh choice each time; pct: priorities with change points)",
         set_value(&options::schedule,
                   [](const std::string &v, const std::string &f) {
                       return std::optional(to_choice<schedule_strategy>(
                           v, f, {{"random", schedule_strategy::random}, {"pct", schedule_strategy::pct}}));
                   }),
         true,
         "off; random when --schedule-seed or --schedule-runs is given"},
        {section::exploration,
         {"--schedule-seed"},
         "N",
         "the first run's seed; given alone, replays that one run (the seed a failure reports)",
         [](parse_state &p, const std::string &v, const std::string &f) { p.o.schedule_seed = to_seed(v, f); },
         true,
         "random, printed"},
        {section::exploration,
         {"--schedule-runs"},
         "K",
         "runs of each async case (sync cases run once)",
         [](parse_state &p, const std::string &v, const std::string &f) {
             p.o.schedule_runs = to_int(v, f, 1, pyasync::detail::most_schedule_runs);
         },
         true,
         "100; 1 with --schedule-seed alone"},
        // Output.
        {section::output,
         {"--format"},
         "pretty|terse|json",
         "gtest-style lines, one line per case, or libtest JSON events\n(with --list: human|terse|json)",
         [](parse_state &p, const std::string &v, const std::string &) { p.format = v; },
         true,
         "pretty; with --list: human"},
        {section::output,
         {"--color", "--colour", "--gtest_color", "--colour-mode"},
         "auto|always|never",
         "colour the output (NO_COLOR honoured)",
         set_value(&options::color,
                   [](const std::string &v, const std::string &f) {
                       return to_choice<color_mode>(v, f,
                                                    {{"auto", color_mode::automatic},
                                                     {"always", color_mode::always},
                                                     {"yes", color_mode::always},
                                                     {"never", color_mode::never},
                                                     {"no", color_mode::never},
                                                     {"ansi", color_mode::always},
                                                     {"none", color_mode::never},
                                                     {"default", color_mode::automatic}});
                   }),
         true,
         "auto"},
        {section::output,
         {"--durations"},
         "N",
         "print the N slowest cases (0: all)",
         [](parse_state &p, const std::string &v, const std::string &f) { p.o.durations = to_int(v, f, 0); }},
        {section::output,
         {"--junit", "--output-junit", "--junitxml"},
         "PATH",
         "JUnit XML (also XML_OUTPUT_FILE)",
         [](parse_state &p, const std::string &v, const std::string &) { p.o.junit_paths.push_back(v); }},
        {section::output,
         {"--gtest_output"},
         "xml[:PATH]",
         "JUnit XML, GoogleTest's spelling (also GTEST_OUTPUT)",
         [](parse_state &p, const std::string &v, const std::string &f) { add_gtest_output(p.o, v, f); }},
        {section::output,
         {"--quiet", "-q", "--brief", "--gtest_brief"},
         "",
         "print failures and the summary only",
         set_switch(&options::quiet)},
        {section::output,
         {"--fail-if-no-tests", "--gtest_fail_if_no_test_selected"},
         "",
         "exit 5 when nothing is selected",
         set_switch(&options::fail_if_no_tests)},
        {section::output,
         {"--print-exit-status"},
         "",
         "end with the line 'pyasync-test: exit status N', written after everything\n"
         "else (pyasync_discover_tests requires it: a case calling _Exit(0) then fails)",
         set_switch(&options::print_exit_status)},
        {section::output,
         {"--skip-exit-code"},
         "N",
         "exit N (0 to 255) when every selected case was skipped",
         [](parse_state &p, const std::string &v, const std::string &f) { p.o.skip_exit_code = to_int(v, f, 0, 255); }},
        // Sharding.
        {section::sharding,
         {"--shard-count"},
         "N",
         "run shard I of N (also TEST_TOTAL_SHARDS/TEST_SHARD_INDEX and\n"
         "GTEST_TOTAL_SHARDS/GTEST_SHARD_INDEX; TEST_SHARD_STATUS_FILE is touched)",
         [](parse_state &p, const std::string &v, const std::string &f) { p.o.shard_count = to_int(v, f, 1); }},
        {section::sharding,
         {"--shard-index"},
         "I",
         "which shard, from 0",
         [](parse_state &p, const std::string &v, const std::string &f) { p.o.shard_index = to_int(v, f, 0); }},
        // Accepted for compatibility, with no effect: times are always printed, output of passing
        // cases is shown by --nocapture, exceptions are always caught.
        {section::compatibility,
         {"--gtest_print_time", "--show-output", "--report-time", "--gtest_catch_exceptions",
          "--gtest_break_on_failure", "--break", "-Zunstable-options", "--gtest_print_utf8",
          "--gtest_stack_trace_depth", "--gtest_throw_on_failure", "--gtest_death_test_style"},
         "",
         "",
         no_effect(),
         false},
        {section::running,
         {"--serve"},
         "",
         "serve a parent (the pytest plugin): run the cases it names on stdin,\n"
         "one JSON event line per answer on stdout",
         set_switch(&options::serve),
         false},
        {section::hidden, {"--isolated-child"}, "", "", set_switch(&options::isolated_child), false},
        {section::hidden, {"--report-events"}, "", "", set_switch(&options::report_events), false},
        {section::output, {"--help", "-h", "-?", "--gtest_help"}, "", "this text", set_switch(&options::help), false},
        {section::output, {"--version"}, "", "the harness's version", set_switch(&options::version), false},
    };
    return table;
}

const flag *find_flag(std::string_view name) {
    for (const flag &f : flags()) {
        if (std::find(f.names.begin(), f.names.end(), name) != f.names.end()) {
            return &f;
        }
    }
    return nullptr;
}

std::string environment_name(const flag &f) {
    std::string name = "PYASYNC_TEST_";
    for (char c : f.names.front().substr(2)) {
        name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return name;
}

} // namespace pyasync::testing::detail
