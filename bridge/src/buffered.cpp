// pyasync::buffered: a pump Task pulls from the source into a bounded deque; `__anext__` hands
// out a ready awaitable when an item is there, else a coroutine that waits on a Future for one.
// The pump waits on another Future while the deque is full. Everything runs on the loop thread.
// Under trio the pump is a system task in a cancel scope of its own and the Futures are Events.
#include <pyasync/buffered.hpp>
#include <pyasync/coroutine.hpp>
#include <pyasync/detail/module_state.hpp>
#include <pyasync/detail/python_compat.hpp>
#include <pyasync/detail/type_object.hpp>
#include <pyasync/errors.hpp>
#include <pyasync/task.hpp>
#include <pyasync/task_locals.hpp>

#include "trio_host.hpp"

#include <deque>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <utility>

namespace pyasync {
namespace detail {
namespace {

struct buffer_state {
    py::object source;
    std::size_t capacity = 1;
    std::deque<py::object> items;
    py::object error;              ///< raised to the consumer after the items before it
    bool finished = false;         ///< no more items will come (end, error, closed)
    bool consumer_waiting = false; ///< an `__anext__` is in progress
    py::object pump;               ///< the Task pulling from `source`, while it runs
    py::object item_ready;         ///< the Future the consumer waits on, while the deque is empty
    py::object space_ready;        ///< the Future the pump waits on, while the deque is full
    /// Under trio: the pump is a system task in a cancel scope of its own (`pump` is that scope,
    /// `pump_ended` a trio.Event it sets when it ends) and the waiters are trio.Events.
    bool under_trio = false;
    py::object pump_ended;

    /// A fresh Future on the running loop (a trio.Event under trio), kept in `slot` so the other
    /// side can complete it; returns what to await.
    py::object new_waiter(py::object &slot) {
        if (under_trio) {
            slot = py::module_::import("trio").attr("Event")();
            return slot.attr("wait")();
        }
        slot = get_running_loop().attr("create_future")();
        return slot;
    }
    /// Completes the Future (sets the Event under trio) in `slot`, if one waits there.
    void wake(py::object &slot) {
        py::object waiter = std::exchange(slot, py::object());
        if (!waiter) {
            return;
        }
        if (under_trio) {
            waiter.attr("set")();
        } else if (!waiter.attr("done")().cast<bool>()) {
            waiter.attr("set_result")(py::none());
        }
    }
    /// Starts the pump: an asyncio Task on the running loop, or a trio system task under trio.
    void start_pump(const py::object &coroutine) {
        auto loop = py::reinterpret_steal<py::object>(PyObject_CallNoArgs(state().running_loop_or_none));
        if (!loop) {
            throw python_error();
        }
        if (!loop.is_none()) {
            pump = loop.attr("create_task")(coroutine);
            return;
        }
        const int trio = running_under_trio();
        if (trio < 0) {
            throw python_error();
        }
        if (trio == 0) {
            get_running_loop(); // neither library runs: raises asyncio's "no running event loop"
        }
        under_trio = true;
        trio_background_task started = spawn_trio_background_task(coroutine);
        pump = std::move(started.scope);
        pump_ended = std::move(started.ended);
    }
};

[[noreturn]] void raise_exception(py::object exception) {
    PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(exception.ptr())), exception.ptr());
    throw python_error();
}

/// The pump: pulls while there is room, then waits for room. On any end it wakes the consumer
/// and closes the source; a cancellation then ends its Task as cancelled.
task<void> pump_items(std::shared_ptr<buffer_state> state) {
    std::optional<cancelled_error> cancelled; // re-raised as it came: trio needs its own Cancelled back
    try {
        const py::object pull = state->source.attr("__anext__"); // looked up once
        for (;;) {
            while (state->items.size() >= state->capacity) {
                py::object room = state->new_waiter(state->space_ready);
                co_await std::move(room);
            }
            py::object next = pull();
            py::object item = co_await std::move(next);
            state->items.push_back(std::move(item));
            state->wake(state->item_ready);
        }
    } catch (const python_error &error) {
        if (!error.is(PyExc_StopAsyncIteration)) {
            state->error = error.value();
        }
    } catch (const cancelled_error &error) {
        cancelled = error;
    }
    state->finished = true;
    state->space_ready = py::object();
    state->wake(state->item_ready);
    struct unroot {
        buffer_state &state;
        ~unroot() { state.pump = py::object(); } // the pump's Task no longer needs rooting
    } at_exit{*state};
    py::object closing = state->source.attr("aclose")();
    co_await std::move(closing);
    if (cancelled) {
        throw *cancelled;
    }
}

/// Takes the oldest item; wakes the pump once the buffer has drained to half its capacity, so
/// a steady stream costs one pump wake-up per capacity/2 items, not one per item.
py::object take_item(buffer_state &state) {
    py::object item = std::move(state.items.front());
    state.items.pop_front();
    if (state.items.size() <= state.capacity / 2) {
        state.wake(state.space_ready);
    }
    return item;
}

/// One `__anext__` when no item is ready: the next item, waiting for one.
task<py::object> next_item(std::shared_ptr<buffer_state> state) {
    if (state->consumer_waiting) {
        PyErr_SetString(PyExc_RuntimeError,
                        "pyasync.buffered: __anext__() is already running; await one item at a time");
        throw python_error();
    }
    state->consumer_waiting = true;
    struct done_waiting {
        buffer_state &state;
        ~done_waiting() {
            state.consumer_waiting = false;
            state.item_ready = py::object();
        }
    } done{*state};
    while (state->items.empty()) {
        if (state->finished) {
            if (state->error) {
                raise_exception(std::exchange(state->error, py::object()));
            }
            PyErr_SetNone(PyExc_StopAsyncIteration);
            throw python_error();
        }
        py::object arrival = state->new_waiter(state->item_ready);
        co_await std::move(arrival);
    }
    co_return take_item(*state);
}

/// `aclose()`: cancels the pump and waits for it to close the source; closes the source itself
/// when the pump never started.
task<void> close_buffer(std::shared_ptr<buffer_state> state) {
    state->items.clear();
    state->error = py::object();
    if (py::object pump = state->pump) {
        pump.attr("cancel")();
        py::object ended = state->under_trio ? state->pump_ended.attr("wait")()
                                             : py::module_::import("asyncio").attr("wait")(py::make_tuple(pump));
        co_await std::move(ended);
    } else if (!state->finished) {
        state->finished = true;
        py::object closing = state->source.attr("aclose")();
        co_await std::move(closing);
    }
    state->finished = true;
}

/// What `__anext__` returns when an item is ready: an awaitable that completes with it on the
/// first send, without a coroutine or a loop turn (as CPython's async generators hand out).
struct ready_item_object {
    PyObject_HEAD PyObject *item; ///< owned; nullptr once handed out
};

PySendResult ready_item_send(PyObject *self, PyObject *, PyObject **result) {
    auto *ready = reinterpret_cast<ready_item_object *>(self);
    if (ready->item == nullptr) {
        PyErr_SetString(PyExc_RuntimeError, "cannot reuse already awaited __anext__()/asend()");
        *result = nullptr; // the C API: no result with PYGEN_ERROR (a debug interpreter asserts it)
        return PYGEN_ERROR;
    }
    *result = std::exchange(ready->item, nullptr);
    return PYGEN_RETURN;
}

PyObject *ready_item_next(PyObject *self) {
    PyObject *item = nullptr;
    if (ready_item_send(self, Py_None, &item) == PYGEN_ERROR) {
        return nullptr;
    }
    python::set_stop_iteration_value(item);
    Py_DECREF(item);
    return nullptr;
}

PyObject *ready_item_await(PyObject *self) {
    return Py_NewRef(self);
}

void ready_item_dealloc(PyObject *self) {
    Py_XDECREF(reinterpret_cast<ready_item_object *>(self)->item);
    Py_TYPE(self)->tp_free(self);
}

PyAsyncMethods ready_item_as_async = {ready_item_await, nullptr, nullptr, ready_item_send};

PyTypeObject ready_item_type = make_type_object({
    .name = "pyasync.buffered_item",
    .doc = PyDoc_STR("The awaitable __anext__() of pyasync.buffered returns when an item is ready."),
    .basic_size = sizeof(ready_item_object),
    .flags = Py_TPFLAGS_DEFAULT,
    .dealloc = ready_item_dealloc,
    .as_async = &ready_item_as_async,
    .iter = PyObject_SelfIter,
    .iternext = ready_item_next,
});

py::object ready_item(py::object item) {
    auto *self = PyObject_New(ready_item_object, &ready_item_type);
    if (self == nullptr) {
        throw py::error_already_set();
    }
    self->item = item.release().ptr();
    return py::reinterpret_steal<py::object>(reinterpret_cast<PyObject *>(self));
}

struct buffered_object {
    PyObject_HEAD std::shared_ptr<buffer_state> state;
};

buffered_object *as_buffered(PyObject *self) {
    return reinterpret_cast<buffered_object *>(self);
}

/// Runs `fn` returning a Python object, turning a C++ exception into a Python error.
template <typename Fn>
PyObject *guarded(Fn &&fn) noexcept {
    try {
        return fn().release().ptr();
    } catch (py::error_already_set &error) {
        error.restore();
    } catch (const std::exception &error) {
        PyErr_SetString(PyExc_RuntimeError, error.what());
    }
    return nullptr;
}

PyObject *buffered_aiter(PyObject *self) {
    return Py_NewRef(self);
}

PyObject *buffered_anext(PyObject *self) {
    return guarded([self] {
        const std::shared_ptr<buffer_state> &state = as_buffered(self)->state;
        if (!state->pump && !state->finished) {
            state->start_pump(make_coroutine(pump_items(state)));
        }
        if (!state->items.empty() && !state->consumer_waiting) {
            return ready_item(take_item(*state));
        }
        return make_coroutine(next_item(state));
    });
}

PyObject *buffered_aclose(PyObject *self, PyObject *) {
    return guarded([self] { return make_coroutine(close_buffer(as_buffered(self)->state)); });
}

PyObject *buffered_repr(PyObject *self) {
    const buffer_state &state = *as_buffered(self)->state;
    return PyUnicode_FromFormat("<pyasync.buffered %zu/%zu ready from %R>", state.items.size(), state.capacity,
                                state.source.ptr());
}

/// Stops a pump still running when its buffered object is dropped: cancels its Task (unless its
/// loop is closed), or its cancel scope under trio (harmless once the run is over). The pump
/// then closes the source.
void stop_dropped_pump(PyObject *self, const buffer_state &state, PyObject *pump) {
    PyObject *loop = nullptr;
    PyObject *closed = nullptr;
    bool cancel = state.under_trio;
    if (!cancel) {
        PyObject *done = PyObject_CallMethod(pump, "done", nullptr);
        loop = done == Py_False ? PyObject_CallMethod(pump, "get_loop", nullptr) : nullptr;
        closed = loop != nullptr ? PyObject_CallMethod(loop, "is_closed", nullptr) : nullptr;
        cancel = closed == Py_False;
        Py_XDECREF(done);
    }
    if (cancel) {
        PyObject *cancelled = PyObject_CallMethod(pump, "cancel", nullptr);
        if (cancelled == nullptr) {
            PyErr_WriteUnraisable(self);
        }
        Py_XDECREF(cancelled);
    }
    Py_XDECREF(closed);
    Py_XDECREF(loop);
    PyErr_Clear(); // only the queries above can fail here; the cancel's failure was reported
}

void buffered_dealloc(PyObject *self) {
    auto *object = as_buffered(self);
    if (object->state && object->state->pump) {
        py::object pump = std::exchange(object->state->pump, py::object());
        stop_dropped_pump(self, *object->state, pump.ptr());
    }
    object->state.~shared_ptr();
    Py_TYPE(self)->tp_free(self);
}

PyMethodDef buffered_methods[] = {
    {"aclose", buffered_aclose, METH_NOARGS,
     PyDoc_STR("aclose(): an awaitable that stops the producer, closes the source and drops buffered items.")},
    {nullptr, nullptr, 0, nullptr},
};

PyAsyncMethods buffered_as_async = {nullptr, buffered_aiter, buffered_anext, nullptr};

PyTypeObject buffered_type_object = make_type_object({
    .name = "pyasync.buffered",
    .doc = PyDoc_STR("An async iterator whose producer runs ahead of the consumer, up to a bound "
                     "(pyasync::buffered)."),
    .basic_size = sizeof(buffered_object),
    .flags = Py_TPFLAGS_DEFAULT,
    .dealloc = buffered_dealloc,
    .as_async = &buffered_as_async,
    .repr = buffered_repr,
    .methods = buffered_methods,
});

} // namespace
} // namespace detail

py::object buffered(py::object source, std::size_t capacity) {
    if (capacity == 0) {
        throw py::value_error("pyasync::buffered: capacity must be at least 1 (the number of items the producer may "
                              "run ahead of the consumer); got 0");
    }
    if (!source || !py::hasattr(source, "__anext__") || !py::hasattr(source, "aclose")) {
        throw py::type_error(std::string("pyasync::buffered: expected an async iterator with __anext__ and aclose "
                                         "(an async generator), got ") +
                             (source ? Py_TYPE(source.ptr())->tp_name : "nothing"));
    }
    static const bool ready =
        PyType_Ready(&detail::buffered_type_object) == 0 && PyType_Ready(&detail::ready_item_type) == 0;
    if (!ready) {
        throw py::error_already_set();
    }
    auto state = std::make_shared<detail::buffer_state>();
    state->source = std::move(source);
    state->capacity = capacity;
    auto *self = PyObject_New(detail::buffered_object, &detail::buffered_type_object);
    if (self == nullptr) {
        throw py::error_already_set();
    }
    new (&self->state) std::shared_ptr<detail::buffer_state>(std::move(state));
    return py::reinterpret_steal<py::object>(reinterpret_cast<PyObject *>(self));
}

} // namespace pyasync
