// Flag values: integers in range, seconds, booleans, loop factories, gtest output specs.
#include "option_values.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace pyasync::testing::detail {
namespace {

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

} // namespace

int to_int(const std::string &value, const std::string &flag, int minimum, std::optional<int> maximum) {
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

std::uint64_t to_seed(const std::string &value, const std::string &flag) {
    std::uint64_t parsed = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
    if (error != std::errc{} || end != value.data() + value.size()) {
        throw usage_error("invalid value '" + value + "' for " + flag +
                          ": expected a seed, a whole number from 0 to 18446744073709551615 (the one a failing "
                          "run reports)");
    }
    return parsed;
}

std::string to_loop_factory(const std::string &value, const std::string &flag) {
    const auto colon = value.find(':');
    if (value.empty() || value == "asyncio" || value == "uvloop" || value == "trio" ||
        (colon != std::string::npos && is_dotted_name(std::string_view(value).substr(0, colon)) &&
         is_dotted_name(std::string_view(value).substr(colon + 1)))) {
        return value;
    }
    throw usage_error("invalid value '" + value + "' for " + flag +
                      ": expected 'asyncio', 'uvloop', 'trio' or 'module:callable' (for example "
                      "'uvloop:new_event_loop')");
}

double to_seconds(const std::string &value, const std::string &flag) {
    char *end = nullptr;
    const double parsed = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || !(parsed > 0) || !std::isfinite(parsed)) {
        throw usage_error("invalid value '" + value + "' for " + flag +
                          ": expected a finite number of seconds > 0, like 2.5");
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

void add_gtest_output(options &o, const std::string &value, const std::string &flag) {
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

} // namespace pyasync::testing::detail
