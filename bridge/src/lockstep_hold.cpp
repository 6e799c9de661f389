// Holds of the lockstep engine: the runtime's work made to wait until a timer due soon has fired,
// as a loaded machine does, so that a short timeout, or a pause the code assumes long enough, can
// fire before work that is usually done long before it (see lockstep_runtime.hpp).
#include "lockstep_runtime.hpp"

#include <algorithm>
#include <cmath>

namespace pyasync::detail {
namespace {

/// A hold waits for timers due within this: a delay a loaded machine really gives a quick job.
/// Longer ones (a test's own limits, a retry after seconds) are left alone.
constexpr double hold_horizon_seconds = 0.1;

std::string in_milliseconds(double seconds) {
    return std::to_string(static_cast<long long>(std::llround(seconds * 1000))) + " ms";
}

} // namespace

bool lockstep_runtime::has_jobs() const {
    std::lock_guard lock(mutex_);
    return !jobs_.empty();
}

void lockstep_runtime::exempt(PyObject *timer_handle) {
    exempt_.push_back(py::reinterpret_borrow<py::object>(timer_handle));
}

void lockstep_runtime::end_exemption(PyObject *timer_handle) noexcept {
    const auto found = std::find_if(exempt_.begin(), exempt_.end(),
                                    [timer_handle](const py::object &each) { return each.ptr() == timer_handle; });
    if (found != exempt_.end()) {
        exempt_.erase(found);
    }
}

std::optional<std::pair<double, std::string>> lockstep_runtime::near_deadline(double now) {
    std::optional<std::pair<double, std::string>> nearest;
    const auto consider = [&nearest, now](double deadline, const auto &describe) {
        if (deadline > now && deadline <= now + hold_horizon_seconds && (!nearest || deadline < nearest->first)) {
            nearest.emplace(deadline, describe());
        }
    };
    {
        std::lock_guard lock(mutex_);
        for (const auto &timer : timers_) {
            if (timer->deadline && !timer->cancelled) {
                consider(*timer->deadline, [&timer] {
                    return "runtime timer " + std::to_string(timer->id) + timer->origin + " (of " +
                           in_milliseconds(std::chrono::duration<double>(timer->delay).count()) + ")";
                });
            }
        }
    }
    // asyncio's loops keep their timers in a heap, `_scheduled`; a loop without one shows none.
    PyObject *scheduled = PyObject_GetAttrString(loop_, "_scheduled");
    if (scheduled == nullptr || !PyList_Check(scheduled)) {
        PyErr_Clear();
        Py_XDECREF(scheduled);
        return nearest;
    }
    const py::list timers = py::reinterpret_steal<py::list>(scheduled);
    for (const py::handle handle : timers) {
        const bool own = handle.is(armed_) ||
                         std::any_of(exempt_.begin(), exempt_.end(), [&handle](const auto &e) { return e.is(handle); });
        if (own || !py::hasattr(handle, "_when") || py::getattr(handle, "_cancelled", py::bool_(false)).cast<bool>()) {
            continue;
        }
        // Named by its callback, not its deadline: a replay's trace must read the same.
        consider(handle.attr("_when").cast<double>(), [&handle] {
            const py::object callback = py::getattr(handle, "_callback", py::none());
            const py::object name = py::getattr(callback, "__qualname__", py::none());
            std::string text = name.is_none() ? std::string() : py::str(name).cast<std::string>();
            if (text.empty() || text.back() == '.') { // a pybind11 function: "PyCapsule."
                return std::string("a loop timer");
            }
            return "a loop timer calling " + text;
        });
    }
    return nearest;
}

} // namespace pyasync::detail
