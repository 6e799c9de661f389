// Colour, lines and the closing summary shared by the pretty and terse reporters.
#include "console.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace pyasync::testing::detail {

console::console(const options &opts, std::FILE *out) : out_(out) {
    const char *term = std::getenv("TERM");
    color_ = opts.color == color_mode::always || (opts.color == color_mode::automatic && isatty(fileno(out)) != 0 &&
                                                  !(term != nullptr && std::strcmp(term, "dumb") == 0));
}

std::string console::paint(const char *color, const std::string &text) const {
    return color_ ? std::string(color) + text + "\033[0m" : text;
}

void console::emit(const std::string &line) {
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fputc('\n', out_);
    std::fflush(out_);
}

std::string plural(std::size_t count, const char *word) {
    return std::to_string(count) + " " + word + (count == 1 ? "" : "s");
}

std::string milliseconds(double seconds) {
    return std::to_string(std::llround(seconds * 1000)) + " ms";
}

std::string fixed_digits(double value, int digits) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
    return buffer;
}

void write_iteration_banner(console &out, const run_plan_summary &plan) {
    if (plan.repeat != 1) {
        out.emit("\nRepeating all tests (iteration " + std::to_string(plan.iteration + 1) + ") . . .\n");
    }
    if (plan.seed) {
        out.emit("Shuffling with seed " + std::to_string(*plan.seed) + " (--seed " + std::to_string(*plan.seed) +
                 " repeats this order)");
    }
}

void write_closing_lines(console &out, const options &opts, const std::vector<const case_result *> &results,
                         const run_totals &totals) {
    if (opts.durations) {
        std::vector<const case_result *> slowest = results;
        std::stable_sort(slowest.begin(), slowest.end(),
                         [](const case_result *a, const case_result *b) { return a->seconds > b->seconds; });
        if (*opts.durations > 0 && slowest.size() > static_cast<std::size_t>(*opts.durations)) {
            slowest.resize(static_cast<std::size_t>(*opts.durations));
        }
        out.emit("slowest " + plural(slowest.size(), "case") + ":");
        for (const case_result *result : slowest) {
            out.emit("  " + fixed_digits(result->seconds, 3) + "s " + result->info->full_name());
        }
    }
    if (totals.interrupted) {
        out.emit(out.paint(colors::red, "interrupted") + ": the run was stopped by " +
                 (totals.interrupted_by.empty() ? std::string("Ctrl-C") : totals.interrupted_by));
    }
    if (!totals.session_error.empty()) {
        out.emit(out.paint(colors::red, "error") + ": " + totals.session_error);
    }
    if (totals.late_failures != 0) {
        out.emit(out.paint(colors::red, "error") + ": " + plural(totals.late_failures, "failure") +
                 " outside any running case (above: a callback or thread a case left behind)");
    }
    const bool ok =
        totals.failed == 0 && totals.late_failures == 0 && !totals.interrupted && totals.session_error.empty();
    out.emit("test result: " + out.paint(ok ? colors::green : colors::red, ok ? "ok" : "FAILED") + ". " +
             std::to_string(totals.passed) + " passed, " + std::to_string(totals.failed) + " failed, " +
             std::to_string(totals.skipped) + " skipped, " + std::to_string(totals.ignored) + " ignored; " +
             std::to_string(totals.filtered_out) + " filtered out; finished in " + fixed_digits(totals.seconds, 2) +
             "s");
}

} // namespace pyasync::testing::detail
