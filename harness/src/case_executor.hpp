#pragma once
// Internal: the core that runs one case on a loop and leaves its verdict in its row. Front-ends
// (the in-process run plan today; the Boost.Test adapter and a serve mode next) choose the
// cases, the loop and the fixtures, and report; this runs a case and judges it.

#include "capture.hpp"
#include "case_hygiene.hpp"

#include <pyasync/task.hpp>

#include <functional>
#include <optional>
#include <set>

namespace pyasync::testing::detail {

/// In a process forked by a case that returned into the harness: says so on stderr and leaves
/// at once (`_exit(0)`), so that only the process that started the case reports it.
void leave_if_forked(const case_result &result) noexcept;

/// Marks `result` finished (leave_if_forked first), with `output` as its captured output, and settles its status from
/// what was recorded (failures, a skip). Takes the result table's lock: assertions on other
/// threads see `finished` and report late failures from then on.
void conclude_case(case_result &result, std::string output);

/// Runs cases one at a time (sync) or several at once (async, on one loop), applying the
/// options that shape a single case: --timeout, capture, --strict-tasks, the hygiene checks.
/// Main thread, GIL held, for every member.
class case_executor {
public:
    /// Records the calling process as the one whose cases report (see leave_if_forked).
    case_executor(const options &opts, case_hygiene &hygiene);

    /// Runs a sync case now, on the main thread, while `loop` is idle, and concludes `result`.
    /// Should it overrun its timeout, the watchdog fails it, calls `before_abort` (from the
    /// watchdog thread: save the reports) and aborts the process with the stacks on stderr.
    void run_sync(const case_info &info, case_result &result, py::handle loop, std::function<void()> before_abort);
    /// Lazy: awaiting it runs an async case as an asyncio Task on `loop` (the loop that runs the
    /// awaiting coroutine) in a context naming the case, and concludes `result`. A timeout
    /// cancels the Task through asyncio; one that swallows its cancellation is abandoned. Under
    /// `--loop-factory trio` (`loop` is the trio session), see run_async_under_trio. A case that
    /// ends past its limit fails as timed out however it ended; one that keeps the loop from
    /// coming back past twice the grace period is ended like a hung sync case (`before_abort`
    /// is called from the watchdog thread, then the process aborts).
    task<> run_async(const case_info &info, case_result &result, py::handle loop,
                     std::function<void()> before_abort = {});

    /// The first stop signal: cancels the case Tasks in flight on `loop` (waking it), or under
    /// trio the cancel scopes of the cases in flight (through the run's token, which wakes it),
    /// and when a sync case's Python code is running, raises KeyboardInterrupt into it (throws).
    void interrupt(py::handle loop, std::string reason = "Ctrl-C");
    [[nodiscard]] bool interrupted() const { return interrupted_; }
    /// What interrupted the run: "Ctrl-C" or "SIGTERM".
    [[nodiscard]] const std::string &interrupt_reason() const { return interrupt_reason_; }

private:
    /// The case's Task: runs the case, then resolves `done` (what run_async awaits) itself and
    /// removes `fallback`, the done callback that resolves it for a Task that never ran.
    /// Under trio `done` and `fallback` are empty and `trio_scope` is the case's cancel scope.
    task<> case_body(const case_info &info, case_result &result, py::object done, py::object fallback,
                     py::object trio_scope);
    /// The case's body: once, or under `--schedule` once per schedule run until a run fails,
    /// that run's failure then saying which seed replays it (schedule_exploration.cpp).
    task<> run_body(const case_info &info, case_result &result);
    task<> explore_schedules(const case_info &info, case_result &result);
    /// run_async under `--loop-factory trio`: the case runs in the batch's trio task, in a cancel
    /// scope whose deadline is its timeout, with the case variable set around it.
    task<> run_async_under_trio(const case_info &info, case_result &result);
    /// Records the exception being handled on `result`; never throws, so no exception of any
    /// type can leave a case unjudged.
    void absorb_exception(case_result &result) noexcept;
    [[nodiscard]] bool capturing() const;
    /// Fails `result` as timed out when it ran past `limit` and nothing said so yet (the loop's
    /// timer never fired: the case blocked it, or finished soon after swallowing it); `ran` is
    /// the time the limit covers (under exploration, the last schedule run's); `how` says what
    /// that means for this kind of case.
    static void judge_by_the_clock(case_result &result, std::optional<double> limit, double ran, const char *how);

    const options &opts_;
    case_hygiene &hygiene_;
    bool interrupted_ = false;
    /// Under exploration, while an async case runs: gives its time limit afresh (each schedule
    /// run has the whole limit). Loop thread.
    const std::function<void()> *restart_case_limit_ = nullptr;
    std::string interrupt_reason_ = "Ctrl-C"; ///< what stopped the run: "Ctrl-C" or "SIGTERM"
    bool in_sync_case_ = false;
    std::set<PyObject *> running_tasks_;       ///< case Tasks in flight (borrowed; owned by the awaiting frame)
    std::set<PyObject *> running_trio_scopes_; ///< under trio: their cancel scopes (borrowed, as above)
    py::object trio_token_;                    ///< the trio run those cases run in
    watchdog watchdog_;
    output_capture *sync_capture_ = nullptr;
};

} // namespace pyasync::testing::detail
