#include <pyasync/detail/delay.hpp>
#include <pyasync/detail/module_state.hpp>
#include <pyasync/loop_sleep.hpp>

#include "trio_host.hpp"

namespace pyasync {
namespace detail {

bool sleep_awaiter::start(driver &d, std::coroutine_handle<> awaiting) {
    const double seconds = checked_delay_seconds(seconds_, "pyasync::loop_sleep");
    const int under_trio = d.runs_under_trio();
    if (under_trio < 0) {
        throw python_error();
    }
    if (under_trio > 0) {
        // trio.sleep refuses a negative delay; asyncio's rule (it yields once) is kept.
        return start_trio_wait(trio_sleep_, d, new_trio_sleep(seconds > 0 ? seconds : 0.0), awaiting);
    }
    PyObject *future = d.suspension_future();
    if (future == nullptr) {
        throw python_error();
    }
    if (seconds > 0) {
        PyObject *delay = PyFloat_FromDouble(seconds);
        if (delay == nullptr) {
            throw python_error();
        }
        PyObject *args[] = {d.loop(), delay, state().set_result_unless_cancelled, future, Py_None};
        timer_ = PyObject_VectorcallMethod(state().str_call_later, args, 5, nullptr);
        Py_DECREF(delay);
        if (timer_ == nullptr) {
            throw python_error();
        }
    } else {
        // What asyncio.sleep(0) does: one turn of the loop, no timer. The future is done before
        // the Task sees it, so the Task's wake-up is scheduled at once (call_soon) and runs on
        // the loop's next turn; a cancellation meanwhile still reaches the frame here.
        PyObject *done = PyObject_CallMethodOneArg(future, state().str_set_result, Py_None);
        if (done == nullptr) {
            throw python_error();
        }
        Py_DECREF(done);
    }
    cancel = &cancel_timer;
    d.park(*this);
    return true;
}

void sleep_awaiter::cancel_timer(parked_operation *self) noexcept {
    auto *sleeper = static_cast<sleep_awaiter *>(self);
    if (sleeper->timer_ != nullptr) {
        PyObject *done = PyObject_CallMethodNoArgs(sleeper->timer_, state().str_cancel);
        if (done == nullptr) {
            PyErr_WriteUnraisable(sleeper->timer_);
        }
        Py_XDECREF(done);
        Py_CLEAR(sleeper->timer_);
    }
}

void sleep_awaiter::await_resume() {
    if (trio_sleep_) {
        trio_sleep_->awaiter.await_resume();
        return;
    }
    Py_CLEAR(timer_);
    if (error != nullptr) {
        throw_python_exception(std::exchange(error, nullptr));
    }
}

sleep_awaiter::~sleep_awaiter() {
    cancel_timer(this);
    Py_XDECREF(error);
}

} // namespace detail
} // namespace pyasync
