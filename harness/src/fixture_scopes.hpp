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
    /// Fails `result` when its suite's set-up failed; true when it did.
    bool failed_with_its_suite(case_result &result);
    /// Tears `info`'s suite down when `info` was its last case. A failure is reported and
    /// counted as a failed test (the cases already have their verdicts).
    task<> tear_down_if_last(const case_info &info);
    /// Tears down every suite still set up (the run stopped early).
    void tear_down_remaining(py::handle loop);

private:
    struct state {
        bool set_up = false;
        bool failed = false;
        std::string failure;
        int remaining = 0; ///< cases of the suite still to run in this iteration
    };
    reporter &report_;
    run_record &record_;
    std::map<std::string, state> suites_;
};

/// The global fixtures, set up in registration order and torn down in reverse.
class global_scope {
public:
    global_scope(reporter &report, run_record &record) : report_(report), record_(record) {}
    /// False when one failed to set up (said on stderr): the run must not start.
    bool set_up(py::handle loop);
    void tear_down(py::handle loop);

private:
    reporter &report_;
    run_record &record_;
    std::vector<std::pair<std::string, std::unique_ptr<fixture_lifetime>>> fixtures_;
};

} // namespace pyasync::testing::detail
