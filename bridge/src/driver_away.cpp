// The driver while its frame is away on a runtime (`resume_on`): parked on `away_->park`, it
// yields one asyncio.Future to the Task until a home completion arrives through the loop's
// queue; exceptions thrown in meanwhile are recorded and delivered at home; a Python awaitable
// the frame asks for is awaited here by delegation and its outcome sent back to the runtime.
#include <pyasync/detail/coroutine_object.hpp>
#include <pyasync/detail/module_state.hpp>
#include <pyasync/errors.hpp>
#include <pyasync/runtime.hpp>

#include "trio_host.hpp"

#include <memory>
#include <utility>

namespace pyasync {
namespace detail {

namespace {

/// Runs `frame` on a worker of `engine` (a stopped engine drops it: the frame stays suspended).
void resume_on_worker(runtime &engine, std::coroutine_handle<> frame) {
    engine.spawn([frame] { frame.resume(); });
}

/// Closes an awaitable the frame asked for but that will never be awaited (so a coroutine
/// object does not warn "never awaited").
void close_unawaited(PyObject *awaitable) noexcept {
    if (PyCoro_CheckExact(awaitable) || Py_TYPE(awaitable) == coroutine_type()) {
        PyObject *closed = PyObject_CallMethodNoArgs(awaitable, state().str_close);
        if (closed == nullptr) {
            PyErr_WriteUnraisable(awaitable);
        }
        Py_XDECREF(closed);
    }
}

} // namespace

PySendResult driver::yield_suspension_future(PyObject **result) {
    PyObject *future = blocking_suspension();
    if (future == nullptr) {
        return PYGEN_ERROR;
    }
    state_ = coroutine_state::suspended;
    *result = Py_NewRef(future);
    return PYGEN_NEXT;
}

void driver::hold_owner() noexcept {
    if (!holding_owner_ && owner_ != nullptr) {
        Py_INCREF(owner_);
        holding_owner_ = true;
    }
}

void driver::release_owner() noexcept {
    if (completion_queue *queue = std::exchange(rooted_in_, nullptr)) {
        queue->unroot(*this);
    }
    if (std::exchange(holding_owner_, false)) {
        Py_DECREF(owner_); // never the last reference: whoever sends or throws into us holds one
    }
}

PyObject *driver::release_for_closed_loop() noexcept {
    if (rooted_in_ == nullptr || owner_ == nullptr) {
        return nullptr;
    }
    // The loop can never resume this frame: close it as the collector would close its Task's
    // coroutine (RAII clean-up runs, the work is told to stop). Closing here, not at collection,
    // matters because a C++ frame's references are invisible to the collector: a cycle through
    // one (a gather of sub-Tasks) would keep the work alive for good.
    PyObject *coroutine = Py_NewRef(owner_);
    if (close() < 0) {
        PyErr_WriteUnraisable(coroutine);
    }
    release_owner(); // close() released it unless it failed early; the root must go either way
    return coroutine;
}

void driver::leave_for(runtime &engine, std::coroutine_handle<> frame) {
    if (suspension_future() == nullptr) {
        throw python_error();
    }
    if (away_ == nullptr) {
        auto state = std::make_unique<away_state>();
        state->queue = host_queue();
        state->home.owner = this;
        state->home.node.deliver = &on_home;
        state->home.node.discard = &on_home_dropped;
        away_ = state.release();
    }
    (void)stop_token(); // made here: the loop stops it while the frame may read it away
    away_->engine = &engine;
    top_promise_->set_away(true); // the frame's end, if it comes away, is sent home
    away_->arrived = false;
    away_->cancel_delivered.store(false, std::memory_order_relaxed);
    parked_ = &away_->park;
    hold_owner();
    try {
        resume_on_worker(engine, frame);
    } catch (...) {
        parked_ = nullptr;
        away_->engine = nullptr;
        top_promise_->set_away(false);
        release_owner();
        throw;
    }
}

void driver::start_away(runtime &engine) {
    state_ = coroutine_state::running;
    try {
        leave_for(engine, top_);
    } catch (...) {
        state_ = coroutine_state::unstarted;
        throw;
    }
    state_ = coroutine_state::suspended;
}

void driver::move_to(runtime &engine, std::coroutine_handle<> frame) {
    away_->engine = &engine;
    resume_on_worker(engine, frame);
}

void driver::come_home(std::coroutine_handle<> frame) noexcept {
    away_->resume_at = frame;
    away_->queue->push(&away_->home.node);
}

void driver::await_from_away(PyObject *awaitable, bool owned, delegation_target &target) noexcept {
    away_->request = awaitable;
    away_->request_owned = owned;
    away_->target = &target;
    come_home({});
}

void driver::on_home(completion *self) noexcept {
    driver &owner = *reinterpret_cast<home_completion *>(self)->owner;
    owner.away_->arrived = true;
    wake_parked(owner); // a cancelled future is left alone: throw_in sees away_->arrived
}

void driver::on_home_dropped(completion * /*self*/) noexcept {
    // The loop is gone (interpreter exit): the frame stays suspended and its coroutine object is
    // kept, since releasing it needs the GIL. Counted by the queue as dropped.
}

void driver::record_away_error(PyObject *exception) noexcept {
    Py_XSETREF(away_->error, Py_NewRef(exception));
    away_->cancel_delivered.store(false, std::memory_order_release);
}

PyObject *driver::take_away_error() noexcept {
    if (away_ == nullptr) {
        return nullptr;
    }
    if (away_->cancel_delivered.exchange(false, std::memory_order_acq_rel)) {
        Py_CLEAR(away_->error);
    }
    return std::exchange(away_->error, nullptr);
}

PySendResult driver::arrive(PyObject **result) {
    away_->arrived = false;
    if (away_->request != nullptr) {
        return start_await_for_away(result);
    }
    away_->engine = nullptr;
    top_promise_->set_away(false);
    release_owner();
    return resume(std::exchange(away_->resume_at, nullptr), result);
}

PySendResult driver::start_await_for_away(PyObject **result) {
    PyObject *awaitable = std::exchange(away_->request, nullptr);
    if (!away_->request_owned) {
        Py_INCREF(awaitable);
    }
    delegation_target &target = *std::exchange(away_->target, nullptr);
    if (PyObject *pending = take_away_error()) {
        // Cancelled before the loop got to it: the awaitable never starts.
        close_unawaited(awaitable);
        Py_DECREF(awaitable);
        target.error = pending;
        return send_back_away(target, result);
    }
    PyObject *iterator = get_awaitable_iterator(awaitable);
    Py_DECREF(awaitable);
    if (iterator == nullptr) {
        target.error = fetch_exception();
        return send_back_away(target, result);
    }
    PyObject *yielded = nullptr;
    switch (send_to_delegate(iterator, Py_None, &yielded)) {
    case PYGEN_RETURN:
        Py_DECREF(iterator);
        target.value = yielded;
        return send_back_away(target, result);
    case PYGEN_ERROR:
        Py_DECREF(iterator);
        target.error = fetch_exception();
        return send_back_away(target, result);
    case PYGEN_NEXT: break;
    }
    delegate(iterator, yielded, target);
    state_ = coroutine_state::suspended;
    *result = std::exchange(pending_yield_, nullptr);
    return PYGEN_NEXT;
}

PySendResult driver::send_back_away(delegation_target &target, PyObject **result) {
    target.settle_on_loop(&target);
    const std::coroutine_handle<> frame = target.waiter; // target lives in the frame: read it first
    parked_ = &away_->park;
    try {
        resume_on_worker(*away_->engine, frame);
    } catch (...) {
        PyErr_SetString(PyExc_RuntimeError, "pyasync: the runtime refused to resume a C++ coroutine (shut down?)");
        return PYGEN_ERROR;
    }
    return yield_suspension_future(result);
}

bool come_home_finished(driver *owner) noexcept {
    if (owner == nullptr || !owner->away()) {
        return false;
    }
    owner->come_home(std::noop_coroutine());
    return true;
}

/// The work a driver is parked on completed (loop thread, GIL held): resolve the suspension
/// future the Task waits on, unless the Task was cancelled meanwhile.
void wake_parked(driver &owner) noexcept {
    PYASYNC_ASSERT_GIL_HELD("pyasync::detail::wake_parked");
    if (trio_parking *trio = owner.trio_side()) {
        reschedule_trio_task(*trio); // once: a cancelled park was rescheduled by its abort already
        return;
    }
    PyObject *future = owner.suspension_future();
    if (future == nullptr) {
        PyErr_WriteUnraisable(nullptr);
        return;
    }
    // _set_result_unless_cancelled without its Python frame: this runs once per completion.
    PyObject *done = PyObject_CallMethodNoArgs(future, state().str_done);
    PyObject *set =
        done == Py_False ? PyObject_CallMethodOneArg(future, state().str_set_result, Py_None) : Py_XNewRef(done);
    if (set == nullptr) {
        PyErr_WriteUnraisable(future);
    }
    Py_XDECREF(set);
    Py_XDECREF(done);
}

} // namespace detail
} // namespace pyasync
