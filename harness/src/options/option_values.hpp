#pragma once
// Internal: the values flags take, parsed and checked. Each throws `usage_error` naming the
// flag (or environment variable), the value given and what was expected.

#include <pyasync/testing/options.hpp>

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>

namespace pyasync::testing::detail {

int to_int(const std::string &value, const std::string &flag, int minimum, std::optional<int> maximum = std::nullopt);
/// A schedule seed: a whole number from 0 to 2^64 - 1.
std::uint64_t to_seed(const std::string &value, const std::string &flag);
/// A finite number of seconds > 0.
double to_seconds(const std::string &value, const std::string &flag);
/// 1/0, true/false, yes/no, on/off (any case); empty is true (a bare `--flag`).
bool to_bool(const std::string &value, const std::string &flag);
/// 'asyncio', 'uvloop' or 'module:callable', both sides dotted Python names. The form only:
/// the module is imported when the run starts.
std::string to_loop_factory(const std::string &value, const std::string &flag);
/// `--gtest_output` / GTEST_OUTPUT: `xml` or `xml:PATH`, added to `o.junit_paths`.
void add_gtest_output(options &o, const std::string &value, const std::string &flag);

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

} // namespace pyasync::testing::detail
