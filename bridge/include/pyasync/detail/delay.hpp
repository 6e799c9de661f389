#pragma once
/// \file
/// Internal: turning a user's delay into one a timer can hold.

#include <pyasync/config.hpp>

#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

namespace pyasync {
namespace detail {

/// The longest delay a timer is given: a century. Longer delays, `inf` included, mean "until
/// cancelled"; a century still fits a steady clock's nanoseconds added to now (2^63 ns is 292
/// years), so no deadline overflows and fires at once.
inline constexpr double longest_delay_seconds = 100.0 * 365 * 24 * 3600;

/// `seconds` clamped to [0, longest_delay_seconds]: negative sleeps no time (as asyncio.sleep),
/// `inf` and anything too long for the clock sleeps until cancelled. NaN is no duration: it
/// throws std::invalid_argument (ValueError in Python) naming the caller.
inline double checked_delay_seconds(double seconds, const char *who) {
    if (std::isnan(seconds)) {
        throw std::invalid_argument(std::string(who) + ": the delay must be a number of seconds, got nan");
    }
    return seconds <= 0 ? 0.0 : seconds > longest_delay_seconds ? longest_delay_seconds : seconds;
}

/// A `std::chrono` delay as the nanoseconds a timer takes, checked as above (no overflowing cast).
template <typename Rep, typename Period>
std::chrono::nanoseconds timer_delay(std::chrono::duration<Rep, Period> delay, const char *who) {
    const double seconds = checked_delay_seconds(std::chrono::duration<double>(delay).count(), who);
    return std::chrono::nanoseconds(static_cast<std::chrono::nanoseconds::rep>(seconds * 1e9));
}

} // namespace detail
} // namespace pyasync
