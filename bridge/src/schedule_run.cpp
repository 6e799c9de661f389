// A schedule run: the lockstep engine in front of the default runtime for the run's duration.
#include "lockstep_runtime.hpp"

#include <pyasync/detail/schedule.hpp>

#include <stdexcept>

namespace pyasync::detail {

/// Shares the process's engine without owning it (it is never destroyed).
schedule_run::schedule_run(schedule_strategy strategy, std::uint64_t seed, PyObject *loop)
        : engine_(&lockstep_runtime::instance(), [](lockstep_runtime *) {}) {
    engine_->begin(strategy, seed, loop);
}

schedule_run::~schedule_run() {
    engine_->end();
}

void schedule_run::bind(PyObject *loop) {
    engine_->bind(loop);
}

std::string schedule_run::trace(std::size_t last) const {
    return engine_->choices().trace(last);
}

std::uint64_t schedule_run::decisions() const noexcept {
    return engine_->choices().decisions();
}

std::uint64_t schedule_run::departures() const noexcept {
    return engine_->choices().departures();
}

std::optional<std::string> schedule_run::error() const {
    return engine_->error();
}

void exempt_from_schedules(PyObject *timer_handle) {
    lockstep_runtime::instance().exempt(timer_handle);
}

void seed_trio_scheduler(std::optional<std::uint64_t> seed) {
    const py::module_ scheduler = py::module_::import("trio._core._run");
    if (!py::hasattr(scheduler, "_r") || !py::hasattr(scheduler, "_ALLOW_DETERMINISTIC_SCHEDULING")) {
        throw std::runtime_error("pyasync: exploring schedules under trio needs trio's hook for deterministic "
                                 "scheduling (trio._core._run._r and _ALLOW_DETERMINISTIC_SCHEDULING, in trio 0.22 "
                                 "and later); this trio (" +
                                 py::str(py::module_::import("trio").attr("__version__")).cast<std::string>() +
                                 ") has not: explore under asyncio or uvloop");
    }
    scheduler.attr("_ALLOW_DETERMINISTIC_SCHEDULING") = py::bool_(seed.has_value());
    if (seed) {
        scheduler.attr("_r").attr("seed")(*seed);
    } else {
        scheduler.attr("_r").attr("seed")(); // from the system's entropy, as trio seeds it
    }
}

std::optional<std::vector<std::size_t>> order_ready(const std::vector<std::string> &names) {
    return lockstep_runtime::instance().order_ready(names);
}

bool submit_to_schedule(PyObject *call) {
    return lockstep_runtime::instance().submit_python(py::reinterpret_borrow<py::object>(call));
}

void end_exemption(PyObject *timer_handle) noexcept {
    lockstep_runtime::instance().end_exemption(timer_handle);
}

} // namespace pyasync::detail
