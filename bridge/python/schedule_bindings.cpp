// pyasync._core.ScheduleRun and schedule_run_seed (see schedule_bindings.hpp).
#include "schedule_bindings.hpp"

#include <pyasync/detail/schedule.hpp>

#include <optional>
#include <stdexcept>
#include <string>

namespace pyasync::python {
namespace {

namespace py = pybind11;
using pyasync::detail::schedule_run;
using pyasync::detail::schedule_strategy;

constexpr schedule_strategy strategies[] = {schedule_strategy::random, schedule_strategy::pct};

schedule_strategy strategy_named(const std::string &name) {
    for (const schedule_strategy strategy : strategies) {
        if (name == pyasync::detail::strategy_name(strategy)) {
            return strategy;
        }
    }
    throw std::invalid_argument("strategy is '" + name + "': expected 'random' or 'pct'");
}

/// A run that close() ends; what it reported stays readable after.
class scheduled {
public:
    scheduled(const std::string &strategy, std::uint64_t seed, const py::object &loop) {
        run_.emplace(strategy_named(strategy), seed, loop.is_none() ? nullptr : loop.ptr());
        loop_ = loop; // kept alive while the run may post to it
    }
    void bind(const py::object &loop) {
        if (run_ && !loop.is_none()) {
            run_->bind(loop.ptr());
            if (loop_.is_none()) {
                loop_ = loop;
            }
        }
    }
    void close() {
        if (!run_) {
            return;
        }
        trace_ = run_->trace();
        decisions_ = run_->decisions();
        departures_ = run_->departures();
        error_ = run_->error();
        run_.reset();
        loop_ = py::none();
    }
    [[nodiscard]] std::string trace() const { return run_ ? run_->trace() : trace_; }
    [[nodiscard]] std::uint64_t decisions() const { return run_ ? run_->decisions() : decisions_; }
    [[nodiscard]] std::uint64_t departures() const { return run_ ? run_->departures() : departures_; }
    [[nodiscard]] std::optional<std::string> error() const { return run_ ? run_->error() : error_; }

private:
    std::optional<schedule_run> run_;
    py::object loop_ = py::none();
    std::string trace_;
    std::uint64_t decisions_ = 0;
    std::uint64_t departures_ = 0;
    std::optional<std::string> error_;
};

} // namespace

void add_schedule_bindings(py::module_ &module) {
    py::class_<scheduled>(module, "ScheduleRun",
                          "One run under a seeded schedule of the runtime's work and timers (the lockstep "
                          "runtime stands in front of the default one until close()). Loop thread, GIL held.")
        .def(py::init<const std::string &, std::uint64_t, const py::object &>(), py::arg("strategy"), py::arg("seed"),
             py::arg("loop") = py::none())
        .def("bind", &scheduled::bind, py::arg("loop"), "The run's loop, when it was made without one.")
        .def("close", &scheduled::close, "Ends the run: the default runtime is back; queued work moves to it.")
        .def("trace", &scheduled::trace, "The choices that departed from the usual order, one per line.")
        .def_property_readonly("decisions", &scheduled::decisions)
        .def_property_readonly("departures", &scheduled::departures)
        .def("error", &scheduled::error, "Why the run could not be explored faithfully, or None.")
        .def("__enter__", [](py::object self) { return self; })
        .def("__exit__", [](scheduled &self, const py::args &) { self.close(); });
    module.attr("SCHEDULE_STRATEGIES") =
        py::make_tuple(pyasync::detail::strategy_name(strategies[0]), pyasync::detail::strategy_name(strategies[1]));
    module.attr("DEFAULT_SCHEDULE_RUNS") = pyasync::detail::default_schedule_runs;
    module.attr("MOST_SCHEDULE_RUNS") = pyasync::detail::most_schedule_runs;
    module.attr("TRIO_SCHEDULE_NOTE") = pyasync::detail::trio_schedule_note;
    module.def(
        "_submit_to_schedule", [](const py::object &call) { return pyasync::detail::submit_to_schedule(call.ptr()); },
        py::arg("call"),
        "The executor's call as work of the active schedule run, when the caller is the run's: True; else False.");
    module.def("_schedule_order", &pyasync::detail::order_ready, py::arg("names"),
               "The order in which the loop handles descriptors one poll found ready, chosen by the active "
               "schedule run; None outside one.");
    module.def("_seed_trio_scheduler", &pyasync::detail::seed_trio_scheduler, py::arg("seed"),
               "Trio's scheduler ordered by a generator with this seed, or its usual scheduling back (None).");
    module.def("schedule_run_seed", &pyasync::detail::schedule_run_seed, py::arg("base"), py::arg("index"),
               "The seed of run `index` (from 0) of an exploration from `base` (run 0: `base` itself).");
}

} // namespace pyasync::python
