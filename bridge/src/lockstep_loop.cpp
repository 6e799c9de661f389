// What the lockstep engine explores through the run's loop (pyasync/_lockstep_loop.py): calls of
// the loop's default executor as jobs, so the order in which executor calls complete is the
// schedule's to choose; and the order in which the loop handles file descriptors one poll found
// ready together (see lockstep_runtime.hpp).
#include "lockstep_runtime.hpp"

namespace pyasync::detail {
namespace {

/// A Python callable held by a job that runs without the GIL: taken and released with it, and
/// never released by a job destroyed after the interpreter has gone.
class python_call {
public:
    explicit python_call(const py::object &call) : call_(call.inc_ref().ptr()) {}
    python_call(const python_call &) = delete;
    python_call &operator=(const python_call &) = delete;
    ~python_call() {
        if (call_ != nullptr && Py_IsInitialized() != 0) {
            const PyGILState_STATE gil = PyGILState_Ensure();
            Py_DECREF(call_);
            PyGILState_Release(gil);
        }
    }
    /// On the job's thread, without the GIL: calls it once and lets go of it.
    void run() {
        const PyGILState_STATE gil = PyGILState_Ensure();
        PyObject *result = PyObject_CallNoArgs(call_);
        if (result == nullptr) {
            PyErr_WriteUnraisable(call_); // the executor's call keeps its exceptions: never here
        }
        Py_XDECREF(result);
        Py_CLEAR(call_);
        PyGILState_Release(gil);
    }

private:
    PyObject *call_;
};

} // namespace

bool lockstep_runtime::submit_python(const py::object &call) {
    call_origin from = origin_of_call();
    if (!from.explored) {
        return false;
    }
    auto held = std::make_shared<python_call>(call);
    {
        std::lock_guard lock(mutex_);
        if (!active_ || loop_ == nullptr) {
            return false;
        }
        jobs_.push_back(
            {++next_id_, [held] { held->run(); }, "executor call", choices_->new_priority(), std::move(from.name)});
    }
    request_step();
    return true;
}

std::optional<std::vector<std::size_t>> lockstep_runtime::order_ready(const std::vector<std::string> &names) {
    if (!origin_of_call().explored) {
        return std::nullopt;
    }
    std::lock_guard lock(mutex_);
    if (!active_ || loop_ == nullptr) {
        return std::nullopt;
    }
    std::vector<std::size_t> left(names.size());
    for (std::size_t i = 0; i < left.size(); ++i) {
        left[i] = i;
    }
    std::vector<std::size_t> order;
    order.reserve(names.size());
    while (!left.empty()) {
        std::vector<schedule_candidate> candidates;
        candidates.reserve(left.size());
        for (const std::size_t index : left) {
            candidates.push_back({names[index], choices_->new_priority()});
        }
        const std::size_t chosen = choices_->choose(candidates);
        order.push_back(left[chosen]);
        left.erase(left.begin() + static_cast<std::ptrdiff_t>(chosen));
    }
    return order;
}

void lockstep_runtime::install_on_loop(PyObject *loop) {
    // Looked up once: a run starts per case and per schedule, and a failed import searches the
    // whole path each time. Leaked on purpose: nothing may be released after finalisation.
    static const py::object *install = [] {
        try {
            return new py::object(py::module_::import("pyasync._lockstep_loop").attr("install"));
        } catch (py::error_already_set &error) {
            if (!error.matches(PyExc_ImportError)) {
                throw;
            }
            return new py::object(); // a process without the pyasync package on its path
        }
    }();
    if (*install) {
        (*install)(py::handle(loop));
    }
}

} // namespace pyasync::detail
