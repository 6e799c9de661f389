#pragma once
/// \file
/// Seeded schedule exploration (internal; the harness's `--schedule` and the adapters use it).
///
/// While a `schedule_run` lives, the default runtime is a lockstep engine: the work spawned on
/// it, its timers, and the calls given to the run's loop's default executor (asyncio's own
/// loops), run one at a time on one worker thread, each when the schedule chooses,
/// at a step the loop runs between its own callbacks. The schedule only chooses among orders
/// real timing could produce: which of the jobs and due timers completes first, whether the
/// loop runs more of its own callbacks before the next one does, and whether the jobs wait until
/// a timer due within 100 ms has fired (a slow runtime). Everything asyncio orders
/// (`call_soon` order, timers by deadline, a done future not yielding) stays as it is. The same
/// strategy and seed make the same choices, so a run whose code lives on the loop, the virtual
/// clock and the runtime's `spawn`, `spawn_all` and timers replays exactly; work on the blocking
/// pool (`spawn_blocking`) and Asio I/O keep running in real time.

#include <pyasync/config.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pyasync::detail {

/// How a schedule chooses. `random`: a fresh uniform choice at each decision. `pct`:
/// probabilistic concurrency testing, each piece of work a random priority, the highest runs
/// first, and at a few change points the running one drops to the lowest.
enum class schedule_strategy { random, pct };

/// "random" or "pct".
PYASYNC_API const char *strategy_name(schedule_strategy strategy) noexcept;

/// Runs per case or test when none is asked for (a seed given alone asks for one: a replay), and
/// the most one may ask for: the harness, the Boost.Test adapter and the pytest plugin share them.
inline constexpr int default_schedule_runs = 100;
inline constexpr int most_schedule_runs = 1'000'000;

/// The seed of run `index` (from 0) of an exploration from `base`: `base` itself for run 0, so
/// that a reported run's seed given alone replays that run; a mix of both after. Pure.
PYASYNC_API std::uint64_t schedule_run_seed(std::uint64_t base, int index) noexcept;

/// A loop timer (an asyncio `TimerHandle`) that is a test tool's own time limit. A schedule may
/// make the runtime's work wait until a loop timer due soon has fired (a slow runtime, which
/// times out a short `wait_for`); it never waits for an exempt one, which would time the case
/// itself out. Loop thread, GIL held; a reference is kept until `end_exemption`.
PYASYNC_API void exempt_from_schedules(PyObject *timer_handle);
PYASYNC_API void end_exemption(PyObject *timer_handle) noexcept;

/// An executor's call (a Python callable that never raises) as work of the active schedule run,
/// when the caller is the run's: true, and the run chooses when it completes; else false, and the
/// caller runs it its usual way. Any thread, GIL held (pyasync._lockstep_loop.py).
PYASYNC_API bool submit_to_schedule(PyObject *call);

/// Under trio a schedule's choices are trio's own: given a seed, trio's scheduler orders each
/// batch of runnable tasks by a generator seeded with it (trio's hook for deterministic
/// scheduling, the one pytest-trio uses under Hypothesis), so the same seed replays the same
/// order; nothing restores trio's usual scheduling. The runtime's work keeps its real threads
/// under trio. Any thread, GIL held. Throws `std::runtime_error` when trio lacks the hook.
PYASYNC_API void seed_trio_scheduler(std::optional<std::uint64_t> seed);
/// What a failing run's report says under trio, in every front end.
inline constexpr const char *trio_schedule_note =
    "under trio: trio's scheduler ordered each batch of runnable tasks by this seed (its choices are not traced; "
    "the runtime's work ran in real time)";

/// The order in which the loop handles the file descriptors one poll found ready together
/// (`names`: one per descriptor, in the poll's order), chosen by the active schedule run when
/// the caller is the run's loop; else nothing. Loop thread, GIL held (pyasync/_lockstep_loop.py).
PYASYNC_API std::optional<std::vector<std::size_t>> order_ready(const std::vector<std::string> &names);

class lockstep_runtime;

/// One run of code under a seeded schedule. Made and destroyed on the loop thread with the GIL
/// held, around the code (a case's body); only one lives at a time in a process (the runtime
/// it installs is the process's default).
class PYASYNC_API schedule_run {
public:
    /// Installs the lockstep engine on `loop` (borrowed; it must outlive the run), or on the loop
    /// `bind` names later when `loop` is nullptr; until then no work is the run's. Eager.
    /// Throws `std::logic_error` when another run is active.
    schedule_run(schedule_strategy strategy, std::uint64_t seed, PyObject *loop);
    /// The run's loop, when it was made without one (a front end that learns it later: the
    /// pytest plugin, at the first async phase); else nothing. Only work started from the run's
    /// loop, or from threads other than the loop's, is the run's. Loop thread, GIL held.
    void bind(PyObject *loop);
    /// Puts the default runtime back; work still queued or timers still pending (left by
    /// abandoned awaits) move to it, so each still runs or is cancelled exactly once.
    ~schedule_run();
    schedule_run(const schedule_run &) = delete;
    schedule_run &operator=(const schedule_run &) = delete;

    /// The decisions that departed from the usual order (first come, first served), the last
    /// `last` of them, one per line: what a reader needs to see why the run went as it did.
    [[nodiscard]] std::string trace(std::size_t last = 12) const;
    /// How many choices the run made, and how many departed from the usual order.
    [[nodiscard]] std::uint64_t decisions() const noexcept;
    [[nodiscard]] std::uint64_t departures() const noexcept;
    /// Why the run could not be explored faithfully (a job that blocked, waiting for something
    /// only another job or the loop could do), or nothing.
    [[nodiscard]] std::optional<std::string> error() const;

private:
    std::shared_ptr<lockstep_runtime> engine_;
};

} // namespace pyasync::detail
