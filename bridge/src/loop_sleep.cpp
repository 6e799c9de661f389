#include <pyasync/detail/delay.hpp>
#include <pyasync/detail/module_state.hpp>
#include <pyasync/loop_sleep.hpp>

namespace pyasync {
namespace detail {

void sleep_awaiter::start(driver &d) {
    const double seconds = checked_delay_seconds(seconds_, "pyasync::loop_sleep");
    PyObject *future = d.suspension_future();
    if (future == nullptr) {
        throw python_error();
    }
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
    cancel = &cancel_timer;
    d.park(*this);
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
