// `--schedule`: an async case's body run under seeded schedules of the runtime's work and timers
// (pyasync/detail/schedule.hpp), until a run fails; that run's failure names the seed that
// replays it and the choices that departed from the usual order.
#include "schedule_exploration.hpp"

#include "case_executor.hpp"

#include <pyasync/detail/schedule.hpp>
#include <pyasync/task_locals.hpp>

#include <memory>

namespace pyasync::testing::detail {
namespace {

using pyasync::detail::schedule_run;

pyasync::detail::schedule_strategy bridge_strategy(schedule_strategy strategy) {
    return strategy == schedule_strategy::pct ? pyasync::detail::schedule_strategy::pct
                                              : pyasync::detail::schedule_strategy::random;
}

/// "  " before every line of `text`.
std::string indented(const std::string &text, const std::string &by) {
    std::string out;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        const std::size_t stop = end == std::string::npos ? text.size() : end;
        out += by + text.substr(start, stop - start) + "\n";
        start = stop + 1;
    }
    return out;
}

std::string describe_failing_run(const options &opts, int run, std::uint64_t seed, const schedule_run &schedule,
                                 bool cancelled, bool under_trio) {
    const char *name = schedule_name(*opts.schedule);
    std::string text = std::string(cancelled ? "cancelled during" : "failed in") + " schedule run " +
                       std::to_string(run + 1) + " of " + std::to_string(*opts.schedule_runs) + " (" + name +
                       ", seed " + std::to_string(seed) + "); replay it with: --schedule " + name +
                       " --schedule-seed " + std::to_string(seed) + "\n  ";
    if (under_trio) {
        text += std::string(pyasync::detail::trio_schedule_note) + "\n";
    } else {
        text += std::to_string(schedule.departures()) + " of the run's " + std::to_string(schedule.decisions()) +
                " scheduling choices departed from the usual order";
        const std::string trace = schedule.trace();
        text += trace.empty() ? "\n" : ":\n" + indented(trace, "    ");
    }
    if (const auto error = schedule.error()) {
        text += "  " + *error + "\n";
    }
    text.pop_back();
    return text;
}

} // namespace

const char *schedule_name(schedule_strategy strategy) noexcept {
    return pyasync::detail::strategy_name(bridge_strategy(strategy));
}

std::string exploration_banner(const options &opts) {
    return std::string("exploring schedules: ") + schedule_name(*opts.schedule) + ", " +
           std::to_string(*opts.schedule_runs) + " run(s) per async case from seed " +
           std::to_string(*opts.schedule_seed);
}

task<> case_executor::run_body(const case_info &info, case_result &result) {
    if (opts_.schedule) {
        return explore_schedules(info, result);
    }
    return info.invoker->run_async();
}

task<> case_executor::explore_schedules(const case_info &info, case_result &result) {
    // Under trio the choices are trio's scheduler's, seeded per run; there is no asyncio loop
    // for the runtime's work to step through.
    const bool under_trio = opts_.loop_factory == "trio";
    const py::object loop = under_trio ? py::none() : pyasync::get_running_loop();
    struct trio_scheduler_restored {
        bool under_trio;
        ~trio_scheduler_restored() {
            if (under_trio) {
                try {
                    pyasync::detail::seed_trio_scheduler(std::nullopt);
                } catch (...) {
                    PyErr_Clear(); // it was seeded, so the hook is there: nothing sensible to report
                }
            }
        }
    } restored{under_trio};
    const int runs = *opts_.schedule_runs;
    for (int run = 0; run < runs; ++run) {
        const std::uint64_t seed = pyasync::detail::schedule_run_seed(*opts_.schedule_seed, run);
        const std::size_t failures_before = result.failures.size();
        if (run > 0 && restart_case_limit_ != nullptr) {
            (*restart_case_limit_)(); // each run has the case's whole time limit
        }
        auto schedule =
            std::make_unique<schedule_run>(bridge_strategy(*opts_.schedule), seed, under_trio ? nullptr : loop.ptr());
        if (under_trio) {
            pyasync::detail::seed_trio_scheduler(seed);
        }
        std::exception_ptr cancellation;
        try {
            co_await info.invoker->run_async();
        } catch (const cancelled_error &) {
            cancellation = std::current_exception(); // the timeout's or Ctrl-C's: case_body judges it
        } catch (...) {
            absorb_exception(result);
        }
        const bool failed = cancellation || result.failures.size() > failures_before || result.fatal_raised ||
                            schedule->error().has_value();
        if (failed) {
            result.fail(failure_location(result) +
                        describe_failing_run(opts_, run, seed, *schedule, !!cancellation, under_trio));
        }
        schedule.reset(); // the default runtime is back before anything else runs
        if (cancellation) {
            std::rethrow_exception(cancellation);
        }
        if (failed || result.skip_ended) {
            co_return;
        }
    }
}

} // namespace pyasync::testing::detail
