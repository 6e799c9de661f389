// trio as the host of a C++ coroutine: the trio objects pyasync uses (looked up once trio runs),
// the trap a parked driver yields, the abort function trio calls when a cancel scope fires, and
// the completion queue of one trio run. Only public trio API is used: the trap is taken from
// what `trio.lowlevel.wait_task_rescheduled` yields, not built from trio's private class.
#include "trio_host.hpp"

#include <pyasync/detail/driver.hpp>
#include <pyasync/detail/python_compat.hpp>

#include <utility>
#include <vector>

namespace pyasync::detail {
namespace {

/// The trio objects, looked up the first time a driver parks under trio (trio is imported then).
struct trio_objects {
    PyObject *current_task;          ///< trio.lowlevel.current_task
    PyObject *reschedule;            ///< trio.lowlevel.reschedule
    PyObject *wait_task_rescheduled; ///< trio.lowlevel.wait_task_rescheduled
    PyObject *current_trio_token;    ///< trio.lowlevel.current_trio_token
    PyObject *abort_failed;          ///< trio.lowlevel.Abort.FAILED
    PyObject *abort_succeeded;       ///< trio.lowlevel.Abort.SUCCEEDED
    PyObject *sleep;                 ///< trio.sleep
    PyObject *queue_var;             ///< a trio.lowlevel.RunVar holding the run's completion queue
};

/// trio.Cancelled, found once trio is imported (GIL held; kept for the life of the process).
PyObject *cancelled_type = nullptr;

PyObject *keep(py::object value) {
    return value.release().ptr();
}

trio_objects make_trio_objects() {
    py::module_ trio = py::module_::import("trio");
    py::module_ lowlevel = py::module_::import("trio.lowlevel");
    trio_objects objects{};
    objects.current_task = keep(lowlevel.attr("current_task"));
    objects.reschedule = keep(lowlevel.attr("reschedule"));
    objects.wait_task_rescheduled = keep(lowlevel.attr("wait_task_rescheduled"));
    objects.current_trio_token = keep(lowlevel.attr("current_trio_token"));
    objects.abort_failed = keep(lowlevel.attr("Abort").attr("FAILED"));
    objects.abort_succeeded = keep(lowlevel.attr("Abort").attr("SUCCEEDED"));
    objects.sleep = keep(trio.attr("sleep"));
    objects.queue_var = keep(lowlevel.attr("RunVar")("pyasync completion queue"));
    return objects;
}

/// Throws py::error_already_set when trio cannot be imported. Kept for the life of the process.
const trio_objects &trio() {
    static const trio_objects objects = make_trio_objects();
    return objects;
}

/// The two pieces of the bridge that must be Python, because only `async with` opens a nursery
/// and only a task can wait for the end of a run. gather: each awaitable runs as a task of a
/// nursery; if one fails the nursery cancels the others and raises (several errors: an
/// exception group). close_at_run_end: a system task, cancelled when the run's main task ends,
/// which then closes the run's completion queue (late completions of abandoned work are
/// dropped and counted, as when an asyncio loop closes).
constexpr const char *trio_helpers_source = R"(
async def gather(awaitables):
    results = [None] * len(awaitables)

    async def run_one(index, awaitable):
        results[index] = await awaitable

    async with trio.open_nursery() as nursery:
        for index, awaitable in enumerate(awaitables):
            nursery.start_soon(run_one, index, awaitable, name=awaitable)
    return results


async def close_at_run_end(close):
    try:
        await trio.sleep_forever()
    finally:
        close()
)";

/// A function of the helpers above (borrowed), compiled on first use and kept for the process.
PyObject *trio_helper(const char *name) {
    static PyObject *helpers = [] {
        py::dict scope;
        scope["trio"] = py::module_::import("trio");
        scope["__name__"] = "pyasync._trio_helpers";
        py::object done = py::reinterpret_steal<py::object>(
            PyRun_String(trio_helpers_source, Py_file_input, scope.ptr(), scope.ptr()));
        if (!done) {
            throw py::error_already_set();
        }
        return scope.release().ptr();
    }();
    return PyDict_GetItemString(helpers, name);
}

/// Ends the run's completion queue when trio drops the run's RunVars (the run is over).
void close_run_queue(PyObject *capsule) {
    auto *queue = static_cast<std::shared_ptr<completion_queue> *>(PyCapsule_GetPointer(capsule, nullptr));
    if (queue != nullptr) {
        (*queue)->close_for_loop();
        delete queue;
    }
}

/// The completion queue of the running trio run, made on first use and kept in a RunVar.
std::shared_ptr<completion_queue> run_queue() {
    const trio_objects &objects = trio();
    py::object var = py::reinterpret_borrow<py::object>(objects.queue_var);
    py::object held = var.attr("get")(py::none());
    if (held.is_none()) {
        py::object token = py::reinterpret_steal<py::object>(PyObject_CallNoArgs(objects.current_trio_token));
        if (!token) {
            throw py::error_already_set();
        }
        auto *queue = new std::shared_ptr<completion_queue>(completion_queue::for_trio(token.ptr()));
        PyObject *capsule = PyCapsule_New(queue, nullptr, &close_run_queue);
        if (capsule == nullptr) {
            delete queue;
            throw py::error_already_set();
        }
        held = py::reinterpret_steal<py::object>(capsule);
        var.attr("set")(held);
        // Closed when the run ends; the capsule closes it too if the run never got that far.
        std::weak_ptr<completion_queue> weak = *queue;
        py::cpp_function close([weak] {
            if (auto alive = weak.lock()) {
                alive->close_for_loop();
            }
        });
        py::module_::import("trio.lowlevel")
            .attr("spawn_system_task")(py::reinterpret_borrow<py::object>(trio_helper("close_at_run_end")), close,
                                       py::arg("name") = "pyasync: close the completion queue at the end of the run");
    }
    return *static_cast<std::shared_ptr<completion_queue> *>(PyCapsule_GetPointer(held.ptr(), nullptr));
}

/// The message `wait_task_rescheduled(abort)` yields to block its task: run the coroutine to its
/// one yield, keep what it yielded, close it. The same message serves every park of a driver.
py::object blocking_trap(py::handle abort) {
    py::object waiter =
        py::reinterpret_steal<py::object>(PyObject_CallOneArg(trio().wait_task_rescheduled, abort.ptr()));
    if (!waiter) {
        throw py::error_already_set();
    }
    PyObject *yielded = nullptr;
    if (PyIter_Send(waiter.ptr(), Py_None, &yielded) != PYGEN_NEXT) {
        Py_XDECREF(yielded);
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_RuntimeError,
                            "pyasync: trio.lowlevel.wait_task_rescheduled did not block; this trio version is not "
                            "supported");
        }
        throw py::error_already_set();
    }
    py::object trap = py::reinterpret_steal<py::object>(yielded);
    waiter.attr("close")();
    return trap;
}

} // namespace

trio_parking::~trio_parking() {
    if (abort_target) {
        *abort_target = nullptr;
    }
    Py_XDECREF(task);
    Py_XDECREF(trap);
}

int running_under_trio() {
    PyObject *sniffio = PyImport_GetModule(py::str("sniffio").ptr());
    if (sniffio == nullptr) {
        return PyErr_Occurred() != nullptr ? -1 : 0; // never imported: neither trio nor anyio runs
    }
    PyObject *library = PyObject_CallMethod(sniffio, "current_async_library", nullptr);
    Py_DECREF(sniffio);
    if (library == nullptr) {
        PyErr_Clear(); // AsyncLibraryNotFoundError: no async library runs here
        return 0;
    }
    const int is_trio = PyUnicode_Check(library) != 0 && PyUnicode_CompareWithASCIIString(library, "trio") == 0;
    Py_DECREF(library);
    return is_trio;
}

trio_parking *make_trio_parking(driver &owner) {
    try {
        const trio_objects &objects = trio();
        auto parking = std::make_unique<trio_parking>();
        parking->abort_target = std::make_shared<driver *>(&owner);
        py::cpp_function abort([target = parking->abort_target](py::handle raise_cancel) -> py::object {
            if (driver *parked = *target) {
                return py::reinterpret_steal<py::object>(parked->abort_for_trio(raise_cancel.ptr()));
            }
            // The driver is gone: nothing of ours waits, trio may deliver the cancellation.
            return py::reinterpret_borrow<py::object>(abort_succeeded());
        });
        parking->trap = blocking_trap(abort).release().ptr();
        parking->task = PyObject_CallNoArgs(objects.current_task);
        if (parking->task == nullptr) {
            throw py::error_already_set();
        }
        parking->queue = run_queue();
        return parking.release();
    } catch (py::error_already_set &error) {
        error.restore();
    } catch (const std::exception &error) {
        PyErr_SetString(PyExc_RuntimeError, error.what());
    }
    return nullptr;
}

void reschedule_trio_task(trio_parking &parking) noexcept {
    if (std::exchange(parking.rescheduled, true)) {
        return;
    }
    PyObject *done = PyObject_CallOneArg(trio().reschedule, parking.task);
    if (done == nullptr) {
        parking.rescheduled = false;
        PyErr_WriteUnraisable(parking.task);
    }
    Py_XDECREF(done);
}

PyObject *abort_failed() noexcept {
    return trio().abort_failed;
}

PyObject *abort_succeeded() noexcept {
    return trio().abort_succeeded;
}

PyObject *trio_cancelled_type() noexcept {
    if (cancelled_type == nullptr) {
        // Looked up, never imported: a trio exception cannot exist before trio is imported.
        static PyObject *name = PyUnicode_InternFromString("trio");
        PyObject *trio = name != nullptr ? PyImport_GetModule(name) : nullptr;
        if (trio != nullptr) {
            cancelled_type = PyObject_GetAttrString(trio, "Cancelled");
            Py_DECREF(trio);
        }
        PyErr_Clear();
    }
    return cancelled_type;
}

PyObject *new_trio_sleep(double seconds) noexcept {
    try {
        PyObject *delay = PyFloat_FromDouble(seconds);
        if (delay == nullptr) {
            return nullptr;
        }
        PyObject *sleeper = PyObject_CallOneArg(trio().sleep, delay);
        Py_DECREF(delay);
        return sleeper;
    } catch (py::error_already_set &error) {
        error.restore();
        return nullptr;
    }
}

PyObject *new_trio_gather(const std::vector<py::object> &awaitables) noexcept {
    try {
        py::list items(awaitables.size());
        for (std::size_t index = 0; index < awaitables.size(); ++index) {
            items[index] = awaitables[index];
        }
        return PyObject_CallOneArg(trio_helper("gather"), items.ptr());
    } catch (py::error_already_set &error) {
        error.restore();
        return nullptr;
    }
}

int traverse_trio_parking(const trio_parking &parking, visitproc visit, void *arg) {
    Py_VISIT(parking.task);
    Py_VISIT(parking.trap);
    return 0;
}

} // namespace pyasync::detail
