#include <pyasync/fixture.hpp>  // PYASYNC_FIXTURE, pyasync::fixture, export_fixtures
#include <pyasync/pyasync.hpp>

namespace py = pybind11;

// C++ fixtures: set-up, co_yield the value, tear-down (also after a failing test).
PYASYNC_FIXTURE(jobs, pyasync::scope::function, "tmp_path")(py::object tmp_path) -> pyasync::fixture<py::object> {
    py::object queue = py::module_::import("asyncio").attr("Queue")();  // made on the test's loop
    py::object job = tmp_path.attr("joinpath")("job-1");
    job.attr("write_text")("payload");
    co_await queue.attr("put")(job);          // awaits Python on the test's loop
    co_await pyasync::sleep(0.001);           // and a runtime timer
    co_yield queue;
    job.attr("unlink")(py::arg("missing_ok") = true);
};
PYASYNC_MODULE(job_fixtures, m) { pyasync::export_fixtures(m); }
