// The choices of a schedule run: random (a fresh choice each time) and PCT (priorities with a
// few change points, after Burckhardt et al., "A Randomized Scheduler with Probabilistic
// Guarantees of Finding Bugs", ASPLOS 2010), and the trace of what departed from the usual order.
#include "schedule_choices.hpp"

#include <algorithm>

namespace pyasync::detail {
namespace {

/// PCT's depth d: d - 1 change points per run, the bug depth it finds with probability at least
/// 1/(n k^(d-1)). Three finds the orderings of two or three events that async races are made of.
constexpr int pct_depth = 3;
/// PCT's estimate k of the steps in a run: change points fall among the first k steps.
constexpr std::uint64_t pct_expected_steps = 32;
/// Priorities of fresh work lie above this; dropped ones below it, each lower than the last.
constexpr std::uint64_t fresh_priority_floor = std::uint64_t{1} << 32;
/// The loop runs its own callbacks before the next piece of work about one step in this many.
constexpr std::size_t postpone_one_in = 4;
/// The runtime's work waits past a timer due soon about one step in this many that has one.
constexpr std::size_t hold_one_in = 4;
constexpr std::size_t trace_kept = 64;

} // namespace

std::uint64_t seeded_generator::next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

const char *strategy_name(schedule_strategy strategy) noexcept {
    return strategy == schedule_strategy::pct ? "pct" : "random";
}

std::uint64_t schedule_run_seed(std::uint64_t base, int index) noexcept {
    if (index == 0) {
        return base;
    }
    seeded_generator mix(base ^ (static_cast<std::uint64_t>(index) * 0xd1b54a32d192ed03ULL));
    return mix.next() >> 1; // 63 bits: printable and parsable as a signed number too
}

schedule_choices::schedule_choices(schedule_strategy strategy, std::uint64_t seed)
        : strategy_(strategy), generator_(seed) {
    if (strategy_ == schedule_strategy::pct) {
        for (int point = 1; point < pct_depth; ++point) {
            change_points_.push_back(1 + generator_.below(pct_expected_steps));
        }
    }
}

std::uint64_t schedule_choices::new_priority() noexcept {
    return fresh_priority_floor + (generator_.next() >> 1);
}

std::size_t schedule_choices::choose(std::vector<schedule_candidate> &candidates) {
    ++steps_;
    if (candidates.size() == 1) {
        return 0;
    }
    ++decisions_;
    std::size_t chosen = 0;
    if (strategy_ == schedule_strategy::random) {
        chosen = generator_.below(candidates.size());
    } else {
        auto leader = [&candidates] {
            return static_cast<std::size_t>(
                std::max_element(candidates.begin(), candidates.end(),
                                 [](const auto &a, const auto &b) { return a.priority < b.priority; }) -
                candidates.begin());
        };
        chosen = leader();
        if (std::find(change_points_.begin(), change_points_.end(), steps_) != change_points_.end()) {
            // A change point: the leader drops below everything, and the next one goes instead.
            candidates[chosen].priority = fresh_priority_floor - 1 - lowered_++;
            record("step " + std::to_string(steps_) + ": " + candidates[chosen].name +
                   " dropped to the lowest priority (a PCT change point)");
            chosen = leader();
        }
    }
    if (chosen != 0) {
        ++departures_;
        record("step " + std::to_string(steps_) + ": " + candidates[chosen].name + " went before " +
               candidates[0].name + " (" + std::to_string(candidates.size()) + " ready)");
    }
    return chosen;
}

bool schedule_choices::postpone() {
    if (postponed_last_) {
        postponed_last_ = false;
        return false;
    }
    ++decisions_;
    postponed_last_ = generator_.below(postpone_one_in) == 0;
    if (postponed_last_) {
        ++departures_;
        record("step " + std::to_string(steps_ + 1) + ": the loop ran its ready callbacks first");
    }
    return postponed_last_;
}

bool schedule_choices::hold(const std::optional<std::string> &near) {
    if (held_last_) {
        held_last_ = false;
        return false;
    }
    const bool drawn = generator_.below(hold_one_in) == 0;
    if (!near) {
        return false;
    }
    ++decisions_;
    held_last_ = drawn;
    if (held_last_) {
        ++departures_;
        record("step " + std::to_string(steps_ + 1) + ": the runtime's work waited until " + *near +
               " had fired (a slow runtime)");
    }
    return held_last_;
}

void schedule_choices::record(std::string line) {
    ++recorded_;
    trace_.push_back(std::move(line));
    if (trace_.size() > trace_kept) {
        trace_.pop_front();
    }
}

std::string schedule_choices::trace(std::size_t last) const {
    std::string text;
    const std::size_t first = trace_.size() > last ? trace_.size() - last : 0;
    if (first > 0) {
        text += "(" + std::to_string(recorded_ - (trace_.size() - first)) + " earlier lines not shown)\n";
    }
    for (std::size_t i = first; i < trace_.size(); ++i) {
        text += trace_[i] + "\n";
    }
    return text;
}

} // namespace pyasync::detail
