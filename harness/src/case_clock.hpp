#pragma once
// Internal: how the case executor measures and prints a case's time.

#include <chrono>
#include <cstdio>
#include <string>

namespace pyasync::testing::detail {

using case_clock = std::chrono::steady_clock;

/// "0.3 s", "2 s": a limit or a duration as the failure messages print it.
inline std::string format_seconds(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%g s", seconds);
    return text;
}

inline double seconds_since(case_clock::time_point start) {
    return std::chrono::duration<double>(case_clock::now() - start).count();
}

} // namespace pyasync::testing::detail
