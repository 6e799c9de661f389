// The driver under trio: a cancel scope reaches a parked frame through the abort function of the
// trap the driver yielded (trio never throws into a blocked task), and trio resumes the task
// with the outcome it was rescheduled with. See trio_host.hpp.
#include <pyasync/detail/coroutine_object.hpp>
#include <pyasync/detail/python_awaiter.hpp>

#include "trio_host.hpp"

namespace pyasync::detail {

PyObject *driver::abort_for_trio(PyObject *raise_cancel) noexcept {
    if (state_ != coroutine_state::suspended || parked_ == nullptr || trio_ == nullptr) {
        return Py_NewRef(abort_succeeded()); // not parked by us: trio delivers the cancellation itself
    }
    // What the frame gets is what raise_cancel raises: trio.Cancelled, or KeyboardInterrupt.
    PyObject *returned = PyObject_CallNoArgs(raise_cancel);
    if (returned != nullptr) {
        Py_DECREF(returned);
        PyErr_SetString(PyExc_RuntimeError, "pyasync: trio's raise_cancel returned instead of raising");
    }
    PyObject *exception = fetch_exception();
    if (exception == nullptr) {
        return nullptr;
    }
    if (parked_away()) {
        // The frame runs on a runtime: the exception is delivered when it comes home, and its
        // arrival reschedules the task. Recorded before the stop, whose callback may deliver it away.
        record_away_error(exception);
        if (is_cancellation(exception)) {
            request_stop();
        }
        Py_DECREF(exception);
        return Py_NewRef(abort_failed());
    }
    if (is_cancellation(exception)) {
        request_stop();
    }
    parked_operation *operation = parked_;
    if (operation->cancel != nullptr) {
        operation->cancel(operation);
    }
    Py_XSETREF(operation->error, exception);
    // Work that must report before its frame resumes (Asio I/O) reschedules the task when it does.
    if (operation->still_running == nullptr || !operation->still_running(operation)) {
        reschedule_trio_task(*trio_);
    }
    return Py_NewRef(abort_failed());
}

bool driver::trio_send_is_ours(PyObject *value) {
    if (!trio_->rescheduled) {
        return false; // only trio, resuming the task we rescheduled, may resume a parked frame
    }
    trio_->rescheduled = false;
    // trio sends the outcome the task was rescheduled with: ours is always a Value, read without
    // a call; a foreign one (an Error) is delivered to the frame rather than lost.
    if (is_trio_value(value)) {
        return true;
    }
    PyObject *unwrapped = PyObject_CallMethod(value, "unwrap", nullptr);
    if (unwrapped == nullptr) {
        Py_XSETREF(parked_->error, fetch_exception());
    }
    Py_XDECREF(unwrapped);
    return true;
}

} // namespace pyasync::detail
