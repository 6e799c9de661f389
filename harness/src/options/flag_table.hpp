#pragma once
// Internal: the one table of command-line flags. Each flag is declared once: its names (the
// canonical long name first, then GoogleTest, libtest and Catch2 aliases), its value, its help
// text and whether PYASYNC_TEST_<NAME> sets it. The parser, the environment twins and
// `--help` all read this table.

#include <pyasync/testing/options.hpp>

#include <functional>
#include <string_view>

namespace pyasync::testing::detail {

/// What parsing collects besides the options: what is resolved once every flag is read.
struct parse_state {
    options &o;
    std::string format;                   ///< --format: a listing format or an output format
    bool junit_from_command_line = false; ///< the first --junit replaces XML_OUTPUT_FILE's path
};

/// The `--help` heading a flag is listed under; `hidden` flags are accepted but not listed.
enum class flag_section { selection, listing, running, output, sharding, compatibility, hidden };

struct flag {
    flag_section section;
    std::vector<std::string_view> names; ///< the canonical long name first
    std::string_view value_name;         ///< "N", "PATH", …; empty for a switch (`--flag`, `--flag=0`)
    std::string_view help;               ///< lines separated by '\n'
    std::function<void(parse_state &, const std::string &value, const std::string &spelled)> apply;
    bool from_environment = true; ///< PYASYNC_TEST_<CANONICAL_NAME> sets it

    [[nodiscard]] bool takes_value() const { return !value_name.empty(); }
};

const std::vector<flag> &flags();
/// The flag spelled `name`, or null.
const flag *find_flag(std::string_view name);
/// PYASYNC_TEST_ and the canonical name upper-cased, '-' as '_' (`--test-threads` →
/// PYASYNC_TEST_TEST_THREADS).
std::string environment_name(const flag &f);

} // namespace pyasync::testing::detail
