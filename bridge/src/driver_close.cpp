// Closing a C++ coroutine (`close()`, and the finalizer of one never finished): what the frame
// waits on is stopped, then the frame is destroyed so its RAII clean-up runs. GIL held.
#include <pyasync/detail/coroutine_object.hpp>
#include <pyasync/detail/module_state.hpp>
#include <pyasync/detail/python_compat.hpp>

#include "trio_host.hpp"

#include <utility>

namespace pyasync::detail {

// close() in steps: a frame that is not suspended just ends; a suspended one first stops what
// it waits on (parked C++ work, or the Python awaitable it delegates to), then its frame is
// destroyed, so its RAII clean-up runs.
int driver::close() {
    switch (state_) {
    case coroutine_state::unstarted:
    case coroutine_state::yielded:
    case coroutine_state::finished: return close_not_suspended();
    case coroutine_state::running: PyErr_SetString(PyExc_ValueError, "coroutine already executing"); return -1;
    case coroutine_state::suspended: break;
    }
    if (away()) {
        PyErr_SetString(PyExc_RuntimeError,
                        "pyasync: cannot close a C++ coroutine while its frame runs on a runtime thread (after "
                        "pyasync::resume_on); cancel the Task awaiting it instead, which is delivered when the "
                        "frame comes back to the loop");
        return -1;
    }
    state_ = coroutine_state::finished;
    stop_parked_work();
    int status = 0;
    if (delegate_ != nullptr) {
        status = delegates_to_trio() ? close_delegate() : cancel_delegate();
    }
    destroy_frame();
    return status;
}

// Under trio there is no loop to finish an asynchronous clean-up on, and asyncio's
// CancelledError means nothing to trio code: the delegate is closed, as Python's own `await`
// chain does on close().
bool driver::delegates_to_trio() noexcept {
    if (trio_ != nullptr) {
        return true;
    }
    if (loop_ != nullptr) {
        return false;
    }
    const int trio = running_under_trio();
    if (trio < 0) {
        PyErr_Clear(); // undecided: the asyncio way, which closes the delegate when no loop runs
    }
    return trio > 0;
}

int driver::close_delegate() {
    PyObject *iterator = std::exchange(delegate_, nullptr);
    delegate_target_ = nullptr;
    if (is_cpp_coroutine(iterator)) { // counted once per link, as a send is
        const int status = close_cpp_coroutine(iterator);
        Py_DECREF(iterator);
        return status;
    }
    PyObject *closed = nullptr;
    if (python::lookup_optional_attr(iterator, state().str_close, &closed) > 0) {
        Py_XSETREF(closed, PyObject_CallNoArgs(closed));
    }
    Py_DECREF(iterator);
    if (closed == nullptr && PyErr_Occurred()) {
        return -1;
    }
    Py_XDECREF(closed);
    return 0;
}

int driver::close_not_suspended() {
    state_ = coroutine_state::finished;
    Py_CLEAR(pending_yield_);
    // A delegate-only driver never started: close its delegate.
    const int status = delegate_ != nullptr ? close_delegate() : 0;
    destroy_frame();
    return status;
}

void driver::stop_parked_work() noexcept {
    if (parked_ == nullptr) {
        return;
    }
    parked_operation *operation = unpark();
    if (operation->cancel != nullptr) {
        operation->cancel(operation);
    }
    release_suspension_future();
}

int driver::cancel_delegate() {
    // The awaitable we delegate to gets a CancelledError and may clean up; if its clean-up needs
    // the loop (it yields), it finishes as a Task of its own on our loop.
    PyObject *iterator = std::exchange(delegate_, nullptr);
    delegate_target_ = nullptr;
    PyObject *cancel =
        PyObject_CallOneArg(state().cancelled_error, py::str("the C++ coroutine awaiting this was closed").ptr());
    PyObject *outcome = nullptr;
    const PySendResult sent = cancel != nullptr ? throw_into(iterator, cancel, &outcome) : PYGEN_ERROR;
    Py_XDECREF(cancel);
    int status = 0;
    if (sent == PYGEN_NEXT) {
        status = finish_delegate_on_loop(iterator, outcome);
    } else if (sent == PYGEN_RETURN) {
        Py_DECREF(outcome);
    } else if (PyErr_Occurred() != nullptr) {
        PyObject *error = fetch_exception();
        if (error != nullptr && !is_cancellation(error)) { // a cancellation is the expected outcome
            PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(error)), error);
            status = -1;
        }
        Py_XDECREF(error);
    }
    Py_DECREF(iterator);
    return status;
}

int driver::finish_delegate_on_loop(PyObject *iterator, PyObject *yielded) {
    PyObject *event_loop = loop(); // cached, or the loop running now (close() from a callback)
    if (event_loop == nullptr) {
        PyErr_Clear(); // no loop: the delegate is closed now instead
        Py_DECREF(yielded);
        PyObject *closed = PyObject_CallMethodNoArgs(iterator, state().str_close);
        const int status = closed == nullptr ? -1 : 0;
        Py_XDECREF(closed);
        return status;
    }
    PyObject *rest = new_delegate_coroutine(Py_NewRef(iterator), yielded);
    if (rest == nullptr) {
        return -1;
    }
    PyObject *spawned = PyObject_CallMethodOneArg(event_loop, state().str_create_task, rest);
    Py_DECREF(rest);
    const int status = spawned == nullptr ? -1 : 0;
    Py_XDECREF(spawned);
    return status;
}

} // namespace pyasync::detail
