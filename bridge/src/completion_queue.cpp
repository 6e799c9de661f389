// The per-loop completion queue: a lock-free stack that any thread pushes onto; an eventfd wakes
// the loop only on the empty -> non-empty edge, and the loop drains the whole batch.
#include <pyasync/detail/completion_queue.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <unordered_map>

PYASYNC_NAMESPACE_BEGIN
namespace detail {
namespace {

std::atomic<std::uint64_t> delivered_total{0};
std::atomic<std::uint64_t> batches_total{0};
std::atomic<std::uint64_t> dropped_total{0};

/// The head of a closed queue: pushes see it and discard.
completion *closed_marker() noexcept {
    static completion marker;
    return &marker;
}

/// Loop -> queue, touched only with the GIL held. A queue leaves it when its loop is collected.
std::unordered_map<PyObject *, std::shared_ptr<completion_queue>> &registry() {
    static auto *queues = new std::unordered_map<PyObject *, std::shared_ptr<completion_queue>>();
    return *queues; // leaked on purpose: destroying it at exit would need the GIL
}

void discard_all(completion *item) noexcept {
    while (item != nullptr) {
        completion *next = item->next;
        dropped_total.fetch_add(1, std::memory_order_relaxed);
        item->discard(item);
        item = next;
    }
}

} // namespace

completion_queue::completion_queue(PyObject *loop) : loop_(loop) {}

std::shared_ptr<completion_queue> completion_queue::of(PyObject *loop) {
    auto &queues = registry();
    if (auto found = queues.find(loop); found != queues.end()) {
        return found->second;
    }
    auto queue = std::make_shared<completion_queue>(loop);
    py::handle loop_handle(loop);
    std::weak_ptr<completion_queue> weak = queue;
    py::cpp_function drain([weak] {
        if (auto alive = weak.lock()) {
            alive->drain();
        }
    });
    if (py::hasattr(loop_handle, "add_reader")) {
        queue->eventfd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (queue->eventfd_ < 0) {
            PyErr_SetFromErrno(PyExc_OSError);
            throw py::error_already_set();
        }
        try {
            loop_handle.attr("add_reader")(queue->eventfd_, drain);
            queue->uses_reader_ = true;
        } catch (py::error_already_set &) {
            // NotImplementedError (Proactor-like loops): fall back to call_soon_threadsafe.
            PyErr_Clear();
        }
    }
    queue->drain_callable_ = drain.release().ptr();
    // When the loop object goes away, nothing can drain any more: close the queue then.
    py::cpp_function on_loop_gone([loop](py::handle) {
        auto &all = registry();
        if (auto found = all.find(loop); found != all.end()) {
            found->second->close();
            all.erase(found);
        }
    });
    PyObject *ref = PyWeakref_NewRef(loop, on_loop_gone.ptr());
    if (ref == nullptr) {
        throw py::error_already_set();
    }
    // The weakref must outlive the loop for its callback to run: the queue keeps it.
    py::handle(ref).inc_ref();
    Py_DECREF(ref);
    queues.emplace(loop, queue);
    return queue;
}

void completion_queue::push(completion *item) noexcept {
    completion *head = head_.load(std::memory_order_relaxed);
    do {
        if (head == closed_marker()) {
            dropped_total.fetch_add(1, std::memory_order_relaxed);
            item->discard(item);
            return;
        }
        item->next = head;
    } while (!head_.compare_exchange_weak(head, item, std::memory_order_release, std::memory_order_relaxed));
    if (head == nullptr) {
        wake();
    }
}

void completion_queue::wake() noexcept {
    if (uses_reader_) {
        const std::uint64_t one = 1;
        // EAGAIN means the counter is saturated: the loop is already due to wake.
        [[maybe_unused]] const auto written = ::write(eventfd_, &one, sizeof one);
        return;
    }
    if (_Py_IsFinalizing()) {
        return; // the interpreter is going away: close() will discard what is queued
    }
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *handle = PyObject_CallMethod(loop_, "call_soon_threadsafe", "O", drain_callable_);
    if (handle == nullptr) {
        PyErr_Clear(); // the loop is closed: its finalizer closes this queue and counts the drops
    }
    Py_XDECREF(handle);
    PyGILState_Release(gil);
}

void completion_queue::drain() noexcept {
    if (uses_reader_) {
        std::uint64_t count = 0;
        [[maybe_unused]] const auto got = ::read(eventfd_, &count, sizeof count);
    }
    completion *items = head_.exchange(nullptr, std::memory_order_acquire);
    if (items == closed_marker()) {
        head_.store(closed_marker(), std::memory_order_relaxed);
        return;
    }
    // The stack holds the newest first: deliver in arrival order.
    completion *ordered = nullptr;
    std::uint64_t count = 0;
    while (items != nullptr) {
        completion *next = items->next;
        items->next = ordered;
        ordered = items;
        items = next;
        ++count;
    }
    batches_total.fetch_add(1, std::memory_order_relaxed);
    delivered_total.fetch_add(count, std::memory_order_relaxed);
    while (ordered != nullptr) {
        completion *next = ordered->next;
        ordered->deliver(ordered);
        ordered = next;
    }
}

void completion_queue::close() noexcept {
    completion *queued = head_.exchange(closed_marker(), std::memory_order_acq_rel);
    if (queued != closed_marker()) {
        discard_all(queued);
    }
    Py_CLEAR(drain_callable_);
}

completion_queue::~completion_queue() {
    if (eventfd_ >= 0) {
        ::close(eventfd_);
    }
}

completion_counts completion_queue::totals() noexcept {
    return {delivered_total.load(), batches_total.load(), dropped_total.load()};
}

} // namespace detail
PYASYNC_NAMESPACE_END
