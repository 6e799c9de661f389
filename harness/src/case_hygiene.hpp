#pragma once
// Internal: what a case leaves behind and what the harness checks after it: tasks still
// pending on the loop, coroutines never awaited; and where a timed-out Task is suspended.

#include "reporters/reporter.hpp"

#include <pyasync/testing/options.hpp>

namespace pyasync::testing::detail {

/// "file:line: Failure\n  " for `result`'s case: the head of a failure the harness records.
std::string failure_location(const case_result &result);

/// Per-case hygiene checks. Built after the interpreter started; main thread, GIL held, for
/// every member. `--strict-tasks` turns what it finds into failures; without it, a warning.
class case_hygiene {
public:
    case_hygiene(const options &opts, reporter &report);
    case_hygiene(const case_hygiene &) = delete;
    case_hygiene &operator=(const case_hygiene &) = delete;
    ~case_hygiene();

    /// How many never-awaited warnings the session has seen: take it before a case starts.
    [[nodiscard]] std::size_t unawaited_mark() const;
    /// Coroutines created and never awaited since `mark`. Only with one case in flight: with
    /// several, a warning cannot be pinned on the case that caused it.
    void check_unawaited_coroutines(case_result &result, std::size_t mark);
    /// Tasks on `loop` not done and not in `keep` (a tuple): cancelled, and reported.
    void check_leftover_tasks(case_result &result, py::handle loop, py::handle keep);
    /// `label`, then the chain of awaitables `task` is suspended in, innermost last.
    [[nodiscard]] std::string describe_suspension(py::handle task, const std::string &label);

private:
    /// Fails `result` under --strict-tasks, else warns through the reporter.
    void judge(case_result &result, const std::string &message);

    const options &opts_;
    reporter &report_;
    py::dict helpers_;
    py::object unawaited_;        ///< UnawaitedCoroutines: every never-awaited warning of the session
    py::object unawaited_seen_;   ///< its list of warnings (only ever appended to)
    py::object registered_tasks_; ///< asyncio's set of references to every Task (null if unknown)
    py::object pending_removals_; ///< the removals that set still counts
};

} // namespace pyasync::testing::detail
