#pragma once
// pyasync._core's ScheduleRun: a schedule run (pyasync/detail/schedule.hpp) for the pytest
// plugin, which explores a test's runs with it. Ended by close() (or leaving its `with`), never by
// the collector: the default runtime must be back at a known point.

#include <pybind11/pybind11.h>

namespace pyasync::python {

/// Adds ScheduleRun and schedule_run_seed to `module`.
void add_schedule_bindings(pybind11::module_ &module);

} // namespace pyasync::python
