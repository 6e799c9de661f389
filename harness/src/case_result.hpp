#pragma once
// Internal: the outcome of one case run (a row), the table the assertions write into, and the
// record of one run (its rows in order and the totals).

#include <pyasync/testing/registry.hpp>

#include <array>
#include <atomic>
#include <deque>
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
    /// The case's own code is done with this row: nothing refers to it any more, and a serving
    /// child may retire it. Not so for an abandoned async case (its Task swallowed the
    /// cancellation and is still pending) or one whose loop stopped under it.
    bool body_ended = false;
    bool timed_out = false;
    bool interrupted = false;

    void fail(std::string message) {
        failures.push_back(std::move(message));
        status = outcome::failed;
    }
    [[nodiscard]] std::string failure_text() const;
};

/// A failure reported while no case was running to take it (a callback or thread left behind by a
/// case that had ended), waiting for the runner to report it between cases.
struct late_failure {
    std::string after; ///< the full name of the case that had ended, or empty when none is known
    std::string text;  ///< "file:line: Failure\n  …", or what the loop's handler received
};

/// "pyasync-test: a failure outside any running case (after the end of Suite.Case):\n" + the text.
std::string describe_late_failure(const late_failure &failure);

/// The results of the session by the id the context variable holds. Guarded by `mutex`
/// because assertions may run on other threads.
///
/// A direct run keeps every row for its reports. A serving child retires each row once its
/// verdict went to the parent, so its memory stays flat however many cases it runs; a leftover
/// task of a retired case that fails later is still named (the last `remembered` retired names
/// are kept), and still counted as a failure outside any running case.
struct result_table {
    static constexpr std::size_t remembered = 1024;

    std::mutex mutex;
    int sync_case = -1; ///< the case running on the main thread, for threads without a context
    /// Those not reported yet. Not written to stderr where they happen: a case running meanwhile
    /// would capture them into its own output, and a passing case's output is never shown.
    std::vector<late_failure> unreported;
    /// Set with `unreported` (under the mutex): lets the runner skip the lock between cases
    /// when there is nothing to report, the common case.
    std::atomic<bool> has_unreported{false};

    /// A new row, with the next id. Main thread.
    case_result &add();
    /// The live row `id`, or nullptr (never created, or retired).
    case_result *find(int id) noexcept;
    /// Calls `visit` with every live row, in id order.
    template <typename Visit>
    void for_each_row(Visit visit) const {
        for (const auto &row : rows_) {
            if (row) {
                visit(*row);
            }
        }
    }
    /// Drops the finished row `id`, remembering its case's name.
    void retire(int id);
    /// The full name ("Suite.Case") of the case `id`, live or retired; empty when it is neither
    /// (no such case, or retired longer ago than the last `remembered`).
    [[nodiscard]] std::string case_name(int id) const;
    /// Keeps a failure outside any running case for `report_late_failures` (which counts it).
    void add_late_failure(std::string after, std::string text);

private:
    struct retired_case {
        int id = -1;
        const case_info *info = nullptr;
    };
    /// Rows by id - first_id_; a retired row is null until every row before it is retired too
    /// (then the front is popped): rows are made in id order and almost always retired in it.
    std::deque<std::unique_ptr<case_result>> rows_;
    int first_id_ = 0;
    std::array<retired_case, remembered> retired_{}; ///< a ring: the newest overwrites the oldest
    std::size_t retired_count_ = 0;
};

result_table &results();

/// The counts of one run, as the summary line and the JSON `suite` event state them.
struct run_totals {
    std::size_t passed = 0, failed = 0, skipped = 0, ignored = 0, filtered_out = 0;
    std::size_t late_failures = 0; ///< failures outside any running case (they fail the run)
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
