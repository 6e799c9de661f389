#pragma once
// Internal: which registered cases run, in which order, on which shard; and listing them.

#include <pyasync/testing/options.hpp>
#include <pyasync/testing/registry.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace pyasync::testing::detail {

struct selection {
    std::vector<const case_info *> runnable; ///< to run, in declared order
    std::vector<const case_info *> ignored;  ///< matched the filters but ignored: reported, not run
    std::size_t filtered_out = 0;
};

/// `*` any run of characters (dots included), `?` one character; the whole text must match.
bool glob_match(std::string_view pattern, std::string_view text);
/// GoogleTest's `--gtest_filter` grammar: `POS1:POS2-NEG1:NEG2`.
bool gtest_filter_matches(const std::string &filter, const std::string &name);
/// A Catch2 tag expression (`[a][b],[c]`, `~[slow]`) against a case's tags. Throws
/// `usage_error` for a malformed expression.
bool tag_expression_matches(const std::string &expression, const std::vector<std::string> &tags);
/// Checks every filter's syntax before anything runs. Throws `usage_error`.
void validate_filters(const options &opts);

/// Filters (positional, --exact, --skip, --filter, tags, ignored mode); declared order
/// (file, line), stable whatever the link order.
selection select_cases(const std::vector<case_info> &cases, const options &opts);
/// Keeps this shard's cases: round-robin over the runnable cases, after filtering (gtest).
void keep_shard(selection &chosen, int count, int index);
/// Orders a copy for one iteration: declared, lexical, or shuffled by `seed` (stable under
/// subsets: the rank of a case depends only on the seed and its name).
std::vector<const case_info *> ordered(std::vector<const case_info *> cases, case_order order, std::uint32_t seed);

/// Writes the listing `--list`, `--gtest_list_tests` or `--list-tags` asks for.
void write_listing(std::ostream &out, const selection &chosen, const options &opts);
/// The JSON listing of `listed`, in that order (what `--list --format json` writes and
/// discovery reads): {"version":1,"cases":[{"name","suite","case","file","line","kind","tags",
/// "ignored","reason","timeout_s","resource_locks"}]}.
void write_json_listing(std::ostream &out, const std::vector<const case_info *> &listed);

} // namespace pyasync::testing::detail
