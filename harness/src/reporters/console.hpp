#pragma once
// Internal: what the human-readable reporters (pretty, terse) share: colour, line output, the
// figures' wording, and the closing lines both end with.

#include "reporter.hpp"

namespace pyasync::testing::detail {

namespace colors {
inline constexpr const char *green = "\033[32m";
inline constexpr const char *red = "\033[31m";
inline constexpr const char *yellow = "\033[33m";
} // namespace colors

/// Lines to a stream, painted when `--color` and the terminal allow it.
class console {
public:
    console(const options &opts, std::FILE *out);
    [[nodiscard]] std::string paint(const char *color, const std::string &text) const;
    /// Writes `line` and a newline, and flushes: a crash must not lose what was already printed.
    void emit(const std::string &line);

private:
    std::FILE *out_;
    bool color_;
};

std::string plural(std::size_t count, const char *word);
std::string milliseconds(double seconds);
std::string fixed_digits(double value, int digits);

/// GoogleTest's "Repeating all tests" line under --repeat, and the seed of a shuffled order.
void write_iteration_banner(console &out, const run_plan_summary &plan);

/// `--durations`, the interruption notice and the `test result:` line: the end of pretty and
/// terse output alike (the driver and CI scripts read the last line).
void write_closing_lines(console &out, const options &opts, const std::vector<const case_result *> &results,
                         const run_totals &totals);

} // namespace pyasync::testing::detail
