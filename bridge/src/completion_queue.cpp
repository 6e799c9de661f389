// The per-loop completion queue: a lock-free stack that any thread pushes onto; an eventfd wakes
// the loop only on the empty -> non-empty edge, and the loop drains the whole batch.
#include <pyasync/detail/completion_queue.hpp>
#include <pyasync/detail/driver.hpp>
#include <pyasync/detail/python_compat.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <unordered_map>
#include <vector>

namespace pyasync {
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

namespace {

/// Lives in the capture of the loop's reader callback. The loop drops its reader callbacks when
/// it closes (its selector goes), which destroys this and closes the queue: a loop that is
/// closed but not collected still releases the work rooted on it.
struct closed_watch {
    std::weak_ptr<completion_queue> queue;
    explicit closed_watch(std::weak_ptr<completion_queue> of) : queue(std::move(of)) {}
    closed_watch(const closed_watch &) = delete;
    closed_watch &operator=(const closed_watch &) = delete;
    ~closed_watch() {
        if (auto alive = queue.lock()) {
            alive->close_for_loop();
        }
    }
};

} // namespace

namespace {

/// What the loop (or a trio run's task) calls to drain `queue`, unless it is gone by then.
auto drainer(std::weak_ptr<completion_queue> queue) {
    return [queue = std::move(queue)] {
        if (auto alive = queue.lock()) {
            alive->drain();
        }
    };
}

} // namespace

std::shared_ptr<completion_queue> completion_queue::of(PyObject *loop) {
    auto &queues = registry();
    if (auto found = queues.find(loop); found != queues.end()) {
        return found->second;
    }
    auto queue = std::make_shared<completion_queue>(loop);
    py::handle loop_handle(loop);
    std::weak_ptr<completion_queue> weak = queue;
    auto drain_if_alive = drainer(weak);
    queue->drain_callable_ = py::cpp_function(drain_if_alive).release().ptr();
    if (py::hasattr(loop_handle, "add_reader")) {
        queue->eventfd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (queue->eventfd_ < 0) {
            PyErr_SetFromErrno(PyExc_OSError);
            throw py::error_already_set();
        }
        // A callable of its own, not drain_callable_: the watch must die with the loop's reader.
        auto watch = std::make_shared<closed_watch>(weak);
        py::cpp_function reader([drain_if_alive, watch] { drain_if_alive(); });
        try {
            loop_handle.attr("add_reader")(queue->eventfd_, reader);
            queue->uses_reader_ = true;
        } catch (py::error_already_set &) {
            // NotImplementedError (Proactor-like loops): fall back to call_soon_threadsafe.
            PyErr_Clear();
        }
    }
    // When the loop object goes away, nothing can drain any more: close the queue then.
    // The registry keeps a closed loop's queue until the loop object goes (no new loop can have
    // its address before then), so the queue is normally destroyed here, on the loop thread.
    py::cpp_function on_loop_gone([loop](py::handle) {
        auto &all = registry();
        if (auto found = all.find(loop); found != all.end()) {
            std::shared_ptr<completion_queue> gone = std::move(found->second);
            all.erase(found);
            gone->close_for_loop();
            Py_CLEAR(gone->loop_watch_); // dead now; the call that runs us holds it until we return
        }
    });
    queue->loop_watch_ = PyWeakref_NewRef(loop, on_loop_gone.ptr()); // owned: dropped when the loop goes
    if (queue->loop_watch_ == nullptr) {
        throw py::error_already_set();
    }
    queues.emplace(loop, queue);
    return queue;
}

std::shared_ptr<completion_queue> completion_queue::for_trio() {
    auto queue = std::make_shared<completion_queue>(nullptr);
    queue->drain_callable_ = py::cpp_function(drainer(queue)).release().ptr();
    queue->eventfd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (queue->eventfd_ < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        throw py::error_already_set();
    }
    queue->uses_reader_ = true;
    return queue;
}

void completion_queue::push(completion *item) noexcept {
    // Once `item` is on the queue, the loop may deliver it and drop the last reference to this
    // queue (its operation's) while this thread still has to wake it: keep it alive until then.
    // (Seen under ASan: wake() read a queue freed by the loop thread in between.)
    const std::shared_ptr<completion_queue> alive = shared_from_this();
    // Acquire: a pusher that finds the queue closed (and may then drop the last reference to
    // it, destroying it on this thread) sees everything the loop thread did before closing it.
    completion *head = head_.load(std::memory_order_acquire);
    do {
        if (head == closed_marker()) {
            dropped_total.fetch_add(1, std::memory_order_relaxed);
            item->discard(item);
            return;
        }
        item->next = head;
    } while (!head_.compare_exchange_weak(head, item, std::memory_order_release, std::memory_order_acquire));
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
    if (python::interpreter_finalizing()) {
        return; // the interpreter is going away: close() will discard what is queued
    }
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *handle = drain_callable_ != nullptr && loop_ != nullptr // both cleared under the GIL
                           ? PyObject_CallMethod(loop_, "call_soon_threadsafe", "O", drain_callable_)
                           : nullptr;
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

void completion_queue::root(driver &owner) noexcept {
    try {
        rooted_.insert(&owner);
    } catch (...) { // out of memory: the work stays rooted until it reports, as before
    }
}

void completion_queue::unroot(driver &owner) noexcept {
    rooted_.erase(&owner);
}

void completion_queue::close_for_loop() noexcept {
    close();
    // Releasing one driver can free others (their coroutines die): take references first.
    std::vector<driver *> rooted(rooted_.begin(), rooted_.end());
    std::vector<PyObject *> coroutines;
    for (driver *owner : rooted) {
        if (PyObject *coroutine = owner->release_for_closed_loop()) {
            coroutines.push_back(coroutine);
        }
    }
    for (PyObject *coroutine : coroutines) {
        Py_DECREF(coroutine);
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
} // namespace pyasync
