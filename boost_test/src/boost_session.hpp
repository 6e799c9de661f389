#pragma once
// Internal: the Boost.Test adapter's session. It owns what the harness's in-process runner owns
// for a run (the loop, the case executor and its hygiene checks, the results) and runs one Boost
// test case at a time through the case executor, reporting what the harness found to Boost.

#include <pyasync/boost_test.hpp>

#include "case_executor.hpp"
#include "case_hygiene.hpp"

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unistd.h>

namespace pyasync::boost_test::detail {

namespace py = pybind11;
using testing::case_info;
using testing::options;

/// What `main` found after `--` (and in PYASYNC_* variables): pyasync's options for this run.
struct adapter_options {
    options harness;              ///< loop factory, --asyncio-debug, --strict-tasks
    bool include_ignored = false; ///< run PYASYNC_TEST cases marked ignored
    bool list_json = false;       ///< describe the test tree as JSON on stdout and exit
    bool help = false;
};

/// Parses pyasync's options: `args` (what follows `--`), after the environment's defaults
/// (PYASYNC_LOOP_FACTORY, PYASYNC_STRICT_TASKS, PYASYNC_ASYNCIO_DEBUG). Throws
/// std::invalid_argument naming the argument and what was expected.
adapter_options parse_adapter_options(const std::vector<std::string> &args);
/// The text `-- --help` prints.
const char *adapter_help();

/// The options of this run, set by `main` before Boost starts. Main thread.
adapter_options &current_options();

/// A pyasync timeout given to a test unit (`pyasync::boost_test::timeout`, or a mirrored case's
/// own), in seconds; empty when it has none.
std::optional<double> pyasync_timeout_of(boost::unit_test::test_unit_id unit);
void set_pyasync_timeout(boost::unit_test::test_unit_id unit, double seconds);
/// Whether a test case runs a coroutine: a `PYASYNC_BOOST_*` case, or a mirrored async
/// `PYASYNC_TEST` case (recorded when registered, for the listing).
bool is_async_unit(boost::unit_test::test_unit_id unit);

/// Registers the PYASYNC_TEST cases and global fixtures of this binary in Boost's tree (called
/// from init_unit_test, before Boost applies decorators and filters). No Python.
void mirror_registered_cases();

/// Writes the test tree (after Boost's set-up phase) as the JSON listing discovery reads.
void write_tree_listing(std::FILE *out);

/// The session: main thread, GIL held, for every member. One per run, made by `main` once the
/// interpreter started and destroyed before it is finalised.
class boost_session final : boost::unit_test::test_observer {
public:
    explicit boost_session(const adapter_options &opts);
    boost_session(const boost_session &) = delete;
    boost_session &operator=(const boost_session &) = delete;
    ~boost_session() override;

    /// The running session; throws std::logic_error outside one (a case run by something else
    /// than pyasync's main).
    static boost_session &current();

    /// Runs the Boost test case being executed: `base` names it; its timeout is the shorter of
    /// the case's own and what is left of Boost's. Reports to Boost what the harness found;
    /// throws boost::execution_exception for a timeout (timeout_error) or Ctrl-C (user_fatal_error).
    void run_case(const case_info &base);
    /// Runs `work` to completion on the loop.
    void run_to_completion(task<> work);
    /// After Boost's run, with `status` its exit status: reports the failures that happened
    /// outside any running case and not reported yet, and turns a passing status into Boost's
    /// failure status (201) when there were any: they fail the run, never a case.
    [[nodiscard]] int finish(int status);
    /// Called by exit() while the session lives: when a case is running (in the process that
    /// runs the cases), says on stdout and stderr that the process exited during it and ends the
    /// process with Boost's failure status (or `status`, when not 0). Boost's reports are lost.
    void exited_during_case(int status);

private:
    void test_unit_aborted(const boost::unit_test::test_unit &unit) override;
    [[nodiscard]] int priority() override { return 0; }
    void run_on_loop(const case_info &info, testing::detail::case_result &result);
    void report_to_boost(const case_info &info, testing::detail::case_result &result);

    class notes;
    adapter_options opts_;
    std::unique_ptr<notes> notes_;
    testing::detail::run_record record_;
    std::deque<case_info> infos_; ///< what each case's row refers to (run_case's copies)
    std::optional<testing::detail::case_hygiene> hygiene_;
    std::optional<testing::detail::case_executor> executor_;
    py::object loop_;
    testing::detail::case_result *running_ = nullptr;
    pid_t owner_process_ = getpid(); ///< the process that runs the cases
    py::object set_event_loop_;      ///< asyncio.set_event_loop, looked up once: called before every case
    bool stop_ = false;
    std::string last_timeout_;      ///< the message of the timeout being thrown (Boost keeps a view of it)
    std::string last_timeout_file_; ///< and its file
};

} // namespace pyasync::boost_test::detail
