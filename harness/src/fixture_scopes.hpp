#pragma once
// Internal: suite fixtures (set up before a suite's first case, torn down after its last case
// of the iteration) and global fixtures (around the whole run), on the run's loop.

#include "reporters/reporter.hpp"

#include <pyasync/task.hpp>

#include <map>
#include <memory>

namespace pyasync::testing::detail {

/// The suite fixtures of one run. Main thread, GIL held, for every member.
class suite_scopes {
public:
    suite_scopes(reporter &report, run_record &record) : report_(report), record_(record) {}

    /// Counts, per suite, the cases of `order`: a suite is torn down after the last of them.
    void plan_iteration(const std::vector<const case_info *> &order);
    /// Sets `info`'s suite up on `loop` unless it is already (or failed to be).
    void set_up(const case_info &info, py::handle loop);
    /// Why `info`'s suite failed to set up ("suite set-up failed (Suite):\n…"), or empty.
    [[nodiscard]] std::string set_up_failure(const case_info &info);
    /// Fails `result` when its suite's set-up failed; true when it did.
    bool failed_with_its_suite(case_result &result);
    /// Tears `info`'s suite down when `info` was its last case. A failure is reported and
    /// counted as a failed test (the cases already have their verdicts).
    task<> tear_down_if_last(const case_info &info);
    /// Tears down every suite still set up (the run stopped early).
    void tear_down_remaining(py::handle loop);

    /// Serving: suites stay set up until `tear_down` names them (the parent knows which case
    /// comes next; this process does not).
    void hold_open() { held_open_ = true; }
    /// Tears `suite` down if it is set up, and forgets a failed set-up (a later case of the suite
    /// tries again). A failure is reported as by `tear_down_if_last`.
    task<> tear_down(const std::string &suite);

private:
    struct state {
        bool set_up = false;
        bool failed = false;
        std::string failure;
        int remaining = 0;                  ///< cases of the suite still to run in this iteration
        const case_info *guarded = nullptr; ///< a case of the suite: where its fixture is declared
    };
    task<> tear_down(state &suite);
    reporter &report_;
    run_record &record_;
    std::map<std::string, state> suites_;
    bool held_open_ = false;
};

/// The global fixtures, set up in registration order and torn down in reverse.
class global_scope {
public:
    global_scope(reporter &report, run_record &record) : report_(report), record_(record) {}
    /// False when one failed to set up (said on stderr, and kept in `failure`): the run must
    /// not start.
    bool set_up(py::handle loop);
    void tear_down(py::handle loop);
    [[nodiscard]] const std::string &failure() const { return failure_; }

private:
    reporter &report_;
    run_record &record_;
    std::vector<std::pair<std::string, std::unique_ptr<fixture_lifetime>>> fixtures_;
    std::string failure_;
};

} // namespace pyasync::testing::detail
