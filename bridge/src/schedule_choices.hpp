#pragma once
// The choices of one schedule run (internal): a seeded generator, the random and PCT strategies,
// and the trace of the choices that departed from the usual order. Pure C++, one thread (the
// loop's) at a time.

#include <pyasync/detail/schedule.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace pyasync::detail {

/// SplitMix64: small, fast, and the same sequence on every platform for a seed.
class seeded_generator {
public:
    explicit seeded_generator(std::uint64_t seed) noexcept : state_(seed) {}
    std::uint64_t next() noexcept;
    /// Uniform enough in [0, bound) for bound > 0 (the bias of a 64-bit modulo is negligible).
    std::size_t below(std::size_t bound) noexcept { return static_cast<std::size_t>(next() % bound); }

private:
    std::uint64_t state_;
};

/// One candidate of a decision: what it is (for the trace) and its PCT priority.
struct schedule_candidate {
    std::string name;
    std::uint64_t priority = 0;
};

class schedule_choices {
public:
    schedule_choices(schedule_strategy strategy, std::uint64_t seed);

    /// A fresh priority for new work (PCT); random draws one too, so that both strategies
    /// consume the generator alike.
    std::uint64_t new_priority() noexcept;
    /// Which of `candidates` (in their usual order: the first is what usual timing does) goes
    /// next. Records a departure from the usual order in the trace. `candidates` is not empty.
    std::size_t choose(std::vector<schedule_candidate> &candidates);
    /// Whether the loop runs its own ready callbacks before the next piece of work: a delay of
    /// the runtime that real timing produces under load. Never twice in a row.
    bool postpone();
    /// Whether the runtime is slow this time: its work waits until `near` (a timer due soon,
    /// described for the trace) has fired, as under load, where a job outlasts a short timeout.
    /// Draws whether or not there is a near timer, so that the generator's sequence does not
    /// depend on the clock; never twice in a row.
    bool hold(const std::optional<std::string> &near);

    [[nodiscard]] std::string trace(std::size_t last) const;
    [[nodiscard]] std::uint64_t decisions() const noexcept { return decisions_; }
    [[nodiscard]] std::uint64_t departures() const noexcept { return departures_; }

private:
    void record(std::string line);

    schedule_strategy strategy_;
    seeded_generator generator_;
    std::uint64_t decisions_ = 0;
    std::uint64_t departures_ = 0;
    std::uint64_t steps_ = 0;
    bool postponed_last_ = false;
    bool held_last_ = false;
    std::vector<std::uint64_t> change_points_; ///< PCT: the steps at which the leader drops
    std::uint64_t lowered_ = 0;                ///< PCT: priorities given out below every other
    std::uint64_t recorded_ = 0;               ///< lines ever recorded (the trace keeps the last ones)
    std::deque<std::string> trace_;
};

} // namespace pyasync::detail
