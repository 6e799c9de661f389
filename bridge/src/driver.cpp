// The driver: runs a C++ frame inside `send`, delegates to Python awaitables as `yield from`
// does, and parks on C++ work behind one asyncio.Future. GIL held throughout.
#include <pyasync/detail/coroutine_object.hpp>
#include <pyasync/detail/module_state.hpp>
#include <pyasync/detail/python_compat.hpp>

#include "trio_host.hpp"

#include <utility>

namespace pyasync {
namespace detail {
bool driver::find_host() {
    if (loop_ != nullptr || trio_ != nullptr) {
        return true;
    }
    // The variant that returns None: under trio, an exception made and cleared at every first
    // park would cost more than the rest of the detection.
    PyObject *running = PyObject_CallNoArgs(state().running_loop_or_none);
    if (running == nullptr) {
        return false;
    }
    if (running != Py_None) {
        loop_ = running;
        return true;
    }
    Py_DECREF(running);
    const int trio = running_under_trio();
    if (trio > 0) {
        trio_ = make_trio_parking(*this);
        return trio_ != nullptr;
    }
    if (trio == 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "pyasync: this C++ coroutine needs the running event loop, but no loop is running in this "
                        "thread; await it from asyncio (asyncio.run(), a Task, or another coroutine) or from trio "
                        "(trio.run(), anyio.run(..., backend=\"trio\"))");
    }
    return false;
}

PyObject *driver::loop() {
    if (loop_ == nullptr) {
        if (!find_host()) {
            return nullptr;
        }
        if (trio_ != nullptr) {
            PyErr_SetString(PyExc_RuntimeError,
                            "pyasync: this operation needs an asyncio event loop (it makes asyncio Tasks or "
                            "Futures), but this C++ coroutine runs under trio, which has none; under trio, await "
                            "C++ coroutines directly, run concurrent work in a trio nursery (pyasync::gather opens "
                            "one), and wait with pyasync::sleep or pyasync::loop_sleep (trio's clock)");
            return nullptr;
        }
    }
    return loop_;
}

int driver::runs_under_trio() {
    if (!find_host()) {
        return -1;
    }
    return trio_ != nullptr ? 1 : 0;
}

std::shared_ptr<completion_queue> driver::host_queue() {
    if (!find_host()) {
        throw python_error();
    }
    if (trio_ != nullptr) {
        return trio_->queue;
    }
    try {
        return completion_queue::of(loop_);
    } catch (py::error_already_set &error) {
        error.restore();
        throw python_error();
    }
}

PyObject *driver::suspension_future() {
    if (suspension_future_ == nullptr) {
        if (!find_host()) {
            return nullptr;
        }
        // Under trio, what the driver yields to block its task is trio's trap, the same each time.
        suspension_future_ =
            trio_ != nullptr ? Py_NewRef(trio_->trap) : PyObject_CallMethodNoArgs(loop_, state().str_create_future);
    }
    return suspension_future_;
}

PyObject *driver::blocking_suspension() {
    PyObject *future = suspension_future();
    if (future == nullptr) {
        return nullptr;
    }
    // A Task accepts a yielded Future only when it says it blocks (the `await future` protocol).
    if (trio_ == nullptr && PyObject_SetAttr(future, state().str_future_blocking, Py_True) != 0) {
        return nullptr;
    }
    return future;
}

std::stop_token driver::stop_token() {
    if (!stop_.stop_possible()) {
        stop_ = std::stop_source(); // the shared stop state, allocated on first use
        if (stop_requested_) {
            stop_.request_stop();
        }
    }
    return stop_.get_token();
}

void driver::request_stop() noexcept {
    stop_requested_ = true;
    stop_.request_stop(); // no-op without a stop state
}

void driver::release_suspension_future() noexcept {
    Py_CLEAR(suspension_future_);
}

parked_operation *driver::unpark() noexcept {
    parked_operation *operation = std::exchange(parked_, nullptr);
    if (away_ == nullptr || operation != &away_->park) { // away, the root is released when the frame arrives home
        release_owner();
    }
    return operation;
}

PyObject *driver::awaiting() const noexcept {
    if (delegate_ != nullptr) {
        return delegate_;
    }
    return parked_ != nullptr ? suspension_future_ : nullptr;
}

PySendResult driver::send_later(PyObject *value, PyObject **result) {
    switch (state_) {
    case coroutine_state::unstarted:
        if (value != Py_None) {
            PyErr_SetString(PyExc_TypeError, "can't send non-None value to a just-started coroutine");
            return PYGEN_ERROR;
        }
        if (!top_) { // a delegate-only driver first re-yields what its delegate is waiting on
            state_ = coroutine_state::suspended;
            *result = std::exchange(pending_yield_, nullptr);
            return PYGEN_NEXT;
        }
        return resume(top_, result);
    case coroutine_state::suspended:
        if (delegate_ != nullptr) {
            return forward_to_delegate(value, nullptr, result);
        }
        if (parked_away() && !away_->arrived) {
            // The frame is still away: the Task's first send after start_away, or a stray one.
            return yield_suspension_future(result);
        }
        if (parked_ != nullptr) {
            // Only the Task waiting on our future may resume a parked frame, once it is done.
            int ready = 0;
            if (trio_ != nullptr) {
                ready = trio_send_is_ours(value) ? 1 : 0;
            } else if (suspension_future_ != nullptr) {
                PyObject *done = PyObject_CallMethodNoArgs(suspension_future_, state().str_done);
                ready = done == nullptr ? -1 : done == Py_True ? 1 : 0;
                Py_XDECREF(done);
            }
            if (ready < 0) {
                return PYGEN_ERROR;
            }
            if (ready == 0) {
                PyErr_SetString(PyExc_RuntimeError,
                                "pyasync: send() on a C++ coroutine that waits for C++ work; only the Task "
                                "awaiting it may resume it, once the work completes");
                return PYGEN_ERROR;
            }
            parked_operation *operation = unpark();
            release_suspension_future();
            if (away_ != nullptr && operation == &away_->park) {
                return arrive(result);
            }
            return resume(operation->waiter, result);
        }
        break;
    case coroutine_state::yielded: // the next item of an async generator
        if (value != Py_None) {
            PyErr_SetString(PyExc_TypeError, "pyasync: asend() of a value is not supported by C++ async generators");
            return PYGEN_ERROR;
        }
        return resume(top_, result);
    case coroutine_state::running: PyErr_SetString(PyExc_ValueError, "coroutine already executing"); return PYGEN_ERROR;
    case coroutine_state::finished:
        if (generator_) {
            PyErr_SetNone(PyExc_StopAsyncIteration);
        } else {
            PyErr_SetString(PyExc_RuntimeError, "cannot reuse already awaited coroutine");
        }
        return PYGEN_ERROR;
    }
    PyErr_SetString(PyExc_SystemError, "pyasync: coroutine suspended with nothing to resume");
    return PYGEN_ERROR;
}

PySendResult driver::throw_in(PyObject *exception, PyObject **result) {
    const bool frame_away = parked_away();
    if (frame_away) {
        record_away_error(exception); // before the stop: a stop callback may deliver it away
    }
    if (is_cancellation(exception)) {
        request_stop();
    }
    if (frame_away) {
        if (!away_->arrived) { // still running away: it gets the exception when it comes home
            release_suspension_future();
            return yield_suspension_future(result);
        }
        parked_ = nullptr;
        release_suspension_future();
        return arrive(result);
    }
    switch (state_) {
    case coroutine_state::unstarted:
    case coroutine_state::yielded: // a generator between items: it ends, running its clean-up
    case coroutine_state::finished:
        // As for a Python coroutine: nothing ran (or nothing is left), the exception is raised.
        state_ = coroutine_state::finished;
        destroy_frame();
        PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(exception)), exception);
        return PYGEN_ERROR;
    case coroutine_state::running: PyErr_SetString(PyExc_ValueError, "coroutine already executing"); return PYGEN_ERROR;
    case coroutine_state::suspended:
        if (delegate_ != nullptr) {
            return forward_to_delegate(nullptr, exception, result);
        }
        if (parked_ != nullptr) {
            parked_operation *operation = parked_;
            if (operation->cancel != nullptr) {
                operation->cancel(operation);
            }
            Py_XSETREF(operation->error, Py_NewRef(exception));
            release_suspension_future();
            if (operation->still_running != nullptr && operation->still_running(operation)) {
                // Asked to stop; the frame gets the exception once the work has reported.
                return yield_suspension_future(result);
            }
            unpark();
            return resume(operation->waiter, result);
        }
        break;
    }
    PyErr_SetString(PyExc_SystemError, "pyasync: coroutine suspended with nothing to resume");
    return PYGEN_ERROR;
}

PySendResult driver::resume(std::coroutine_handle<> handle, PyObject **result) {
    state_ = coroutine_state::running;
    handle.resume(); // exceptions end up in the promises (unhandled_exception)
    // The common outcome, ahead of settle's cases: a frame that never left the loop (so reading
    // it is safe) and ran to its end. An async generator's frame is not done at a co_yield.
    if (away_ == nullptr && top_.done()) {
        return finish(result);
    }
    return settle(result);
}

PySendResult driver::settle(PyObject **result) {
    for (;;) {
        if (parked_away()) { // the frame runs on another thread: touch nothing of it
            return yield_suspension_future(result);
        }
        if (top_promise_ != nullptr && top_promise_->take_yielded()) { // an async generator's item
            state_ = coroutine_state::yielded;
            if (PyObject *pending = take_away_error()) {
                // Thrown in while the frame was away and never delivered there: this __anext__
                // raises it instead of returning the item (else the cancellation of the Task
                // awaiting it would be lost); the frame stays at its co_yield.
                PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(pending)), pending);
                Py_DECREF(pending);
                return PYGEN_ERROR;
            }
            PyObject *item = convert_(*top_promise_);
            if (item == nullptr) {
                return PYGEN_ERROR;
            }
            *result = item;
            return PYGEN_RETURN;
        }
        if (top_.done()) {
            return finish(result);
        }
        if (pending_yield_ != nullptr) {
            state_ = coroutine_state::suspended;
            *result = std::exchange(pending_yield_, nullptr);
            return PYGEN_NEXT;
        }
        if (parked_ != nullptr) {
            PyObject *future = blocking_suspension();
            if (future != nullptr) {
                state_ = coroutine_state::suspended;
                *result = Py_NewRef(future);
                return PYGEN_NEXT;
            }
            // No loop or no future: the parked operation fails at its suspension point.
            parked_operation *operation = unpark();
            if (operation->cancel != nullptr) {
                operation->cancel(operation);
            }
            Py_XSETREF(operation->error, fetch_exception());
            release_suspension_future();
            operation->waiter.resume();
            continue;
        }
        // The frame suspended on an awaitable pyasync does not drive: it cannot be resumed from
        // here. The frame is left alone (not destroyed) because that awaitable may still resume it.
        state_ = coroutine_state::finished;
        top_ = nullptr;
        PyErr_SetString(PyExc_RuntimeError,
                        "pyasync: the C++ coroutine suspended on an awaitable pyasync cannot drive; inside a "
                        "pyasync::task, co_await only tasks, Python awaitables and pyasync awaitables");
        return PYGEN_ERROR;
    }
}

PySendResult driver::forward_to_delegate(PyObject *value, PyObject *exception, PyObject **result) {
    state_ = coroutine_state::running;
    PyObject *outcome = nullptr;
    const PySendResult status = exception == nullptr ? send_to_delegate(delegate_, value, &outcome)
                                                     : throw_into(delegate_, exception, &outcome);
    if (status == PYGEN_NEXT) {
        state_ = coroutine_state::suspended;
        *result = outcome;
        return PYGEN_NEXT;
    }
    Py_CLEAR(delegate_);
    delegation_target *target = std::exchange(delegate_target_, nullptr);
    if (target == nullptr) { // delegate-only driver: the delegate's outcome is ours
        state_ = coroutine_state::finished;
        *result = outcome;
        return status;
    }
    if (status == PYGEN_RETURN) {
        target->value = outcome;
    } else {
        target->error = fetch_exception();
    }
    if (target->settle_on_loop != nullptr) {
        return send_back_away(*target, result);
    }
    return resume(target->waiter, result);
}

namespace {

/// PEP 479, as CPython's coroutines do it: a StopIteration leaving the frame (thrown in with
/// throw(), or raised by C++ code) would read as the coroutine's return value to whoever drives
/// it, so it becomes a RuntimeError whose cause is the StopIteration.
void replace_escaped_stop_iteration() {
    if (!PyErr_ExceptionMatches(PyExc_StopIteration)) {
        return;
    }
    PyObject *type = nullptr, *value = nullptr, *traceback = nullptr;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback != nullptr) {
        PyException_SetTraceback(value, traceback);
    }
    PyObject *replacement = PyObject_CallFunction(PyExc_RuntimeError, "s", "coroutine raised StopIteration");
    if (replacement != nullptr) {
        PyException_SetCause(replacement, Py_NewRef(value));   // steals
        PyException_SetContext(replacement, Py_NewRef(value)); // steals
        PyErr_SetObject(PyExc_RuntimeError, replacement);
        Py_DECREF(replacement);
    }
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback);
}

} // namespace

PySendResult driver::finish(PyObject **result) {
    state_ = coroutine_state::finished;
    // A cancellation recorded while away that the frame never saw: it finished first, and its
    // outcome stands (as when a Python coroutine catches CancelledError and returns).
    if (away_ != nullptr) {
        Py_CLEAR(away_->error);
    }
    PyObject *value = nullptr;
    if (top_promise_->exception()) {
        raise_in_python(top_promise_->exception(), top_promise_->origin(), nullptr);
        replace_escaped_stop_iteration();
    } else {
        value = convert_(*top_promise_);
    }
    destroy_frame();
    if (value == nullptr) {
        return PYGEN_ERROR;
    }
    *result = value;
    return PYGEN_RETURN;
}

void driver::become_delegate_only(PyObject *iterator, PyObject *yielded) noexcept {
    delegate_ = iterator;
    pending_yield_ = yielded;
    delegate_target_ = nullptr;
}

void driver::destroy_frame() noexcept {
    if (top_) {
        top_promise_ = nullptr;
        std::exchange(top_, nullptr).destroy();
    }
}

int driver::traverse(visitproc visit, void *arg) const {
    Py_VISIT(delegate_);
    Py_VISIT(pending_yield_);
    Py_VISIT(suspension_future_);
    Py_VISIT(loop_);
    if (away_ != nullptr) {
        Py_VISIT(away_->error);
    }
    if (trio_ != nullptr) {
        if (const int status = traverse_trio_parking(*trio_, visit, arg)) {
            return status;
        }
    }
    // owner_ is not visited while held: a frame away is a root, whatever the cycles around it.
    return 0;
}

void driver::clear_python_references() noexcept {
    if (away_ != nullptr) {
        Py_CLEAR(away_->error);
    }
    Py_CLEAR(delegate_);
    Py_CLEAR(pending_yield_);
    Py_CLEAR(suspension_future_);
    Py_CLEAR(loop_);
    delete std::exchange(trio_, nullptr); // holds the trio Task, which holds us
}

void driver::release_all() noexcept {
    destroy_frame();
    clear_python_references();
    delete std::exchange(away_, nullptr);
}

} // namespace detail
} // namespace pyasync
