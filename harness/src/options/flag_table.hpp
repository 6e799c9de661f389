#pragma once
// Internal: the one table of command-line flags. Each flag is declared once: its names (the
// canonical long name first, then GoogleTest, libtest and Catch2 aliases), its value, its help
// text and whether PYASYNC_TEST_<NAME> sets it. The parser, the environment twins and
// `--help` all read this table.

#include <pyasync/testing/options.hpp>

#include <functional>
#include <string_view>
#include <utility>

namespace pyasync::testing::detail {

/// What parsing collects besides the options: what is resolved once every flag is read.
struct parse_state {
    options &o;
    std::string format;                   ///< --format: a listing format or an output format
    bool junit_from_command_line = false; ///< the first --junit replaces XML_OUTPUT_FILE's path
};

/// The `--help` heading a flag is listed under; `hidden` flags are accepted but not listed.
enum class flag_section { selection, listing, running, exploration, output, sharding, compatibility, hidden };

struct flag {
    flag_section section;
    std::vector<std::string_view> names; ///< the canonical long name first
    std::string_view value_name;         ///< "N", "PATH", …; empty for a switch (`--flag`, `--flag=0`)
    std::string_view help;               ///< lines separated by '\n'
    std::function<void(parse_state &, const std::string &value, const std::string &spelled)> apply;
    bool from_environment = true; ///< PYASYNC_TEST_<CANONICAL_NAME> sets it
    /// What applies without the flag, as `--help` and the reference print it; empty: a switch is
    /// off, a value is unset.
    std::string_view default_value = {};

    [[nodiscard]] bool takes_value() const { return !value_name.empty(); }
};

const std::vector<flag> &flags();

/// The prose of `--help` around the table, shared with `--help --format json` (and so with the
/// documentation's reference page, generated from that).
inline constexpr std::string_view help_usage_arguments = " [OPTIONS] [FILTER...] [-- PYTHON_ARGS...]";
inline constexpr std::string_view help_summary =
    "Runs the PYASYNC_TEST cases of this binary: async cases as asyncio Tasks on a loop that owns\n"
    "the main thread, sync cases on the main thread while the loop is idle.";
inline constexpr std::string_view help_filters = "run cases whose name Suite.Case contains any FILTER ('::' = '.');\n"
                                                 "a FILTER starting with '[' or '~[' is a Catch2 tag expression";
inline constexpr std::pair<flag_section, std::string_view> help_headings[] = {
    {flag_section::selection, "Selection"},
    {flag_section::listing, "Listing (never starts Python)"},
    {flag_section::running, "Running"},
    {flag_section::exploration, "Schedule exploration (async cases; one case at a time)"},
    {flag_section::output, "Output"},
    {flag_section::sharding, "Sharding"},
};
inline constexpr std::string_view help_environment =
    "Each option above, except listing, --help and --version, also reads PYASYNC_TEST_<NAME> from\n"
    "the environment (for example PYASYNC_TEST_TEST_THREADS=4); the command line wins. Filters also\n"
    "come from TESTBRIDGE_TEST_ONLY and GTEST_FILTER; JUnit paths from XML_OUTPUT_FILE and GTEST_OUTPUT.";
inline constexpr std::string_view help_exit_status =
    "Exit status: 0 passed (skips allowed), 1 a case failed, 2 interrupted, 3 internal error,\n"
    "4 usage error, 5 nothing selected (with --exact or --fail-if-no-tests).";
/// The flag spelled `name`, or null.
const flag *find_flag(std::string_view name);
/// PYASYNC_TEST_ and the canonical name upper-cased, '-' as '_' (`--test-threads` →
/// PYASYNC_TEST_TEST_THREADS).
std::string environment_name(const flag &f);

} // namespace pyasync::testing::detail
