#pragma once
// Internal: a C++ coroutine's send, inline in its only caller (the coroutine object's send and
// am_send), with its commonest case, the first send (`await f(x)`), and that send's commonest
// outcome: a frame that never left the loop and returned a value. Inline, the call it saves is 8
// of the ~930 instructions of an `await ready(x)`. GIL held.
#include <pyasync/detail/task_promise.hpp>

#include <utility>

namespace pyasync::detail {

inline PySendResult driver::start(PyObject **result) {
    state_ = coroutine_state::running;
    top_.resume(); // exceptions end up in the promises (unhandled_exception)
    // A frame that never left the loop (so reading it is safe) and ran to its end with a value.
    if (away_ == nullptr && top_.done() && !top_promise_->exception()) {
        state_ = coroutine_state::finished;
        PyObject *value = convert_(*top_promise_);
        // destroy_frame(), without its call and its test: the frame is known to be there.
        top_promise_ = nullptr;
        std::exchange(top_, nullptr).destroy();
        *result = value; // nullptr with an error, as the C API wants it
        return value != nullptr ? PYGEN_RETURN : PYGEN_ERROR;
    }
    *result = nullptr;
    return settle(result); // the other outcomes, an exception among them (settle finishes it)
}

inline PySendResult driver::send(PyObject *value, PyObject **result) {
    if (state_ == coroutine_state::unstarted && value == Py_None && top_) {
        return start(result);
    }
    *result = nullptr;
    return send_later(value, result);
}

} // namespace pyasync::detail
