#pragma once
// Internal: the outcome of one case run (a row), the table the assertions write into, and the
// record of one run (its rows in order and the totals).

#include <pyasync/testing/registry.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace pyasync::testing::detail {

enum class outcome { passed, failed, skipped, ignored };

struct case_result {
    const case_info *info = nullptr;
    int id = -1; ///< index in `results()`, the value of the context variable
    int iteration = 0;
    outcome status = outcome::passed;
    std::vector<std::string> failures; ///< each "file:line: Failure\n  …"
    std::string skip_reason;
    std::string output; ///< captured stdout + stderr
    double seconds = 0;
    bool fatal_raised = false; ///< a REQUIRE already recorded why the case ended
    bool skip_raised = false;  ///< PYASYNC_SKIP was called (the case may have caught it)
    bool skip_ended = false;   ///< the skip is what ended the case: only then is it skipped
    bool finished = false;     ///< failures after this are "late" (a leftover task)
    bool timed_out = false;
    bool interrupted = false;

    void fail(std::string message) {
        failures.push_back(std::move(message));
        status = outcome::failed;
    }
    [[nodiscard]] std::string failure_text() const;
};

/// The results of the session, indexed by the id the context variable holds. Guarded by
/// `mutex` because assertions may run on other threads.
struct result_table {
    std::mutex mutex;
    std::vector<std::unique_ptr<case_result>> results;
    int sync_case = -1; ///< the case running on the main thread, for threads without a context
    int late_failures = 0;
};
result_table &results();

/// The counts of one run, as the summary line and the JSON `suite` event state them.
struct run_totals {
    std::size_t passed = 0, failed = 0, skipped = 0, ignored = 0, filtered_out = 0;
    double seconds = 0;
    bool interrupted = false;
    std::string interrupted_by; ///< what stopped it: "Ctrl-C" (also when empty) or "SIGTERM"
    std::string session_error;  ///< why the run failed outside any case (a global fixture, the loop); else empty
};

/// Collects results and totals for one run, whichever way the cases run.
struct run_record {
    std::vector<const case_result *> results;
    run_totals totals;
    std::string python_version; ///< for the JUnit properties; empty when Python did not start
    /// A new row in `results()` for `info`, listed here. Main thread.
    case_result &add(const case_info &info, int iteration);
    /// Counts a finished row in the totals.
    void count(const case_result &result);
};

/// The formatted traceback of a Python exception, or its recorded message when formatting fails
/// (no traceback, an unprintable value, no interpreter). Never throws. GIL held when there is one.
std::string python_traceback(const py::error_already_set &error) noexcept;
/// Creates the context variable assertions read (after the interpreter started). GIL held.
void install_case_variable();
/// The context variable holding the running case's id. GIL held.
py::handle case_variable();

} // namespace pyasync::testing::detail
