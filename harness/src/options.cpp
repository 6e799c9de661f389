// The pyasync-test command line: one table of flags, GoogleTest/libtest/Catch2 aliases and
// environment twins, parsed without Python.
#include <pyasync/testing/options.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cctype>
#include <cmath>
#include <functional>
#include <optional>
#include <string_view>

namespace pyasync::testing {
namespace {

using applier = std::function<void(options &, const std::string &value, const std::string &flag)>;

struct flag {
    std::vector<std::string_view> names; ///< first is the canonical long name
    bool takes_value;
    applier apply;
    bool from_environment = true;        ///< read PYASYNC_TEST_<NAME>
};

int to_int(const std::string &value, const std::string &flag, int minimum,
           std::optional<int> maximum = std::nullopt) {
    int parsed = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
    if (error != std::errc{} || end != value.data() + value.size() || parsed < minimum ||
        (maximum && parsed > *maximum)) {
        throw usage_error("invalid value '" + value + "' for " + flag + ": expected an integer " +
                          (maximum ? "from " + std::to_string(minimum) + " to " + std::to_string(*maximum)
                                   : ">= " + std::to_string(minimum)));
    }
    return parsed;
}

bool is_dotted_name(std::string_view text) {
    bool at_start = true;
    for (char c : text) {
        if (c == '.') {
            if (at_start) {
                return false;
            }
            at_start = true;
        } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
                   (!at_start && std::isdigit(static_cast<unsigned char>(c)))) {
            at_start = false;
        } else {
            return false;
        }
    }
    return !at_start;
}

/// The form only (the module is imported when the run starts): 'asyncio', 'uvloop' or
/// 'module:callable', both sides dotted Python names.
std::string to_loop_factory(const std::string &value, const std::string &flag) {
    const auto colon = value.find(':');
    if (value.empty() || value == "asyncio" || value == "uvloop" ||
        (colon != std::string::npos && is_dotted_name(std::string_view(value).substr(0, colon)) &&
         is_dotted_name(std::string_view(value).substr(colon + 1)))) {
        return value;
    }
    throw usage_error("invalid value '" + value + "' for " + flag +
                      ": expected 'asyncio', 'uvloop' or 'module:callable' (for example 'uvloop:new_event_loop')");
}

double to_seconds(const std::string &value, const std::string &flag) {
    char *end = nullptr;
    const double parsed = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || !(parsed > 0) || !std::isfinite(parsed)) {
        throw usage_error("invalid value '" + value + "' for " + flag + ": expected a finite number of seconds > 0, like 2.5");
    }
    return parsed;
}

bool to_bool(const std::string &value, const std::string &flag) {
    std::string lower = value;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower.empty() || lower == "1" || lower == "true" || lower == "yes" || lower == "on") {
        return true;
    }
    if (lower == "0" || lower == "false" || lower == "no" || lower == "off") {
        return false;
    }
    throw usage_error("invalid value '" + value + "' for " + flag + ": expected 1/0, true/false or yes/no");
}

template <typename Enum>
Enum to_choice(const std::string &value, const std::string &flag,
               std::initializer_list<std::pair<std::string_view, Enum>> choices) {
    std::string accepted;
    for (const auto &[name, choice] : choices) {
        if (value == name) {
            return choice;
        }
        accepted += (accepted.empty() ? "" : ", ") + std::string(name);
    }
    throw usage_error("invalid value '" + value + "' for " + flag + ": expected one of " + accepted);
}

/// A boolean switch: `--flag` sets it; `--flag=0` (gtest style) clears it.
applier set_switch(bool options::*member, bool on = true) {
    return [member, on](options &o, const std::string &value, const std::string &name) {
        o.*member = value.empty() ? on : (to_bool(value, name) ? on : !on);
    };
}

void set_output(options &o, const std::string &value, const std::string &flag) {
    // --gtest_output=xml[:PATH] (a path ending in / is a folder, as in gtest); json: is not
    // supported: JSON goes through --format json.
    if (value == "xml") {
        o.junit_paths.emplace_back("test_detail.xml");
    } else if (value.starts_with("xml:")) {
        o.junit_paths.push_back(value.substr(4));
    } else {
        throw usage_error("invalid value '" + value + "' for " + flag +
                          ": expected xml or xml:PATH (JSON event lines: --format json)");
    }
}

std::string pending_format; // --format, resolved after parsing (list or run)

const std::vector<flag> &flags() {
    static const std::vector<flag> table = {
        // Selection.
        {{"--exact"}, false, set_switch(&options::exact)},
        {{"--skip"}, true, [](options &o, const std::string &v, const std::string &) { o.skips.push_back(v); }},
        {{"--filter", "--gtest_filter"}, true,
         [](options &o, const std::string &v, const std::string &) { o.gtest_filter = v; }},
        {{"--tag", "-t"}, true,
         [](options &o, const std::string &v, const std::string &) { o.tag_filters.push_back(v); }},
        {{"--ignored"}, false,
         [](options &o, const std::string &, const std::string &) { o.ignored = ignored_mode::only; }},
        {{"--include-ignored", "--gtest_also_run_disabled_tests"}, false,
         [](options &o, const std::string &v, const std::string &f) {
             if (v.empty() || to_bool(v, f)) {
                 o.ignored = ignored_mode::include;
             }
         }},
        // Listing.
        {{"--list", "--list-tests"}, false,
         [](options &o, const std::string &, const std::string &) { o.list = list_format::human; }, false},
        {{"--gtest_list_tests"}, false,
         [](options &o, const std::string &, const std::string &) { o.list = list_format::gtest; }, false},
        {{"--list-tags"}, false,
         [](options &o, const std::string &, const std::string &) { o.list = list_format::tags; }, false},
        // Running.
        {{"--test-threads", "--jobs", "-j"}, true,
         [](options &o, const std::string &v, const std::string &f) { o.test_threads = to_int(v, f, 1); }},
        {{"--isolate", "--subprocess"}, false, set_switch(&options::isolate)},
        {{"--repeat", "--gtest_repeat"}, true,
         [](options &o, const std::string &v, const std::string &f) {
             o.repeat = v == "-1" ? -1 : to_int(v, f, 1);
         }},
        {{"--shuffle", "--gtest_shuffle"}, false,
         [](options &o, const std::string &v, const std::string &f) {
             if (v.empty() || to_bool(v, f)) {
                 o.order = case_order::random;
             }
         }},
        {{"--seed", "--shuffle-seed", "--gtest_random_seed", "--rng-seed"}, true,
         [](options &o, const std::string &v, const std::string &f) {
             o.seed = static_cast<std::uint32_t>(to_int(v, f, 0));
         }},
        {{"--order"}, true,
         [](options &o, const std::string &v, const std::string &f) {
             o.order = to_choice<case_order>(
                 v, f, {{"decl", case_order::declared}, {"lex", case_order::lexical}, {"rand", case_order::random}});
         }},
        {{"--fail-fast", "-x", "--gtest_fail_fast", "--abort", "-a"}, false, set_switch(&options::fail_fast)},
        {{"--timeout"}, true,
         [](options &o, const std::string &v, const std::string &f) { o.timeout_seconds = to_seconds(v, f); }},
        {{"--loop-factory"}, true,
         [](options &o, const std::string &v, const std::string &f) { o.loop_factory = to_loop_factory(v, f); }},
        {{"--loop-scope"}, true,
         [](options &o, const std::string &v, const std::string &f) {
             o.scope = to_choice<loop_scope>(
                 v, f, {{"session", loop_scope::session}, {"suite", loop_scope::suite}, {"test", loop_scope::test}});
         }},
        {{"--asyncio-debug"}, false, set_switch(&options::asyncio_debug)},
        {{"--strict-tasks"}, false, set_switch(&options::strict_tasks)},
        {{"--nocapture", "--no-capture", "-s"}, false, set_switch(&options::capture, false)},
        // Output.
        {{"--format"}, true, [](options &, const std::string &v, const std::string &) { pending_format = v; }},
        {{"--color", "--colour", "--gtest_color", "--colour-mode"}, true,
         [](options &o, const std::string &v, const std::string &f) {
             o.color = to_choice<color_mode>(v, f,
                                             {{"auto", color_mode::automatic}, {"always", color_mode::always},
                                              {"yes", color_mode::always}, {"never", color_mode::never},
                                              {"no", color_mode::never}, {"ansi", color_mode::always},
                                              {"none", color_mode::never}, {"default", color_mode::automatic}});
         }},
        {{"--durations"}, true,
         [](options &o, const std::string &v, const std::string &f) { o.durations = to_int(v, f, 0); }},
        {{"--junit", "--output-junit", "--junitxml"}, true,
         [](options &o, const std::string &v, const std::string &) { o.junit_paths.push_back(v); }},
        {{"--gtest_output"}, true, set_output},
        {{"--quiet", "-q", "--brief", "--gtest_brief"}, false, set_switch(&options::quiet)},
        {{"--fail-if-no-tests", "--gtest_fail_if_no_test_selected"}, false, set_switch(&options::fail_if_no_tests)},
        {{"--skip-exit-code"}, true,
         [](options &o, const std::string &v, const std::string &f) { o.skip_exit_code = to_int(v, f, 0, 255); }},
        // Sharding.
        {{"--shard-count"}, true,
         [](options &o, const std::string &v, const std::string &f) { o.shard_count = to_int(v, f, 1); }},
        {{"--shard-index"}, true,
         [](options &o, const std::string &v, const std::string &f) { o.shard_index = to_int(v, f, 0); }},
        // Accepted for compatibility, with no effect: printing times is always on, output of
        // passing cases is shown by --nocapture, and exceptions are always caught.
        {{"--gtest_print_time", "--show-output", "--report-time", "--gtest_catch_exceptions",
          "--gtest_break_on_failure", "--break", "-Zunstable-options", "--gtest_print_utf8",
          "--gtest_stack_trace_depth", "--gtest_throw_on_failure", "--gtest_death_test_style"},
         false, [](options &, const std::string &, const std::string &) {}, false},
        {{"--isolated-child"}, false, set_switch(&options::isolated_child), false},
        {{"--help", "-h", "-?", "--gtest_help"}, false, set_switch(&options::help), false},
        {{"--version"}, false, set_switch(&options::version), false},
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

std::string environment_name(std::string_view flag_name) {
    std::string name = "PYASYNC_TEST_";
    for (char c : flag_name.substr(2)) {
        name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return name;
}

const char *environment(const char *name) {
    const char *value = std::getenv(name);
    return value != nullptr && *value != '\0' ? value : nullptr;
}

void apply_environment(options &o) {
    // Filters from the ecosystem's protocols first, ours last (it wins).
    for (const char *name : {"TESTBRIDGE_TEST_ONLY", "GTEST_FILTER"}) {
        if (const char *value = environment(name)) {
            o.gtest_filter = value;
        }
    }
    if (const char *value = environment("TESTBRIDGE_TEST_RUNNER_FAIL_FAST")) {
        o.fail_fast = to_bool(value, "TESTBRIDGE_TEST_RUNNER_FAIL_FAST");
    }
    if (const char *value = environment("XML_OUTPUT_FILE")) {
        o.junit_paths = {value};
    }
    if (const char *value = environment("GTEST_OUTPUT")) {
        o.junit_paths.clear();
        set_output(o, value, "GTEST_OUTPUT");
    }
    for (const flag &f : flags()) {
        if (!f.from_environment) {
            continue;
        }
        const std::string name = environment_name(f.names.front());
        if (const char *value = environment(name.c_str())) {
            if (f.takes_value) {
                f.apply(o, value, name);
            } else if (to_bool(value, name)) {
                f.apply(o, "", name);
            }
        }
    }
    if (environment("NO_COLOR") != nullptr && o.color == color_mode::automatic) {
        o.color = color_mode::never;
    }
}

} // namespace

options options::parse(int argc, const char *const *argv) {
    options o;
    pending_format.clear();
    apply_environment(o);
    bool junit_from_command_line = false;
    for (int i = 1; i < argc; ++i) {
        const std::string argument = argv[i];
        if (argument == "--") {
            o.python_args.assign(argv + i + 1, argv + argc);
            break;
        }
        const bool looks_like_flag = argument.size() > 1 && argument[0] == '-' && argument != "-";
        if (!looks_like_flag) {
            if (argument.starts_with("[") || argument.starts_with("~[")) {
                o.tag_filters.push_back(argument);
            } else {
                o.filters.push_back(argument);
            }
            continue;
        }
        const auto equals = argument.find('=');
        const std::string name = argument.substr(0, equals);
        const flag *f = find_flag(name);
        if (f == nullptr) {
            throw usage_error("unknown option '" + name + "' (see --help)");
        }
        std::string value;
        if (equals != std::string::npos) {
            value = argument.substr(equals + 1);
        } else if (f->takes_value) {
            if (i + 1 >= argc) {
                throw usage_error("option '" + name + "' needs a value");
            }
            value = argv[++i];
        }
        if ((f->names.front() == "--junit" || f->names.front() == "--gtest_output") && !junit_from_command_line) {
            o.junit_paths.clear(); // the command line replaces XML_OUTPUT_FILE
            junit_from_command_line = true;
        }
        f->apply(o, value, name);
    }
    if (!pending_format.empty()) {
        if (o.list != list_format::none) {
            o.list = to_choice<list_format>(pending_format, "--format",
                                            {{"human", list_format::human}, {"pretty", list_format::human},
                                             {"terse", list_format::terse}, {"json", list_format::json}});
        } else {
            o.format = to_choice<output_format>(
                pending_format, "--format",
                {{"pretty", output_format::pretty}, {"terse", output_format::terse}, {"json", output_format::json}});
        }
    }
    if (o.shard_count.has_value() != o.shard_index.has_value()) {
        throw usage_error("--shard-count and --shard-index go together: give both or neither");
    }
    if (o.shard_count && *o.shard_index >= *o.shard_count) {
        throw usage_error("--shard-index " + std::to_string(*o.shard_index) + " is out of range: expected 0 to " +
                          std::to_string(*o.shard_count - 1));
    }
    return o;
}

std::string options::help_text(const std::string &program) {
    return "Usage: " + program + R"( [OPTIONS] [FILTER...] [-- PYTHON_ARGS...]

Runs the PYASYNC_TEST cases of this binary: async cases as asyncio Tasks on a loop that owns
the main thread, sync cases on the main thread while the loop is idle.

Selection:
  FILTER...                 run cases whose name Suite.Case contains any FILTER ('::' = '.');
                            a FILTER starting with '[' or '~[' is a Catch2 tag expression
  --exact                   FILTERs and --skip match whole names
  --skip PAT                skip cases containing PAT (repeatable)
  --filter, --gtest_filter=SPEC
                            GoogleTest filter: POSITIVE[-NEGATIVE], ':'-separated, '*' and '?'
  -t, --tag EXPR            Catch2 tag expression: [a][b] (and), [a],[b] (or), ~[slow] (not)
  --ignored                 run only ignored cases (ignore("why"), hidden tags, DISABLED_)
  --include-ignored, --gtest_also_run_disabled_tests
                            run ignored cases too
Listing (never starts Python):
  --list [--format human|terse|json]
                            list cases; terse is nextest's "name: test" contract
  --gtest_list_tests        list in GoogleTest's layout (for gtest_discover_tests, pytest-cpp)
  --list-tags               list tags with their case counts
Running:
  -j, --test-threads N      async cases in flight on the loop at once (default 1)
  --isolate                 run each case in a child process (a crash fails only that case)
  --repeat, --gtest_repeat N
                            run the selection N times (-1: until interrupted)
  --shuffle, --order decl|lex|rand, --seed S
                            order; a shuffle always prints its seed
  -x, --fail-fast           stop after the first failure
  --timeout S               per-case limit in seconds: async cases are cancelled through asyncio,
                            sync cases are stopped by a watchdog that dumps stacks and aborts
  --loop-factory asyncio|uvloop|module:callable
  --loop-scope session|suite|test
                            one loop for the run, per suite, or a fresh loop per case
  --asyncio-debug           loop debug mode
  --strict-tasks            fail a case that leaves tasks pending (default: warn and cancel)
  -s, --nocapture           do not capture the cases' stdout and stderr
Output:
  --format pretty|terse|json
                            gtest-style lines, one line per case, or libtest JSON events
  --color auto|always|never (NO_COLOR honoured)
  --durations N             print the N slowest cases (0: all)
  --junit PATH, --gtest_output=xml:PATH
                            JUnit XML (also XML_OUTPUT_FILE)
  -q, --quiet               print failures and the summary only
  --fail-if-no-tests        exit 5 when nothing is selected
  --skip-exit-code N        exit N when every selected case was skipped
Sharding:
  --shard-count N --shard-index I
                            also TEST_TOTAL_SHARDS/TEST_SHARD_INDEX and GTEST_TOTAL_SHARDS/
                            GTEST_SHARD_INDEX; TEST_SHARD_STATUS_FILE is touched
Every long flag also reads PYASYNC_TEST_<FLAG> (for example PYASYNC_TEST_TEST_THREADS=4);
filters also come from PYASYNC_TEST_FILTER, TESTBRIDGE_TEST_ONLY and GTEST_FILTER.

Exit status: 0 passed (skips allowed), 1 a case failed, 2 interrupted, 3 internal error,
4 usage error, 5 nothing selected (with --exact or --fail-if-no-tests).
)";
}

} // namespace pyasync::testing
