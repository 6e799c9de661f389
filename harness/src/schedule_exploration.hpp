#pragma once
// Internal: what the front ends say about `--schedule` (the harness's runner, its --isolate
// parent, the Boost.Test adapter), written once.

#include <pyasync/testing/options.hpp>

#include <string>

namespace pyasync::testing::detail {

/// "random" or "pct", as the command line spells it.
const char *schedule_name(schedule_strategy strategy) noexcept;

/// "exploring schedules: pct, 50 run(s) per async case from seed 1": the line a run under
/// `--schedule` starts with (on stderr), so that a passing run's seed is known too.
std::string exploration_banner(const options &opts);

} // namespace pyasync::testing::detail
