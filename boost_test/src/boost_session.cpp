// One Boost test case through the harness's case executor: Boost's alarm taken over by an
// asyncio deadline, the loop made current again, leftover tasks drained inside the case, loop
// callback errors pinned on the case, and what the harness found reported to Boost.
#include "boost_session.hpp"

#include "interruption.hpp"
#include "loop_errors.hpp"
#include "session_loop.hpp"

#include <pyasync/run.hpp>
#include <pyasync/testing/assertions.hpp>

#include <boost/test/execution_monitor.hpp>

#include <unistd.h>

#include <stdexcept>

namespace pyasync::boost_test::detail {
namespace {

using testing::detail::case_result;
namespace tt = boost::test_tools::tt_detail;

boost_session *running_session = nullptr;

/// Run by exit() (glibc's on_exit hands it the status): a case that calls exit() must not end
/// the Boost run with the case's status, as if every case had passed.
void exit_during_a_case(int status, void *) {
    if (running_session != nullptr) {
        running_session->exited_during_case(status);
    }
}

/// A harness failure ("file:line: Failure\n  message") split for Boost's log.
struct located_failure {
    std::string file;
    std::size_t line = 0;
    std::string message;
};

located_failure locate(const std::string &failure, const case_info &info) {
    constexpr std::string_view marker = ": Failure";
    const std::size_t head = failure.find(marker);
    const std::size_t colon = head == std::string::npos ? std::string::npos : failure.rfind(':', head - 1);
    if (colon == std::string::npos || colon == 0) {
        return {info.file, static_cast<std::size_t>(info.line), failure};
    }
    located_failure located;
    located.file = failure.substr(0, colon);
    located.line = std::strtoul(failure.c_str() + colon + 1, nullptr, 10);
    // What follows the marker on its line qualifies it (" (--strict-tasks)"): kept at the end.
    const std::size_t line_end = std::min(failure.find('\n', head), failure.size());
    const std::string qualifier = failure.substr(head + marker.size(), line_end - head - marker.size());
    // The harness indents the message's first line by two; Boost's log starts it at the margin.
    std::string message = line_end < failure.size() ? failure.substr(line_end + 1) : std::string();
    if (message.rfind("  ", 0) == 0) {
        message.erase(0, 2);
    }
    located.message = message + qualifier;
    return located;
}

void report(tt::tool_level level, const located_failure &failure) {
    tt::report_assertion(boost::test_tools::assertion_result(false),
                         boost::unit_test::lazy_ostream::instance() << failure.message, failure.file, failure.line,
                         level, tt::CHECK_MSG, 0);
}

} // namespace

/// Harness notes (a leftover task without --strict-tasks, a tear-down error) as Boost warnings
/// on the case running, else on stderr.
class boost_session::notes final : public testing::detail::reporter {
public:
    void run_started(const testing::detail::run_plan_summary &) override {}
    void case_started(const case_info &) override {}
    void case_finished(const case_result &) override {}
    void note(const std::string &text) override {
        if (boost::unit_test::framework::test_in_progress()) {
            const auto &unit = boost::unit_test::framework::current_test_unit();
            report(tt::WARN, {std::string(unit.p_file_name.begin(), unit.p_file_name.end()), unit.p_line_num, text});
        } else {
            std::fprintf(stderr, "pyasync: %s\n", text.c_str());
        }
    }
    /// On stderr, never as a warning of the case running now: it is not that case's.
    void outside_failure(const testing::detail::late_failure &failure) override {
        std::fprintf(stderr, "%s\n", testing::detail::describe_late_failure(failure).c_str());
    }
    bool run_finished(const std::vector<const case_result *> &, const testing::detail::run_totals &) override {
        return true;
    }
};

boost_session::boost_session(const adapter_options &opts) : opts_(opts), notes_(std::make_unique<notes>()) {
    // Asynchronous cases run one at a time: the hygiene checks apply to each.
    opts_.harness.test_threads = 1;
    opts_.harness.capture = false; // Boost and the case write to the terminal in order
    testing::detail::install_case_variable();
    hygiene_.emplace(opts_.harness, *notes_);
    executor_.emplace(opts_.harness, *hygiene_);
    loop_ = testing::detail::open_session_loop(opts_.harness);
    set_event_loop_ = py::module_::import("asyncio").attr("set_event_loop");
    if (!testing::detail::is_trio_session(loop_)) { // trio has no exception handler: errors reach the case
        // The harness's handler: an error goes to the case whose context it came from, and one
        // from a case that has ended (a callback it left behind) fails the run, not the case
        // running then (see finish()).
        testing::detail::install_loop_error_handler(loop_);
    }
    testing::detail::install_stop_signal_handlers([this](int) {
        if (executor_->interrupted()) {
            testing::detail::exit_interrupted_twice();
        }
        stop_ = true;
        std::fputs("\npyasync: interrupted: cancelling the running case (Ctrl-C again exits at once)\n", stderr);
        executor_->interrupt(loop_);
    });
    boost::unit_test::framework::register_observer(*this);
    // Exit handlers run in reverse order of registration, static destructors among them: the
    // result table the handler reads must exist before it is registered.
    (void)testing::detail::results();
    static const bool exit_handler_registered = on_exit(exit_during_a_case, nullptr) == 0;
    (void)exit_handler_registered;
    running_session = this;
}

void boost_session::exited_during_case(int status) {
    if (running_ == nullptr || getpid() != owner_process_) {
        return; // exit() outside a case, or a forked child's own exit
    }
    // Boost writes its reports when the test tree ends, which it never will: say it here, on
    // both streams (its log goes to stdout), and fail the run.
    const std::string text = "pyasync: the process exited with status " + std::to_string(status) + " during " +
                             running_->info->full_name() +
                             " (exit() was called inside the case: nothing after the call ran); the run fails\n";
    std::fflush(nullptr);
    [[maybe_unused]] const ssize_t to_stdout = write(STDOUT_FILENO, text.data(), text.size());
    [[maybe_unused]] const ssize_t to_stderr = write(STDERR_FILENO, text.data(), text.size());
    _exit(status == 0 ? boost::exit_test_failure : status);
}

boost_session::~boost_session() {
    running_session = nullptr;
    boost::unit_test::framework::deregister_observer(*this);
    testing::detail::close_session_loop(loop_);
    executor_.reset();
    hygiene_.reset();
}

int boost_session::finish(int status) {
    testing::detail::report_late_failures(*notes_, record_.totals);
    const std::size_t late = record_.totals.late_failures;
    if (late == 0) {
        return status;
    }
    std::fprintf(stderr,
                 "pyasync: error: %zu failure%s outside any running case (each is shown above, after the "
                 "case it outlived)\n",
                 late, late == 1 ? "" : "s");
    return status == boost::exit_success ? boost::exit_test_failure : status;
}

boost_session &boost_session::current() {
    if (running_session == nullptr) {
        throw std::logic_error("pyasync: a PYASYNC_BOOST case ran outside pyasync's Boost.Test main: link "
                               "pyasync::boost_test and let its main() run the tests");
    }
    return *running_session;
}

void boost_session::test_unit_aborted(const boost::unit_test::test_unit &) {
    // BOOST_REQUIRE failed (Boost already reported it): whatever escapes the case now, a
    // boost::execution_aborted or the pyasync.CppError it became inside Python, is that.
    if (running_ != nullptr) {
        running_->fatal_raised = true;
    }
}

void boost_session::run_to_completion(task<> work) {
    pyasync::run_until_complete(loop_, std::move(work));
}

void boost_session::run_case(const case_info &base) {
    // Boost armed SIGALRM for this case's (or its suite's) timeout: asyncio enforces it instead,
    // since a signal jumping out of the interpreter corrupts it.
    const unsigned boost_seconds_left = ::alarm(0);
    // Kept for the session: the case's row refers to it, and a failure that comes after the
    // case ended (a callback it left behind) is reported under its name.
    case_info &info = infos_.emplace_back(base);
    if (boost_seconds_left > 0 && (!info.timeout_seconds || *info.timeout_seconds > boost_seconds_left)) {
        info.timeout_seconds = boost_seconds_left;
    }
    if (stop_) {
        throw boost::execution_exception(boost::execution_exception::user_fatal_error,
                                         "interrupted (Ctrl-C): the remaining cases do not run",
                                         boost::execution_exception::location());
    }
    case_result &result = record_.add(info, 0);
    running_ = &result;
    run_on_loop(info, result);
    running_ = nullptr;
    record_.count(result);
    report_to_boost(info, result);
    testing::detail::report_late_failures(*notes_, record_.totals);
}

void boost_session::run_on_loop(const case_info &info, case_result &result) {
    try {
        // A case that called asyncio.run() or set_event_loop(None) must not break the next one.
        if (!testing::detail::is_trio_session(loop_)) {
            set_event_loop_(loop_);
        }
        if (info.kind() == testing::case_kind::async) {
            pyasync::run_until_complete(loop_, executor_->run_async(info, result, loop_));
        } else {
            executor_->run_sync(info, result, loop_, [] {});
        }
        // The tasks it left were cancelled by the hygiene check: they finish now, inside this
        // case, so what they assert is blamed on it and not on the next one.
        testing::detail::drain_pending_tasks(loop_);
    } catch (py::error_already_set &error) {
        if (error.matches(PyExc_KeyboardInterrupt)) {
            result.interrupted = true;
            result.fail("interrupted by Ctrl-C");
        } else {
            result.fail(testing::detail::failure_location(result) +
                        "the event loop failed under the case: " + testing::detail::python_traceback(error));
        }
    } catch (...) {
        result.fail(testing::detail::failure_location(result) +
                    "the event loop failed under the case: " + testing::detail::describe_current_exception());
    }
    if (!result.finished) {
        testing::detail::conclude_case(result, {});
    }
}

void boost_session::report_to_boost(const case_info &info, case_result &result) {
    std::string timeout_message;
    for (const std::string &failure : result.failures) {
        located_failure located = locate(failure, info);
        if (result.timed_out && timeout_message.empty() && located.message.rfind("timed out after", 0) == 0) {
            timeout_message = located.message;
            continue;
        }
        if (result.interrupted && failure == "interrupted by Ctrl-C") {
            continue;
        }
        report(tt::CHECK, located);
    }
    if (result.status == testing::detail::outcome::skipped) {
        BOOST_TEST_MESSAGE("skipped: " << result.skip_reason);
    }
    if (result.interrupted || stop_) {
        stop_ = true;
        throw boost::execution_exception(boost::execution_exception::user_fatal_error,
                                         "interrupted (Ctrl-C): the case was cancelled and the remaining cases "
                                         "do not run",
                                         boost::execution_exception::location());
    }
    if (!timeout_message.empty()) {
        // Boost keeps views of the message and the file name until it logged them.
        last_timeout_ = std::move(timeout_message);
        last_timeout_file_ = info.file;
        throw boost::execution_exception(boost::execution_exception::timeout_error, last_timeout_,
                                         boost::execution_exception::location(
                                             last_timeout_file_.c_str(), static_cast<std::size_t>(info.line), nullptr));
    }
}

// ---- what the public header calls -------------------------------------------------------

void run_current_case(testing::case_invoker &invoker) {
    const auto &unit = boost::unit_test::framework::current_test_case();
    case_info info;
    info.suite = boost::unit_test::framework::get<boost::unit_test::test_suite>(unit.p_parent_id).full_name();
    info.name = unit.p_name;
    info.file.assign(unit.p_file_name.begin(), unit.p_file_name.end());
    info.line = static_cast<int>(unit.p_line_num);
    info.timeout_seconds = pyasync_timeout_of(unit.p_id);
    // Not owned: the invoker is a static of the case's registration.
    info.invoker = std::shared_ptr<testing::case_invoker>(std::shared_ptr<void>(), &invoker);
    boost_session::current().run_case(info);
}

void run_on_session_loop(task<> work) {
    boost_session::current().run_to_completion(std::move(work));
}

} // namespace pyasync::boost_test::detail
