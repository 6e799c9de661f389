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
    PyObject *abort_failed;          ///< trio.lowlevel.Abort.FAILED
    PyObject *abort_succeeded;       ///< trio.lowlevel.Abort.SUCCEEDED
    PyObject *sleep;                 ///< trio.sleep
    PyObject *value_type;            ///< outcome.Value
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
    objects.abort_failed = keep(lowlevel.attr("Abort").attr("FAILED"));
    objects.abort_succeeded = keep(lowlevel.attr("Abort").attr("SUCCEEDED"));
    objects.sleep = keep(trio.attr("sleep"));
    objects.value_type = keep(py::module_::import("outcome").attr("Value"));
    objects.queue_var = keep(lowlevel.attr("RunVar")("pyasync completion queue"));
    return objects;
}

/// Throws py::error_already_set when trio cannot be imported. Kept for the life of the process.
const trio_objects &trio() {
    static const trio_objects objects = make_trio_objects();
    return objects;
}

/// The pieces of the bridge that must be Python, because only `async with` opens a nursery or
/// enters a cancel scope, and only a task can wait on a file descriptor. gather: each awaitable
/// runs as a task of a nursery; if one fails the nursery cancels the others and raises (several
/// errors: an exception group). run_in_background: a system task in a cancel scope of its own,
/// setting an Event when it ends (buffered's producer). drain_completions: a system task of the run that drains the completion
/// queue each time its eventfd is readable (runtime threads write it without the GIL), and
/// closes the queue when trio cancels it at the end of the run (late completions of abandoned
/// work are then dropped and counted, as when an asyncio loop closes).
constexpr const char *trio_helpers_source = R"(
async def gather(awaitables):
    results = [None] * len(awaitables)

    async def run_one(index, awaitable):
        results[index] = await awaitable

    async with trio.open_nursery() as nursery:
        for index, awaitable in enumerate(awaitables):
            nursery.start_soon(run_one, index, awaitable, name=awaitable)
    return results


async def run_in_background(scope, ended, coroutine):
    try:
        with scope:
            await coroutine
    finally:
        ended.set()


async def drain_completions(fd, drain, close):
    try:
        while True:
            await trio.lowlevel.wait_readable(fd)
            drain()
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
        auto *queue = new std::shared_ptr<completion_queue>(completion_queue::for_trio());
        PyObject *capsule = PyCapsule_New(queue, nullptr, &close_run_queue);
        if (capsule == nullptr) {
            delete queue;
            throw py::error_already_set();
        }
        held = py::reinterpret_steal<py::object>(capsule);
        var.attr("set")(held);
        // The capsule closes the queue too, should the run end before its drain task started.
        std::weak_ptr<completion_queue> weak = *queue;
        py::cpp_function close([weak] {
            if (auto alive = weak.lock()) {
                alive->close_for_loop();
            }
        });
        py::module_::import("trio.lowlevel")
            .attr("spawn_system_task")(py::reinterpret_borrow<py::object>(trio_helper("drain_completions")),
                                       (*queue)->wake_fd(),
                                       py::reinterpret_borrow<py::object>((*queue)->drain_callable()), close,
                                       py::arg("name") = "pyasync: the runtime's completions for this trio run");
    }
    return *static_cast<std::shared_ptr<completion_queue> *>(PyCapsule_GetPointer(held.ptr(), nullptr));
}

/// The message `wait_task_rescheduled(abort)` yields to block its task: run the coroutine to its
/// one yield, keep what it yielded, close it. The same message serves every park of a driver.
py::object blocking_trap(PyObject *abort) {
    py::object waiter = py::reinterpret_steal<py::object>(PyObject_CallOneArg(trio().wait_task_rescheduled, abort));
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

namespace {

/// sniffio's state, looked up once sniffio is imported: its context variable, and (sniffio 1.3
/// and later) the thread-local it reads first. Kept for the process.
struct sniffio_state {
    PyObject *library_variable = nullptr; ///< sniffio.current_async_library_cvar
    PyObject *per_thread = nullptr;       ///< sniffio.thread_local, or nullptr on older sniffio
};

/// nullptr (no error) while sniffio has not been imported.
const sniffio_state *sniffio() {
    static sniffio_state found;
    if (found.library_variable == nullptr) {
        static PyObject *name = PyUnicode_InternFromString("sniffio");
        PyObject *module = name != nullptr ? PyImport_GetModule(name) : nullptr;
        if (module == nullptr) {
            return nullptr;
        }
        found.library_variable = PyObject_GetAttrString(module, "current_async_library_cvar");
        found.per_thread = PyObject_GetAttrString(module, "thread_local");
        Py_DECREF(module);
        PyErr_Clear(); // an old sniffio has no thread_local
    }
    return found.library_variable != nullptr ? &found : nullptr;
}

bool names_trio(PyObject *library) {
    return library != nullptr && PyUnicode_Check(library) != 0 &&
           PyUnicode_CompareWithASCIIString(library, "trio") == 0;
}

} // namespace

int running_under_trio() {
    // sniffio's answer without its function call and the exception it raises when no library
    // runs: its thread-local first, then its context variable (which trio sets in its tasks).
    const sniffio_state *sniffed = sniffio();
    if (sniffed == nullptr) {
        return PyErr_Occurred() != nullptr ? -1 : 0; // never imported: neither trio nor anyio runs
    }
    if (sniffed->per_thread != nullptr) {
        PyObject *name = nullptr;
        static PyObject *name_attribute = PyUnicode_InternFromString("name");
        if (name_attribute == nullptr || python::lookup_optional_attr(sniffed->per_thread, name_attribute, &name) < 0) {
            return -1;
        }
        const bool set = name != nullptr && name != Py_None;
        const bool trio = names_trio(name);
        Py_XDECREF(name);
        if (set) {
            return trio ? 1 : 0;
        }
    }
    PyObject *library = nullptr;
    if (PyContextVar_Get(sniffed->library_variable, Py_None, &library) < 0) {
        return -1;
    }
    const bool trio = names_trio(library);
    Py_XDECREF(library);
    return trio ? 1 : 0;
}

namespace {

/// The abort function's `self`: which driver it aborts, cleared when the driver goes.
using abort_target = std::shared_ptr<driver *>;

void delete_abort_target(PyObject *capsule) {
    delete static_cast<abort_target *>(PyCapsule_GetPointer(capsule, nullptr));
}

/// trio calls it with `raise_cancel` when a cancel scope fires while the task is blocked on us.
PyObject *abort_parked_driver(PyObject *capsule, PyObject *raise_cancel) {
    auto *target = static_cast<abort_target *>(PyCapsule_GetPointer(capsule, nullptr));
    if (target == nullptr) {
        return nullptr;
    }
    if (driver *parked = **target) {
        return parked->abort_for_trio(raise_cancel);
    }
    return Py_NewRef(abort_succeeded()); // the driver is gone: trio may deliver the cancellation
}

PyMethodDef abort_definition = {"pyasync_abort", abort_parked_driver, METH_O,
                                PyDoc_STR("Aborts the park of a pyasync C++ coroutine (trio's abort_fn).")};

/// The trap for `abort`: the first is taken from wait_task_rescheduled (public API), and its type
/// then makes the others directly (one call instead of a coroutine run and closed).
PyObject *new_trap(PyObject *abort) {
    static PyObject *trap_type = nullptr;
    if (trap_type != nullptr) {
        return PyObject_CallOneArg(trap_type, abort);
    }
    py::object trap = blocking_trap(abort);
    trap_type = Py_NewRef(reinterpret_cast<PyObject *>(Py_TYPE(trap.ptr())));
    return trap.release().ptr();
}

} // namespace

trio_parking *make_trio_parking(driver &owner) {
    try {
        const trio_objects &objects = trio();
        auto parking = std::make_unique<trio_parking>();
        auto *target = new abort_target(std::make_shared<driver *>(&owner));
        parking->abort_target = *target;
        py::object capsule = py::reinterpret_steal<py::object>(PyCapsule_New(target, nullptr, &delete_abort_target));
        if (!capsule) {
            delete target;
            throw py::error_already_set();
        }
        py::object abort = py::reinterpret_steal<py::object>(PyCFunction_New(&abort_definition, capsule.ptr()));
        if (!abort) {
            throw py::error_already_set();
        }
        parking->trap = new_trap(abort.ptr());
        if (parking->trap == nullptr) {
            throw py::error_already_set();
        }
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

void trio_wait_deleter::operator()(trio_wait *wait) const noexcept {
    delete wait;
}

bool start_trio_wait(trio_wait_pointer &slot, driver &owner, PyObject *awaitable, std::coroutine_handle<> waiter) {
    if (awaitable == nullptr) {
        throw python_error();
    }
    slot.reset(new trio_wait(owner, awaitable));
    if (slot->awaiter.await_ready()) {
        return false;
    }
    slot->awaiter.await_suspend(waiter);
    return true;
}

bool is_trio_value(PyObject *sent) noexcept {
    return reinterpret_cast<PyObject *>(Py_TYPE(sent)) == trio().value_type;
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

trio_background_task spawn_trio_background_task(const py::object &coroutine) {
    py::module_ trio_module = py::module_::import("trio");
    trio_background_task started{trio_module.attr("CancelScope")(), trio_module.attr("Event")()};
    py::module_::import("trio.lowlevel")
        .attr("spawn_system_task")(py::reinterpret_borrow<py::object>(trio_helper("run_in_background")), started.scope,
                                   started.ended, coroutine,
                                   py::arg("context") = py::reinterpret_steal<py::object>(PyContext_CopyCurrent()));
    return started;
}

int traverse_trio_parking(const trio_parking &parking, visitproc visit, void *arg) {
    Py_VISIT(parking.task);
    Py_VISIT(parking.trap);
    return 0;
}

} // namespace pyasync::detail
