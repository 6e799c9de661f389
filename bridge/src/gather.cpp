#include <pyasync/detail/module_state.hpp>
#include <pyasync/gather.hpp>

#include "trio_host.hpp"

namespace pyasync {
namespace detail {

/// Shared with the children's done callbacks, which may outlive the awaiter (a child cancelled
/// by a close finishes later).
struct gather_state {
    std::vector<py::object> children;
    std::vector<py::object> results;
    py::object first_error;
    py::object future; ///< the driver's suspension future
    std::size_t remaining = 0;
    bool finished = false;

    void cancel_pending() {
        for (auto &child : children) {
            if (!child.attr("done")().cast<bool>()) {
                child.attr("cancel")();
            }
        }
    }

    void complete(std::size_t index, const py::object &child) {
        if (finished) {
            return;
        }
        if (child.attr("cancelled")().cast<bool>()) {
            first_error = py::reinterpret_borrow<py::object>(state().cancelled_error)();
        } else if (py::object error = child.attr("exception")(); !error.is_none()) {
            first_error = error;
        } else {
            results[index] = child.attr("result")();
        }
        if (first_error || --remaining == 0) {
            finished = true;
            if (first_error) {
                cancel_pending();
            }
            if (!future.attr("done")().cast<bool>()) {
                future.attr("set_result")(py::none());
            }
        }
    }
};

bool gather_awaiter::start(driver &d, std::coroutine_handle<> awaiting) {
    const int under_trio = d.runs_under_trio();
    if (under_trio < 0) {
        throw python_error();
    }
    if (under_trio > 0) {
        return start_trio_wait(trio_nursery_, d, new_trio_gather(awaitables_), awaiting);
    }
    PyObject *future = d.suspension_future();
    if (future == nullptr) {
        throw python_error();
    }
    auto shared = std::make_shared<gather_state>();
    shared->future = py::reinterpret_borrow<py::object>(future);
    shared->results.resize(awaitables_.size());
    shared->remaining = awaitables_.size();
    py::object ensure_future = py::module_::import("asyncio").attr("ensure_future");
    py::handle loop = d.loop();
    try {
        for (auto &awaitable : awaitables_) {
            shared->children.push_back(ensure_future(awaitable, py::arg("loop") = loop));
        }
    } catch (...) {
        shared->cancel_pending();
        throw;
    }
    for (std::size_t i = 0; i < shared->children.size(); ++i) {
        std::weak_ptr<gather_state> weak = shared;
        shared->children[i].attr("add_done_callback")(py::cpp_function([weak, i](const py::object &child) {
            if (auto alive = weak.lock()) {
                alive->complete(i, child);
            }
        }));
    }
    state_ = std::move(shared);
    cancel = &cancel_children;
    d.park(*this);
    return true;
}

void gather_awaiter::cancel_children(parked_operation *self) noexcept {
    auto *awaiter = static_cast<gather_awaiter *>(self);
    if (awaiter->state_ && !awaiter->state_->finished) {
        awaiter->state_->finished = true;
        try {
            awaiter->state_->cancel_pending();
        } catch (py::error_already_set &error) {
            error.discard_as_unraisable("pyasync::gather cancelling its children");
        }
    }
}

std::vector<py::object> gather_awaiter::await_resume() {
    if (trio_nursery_) {
        py::list results = trio_nursery_->awaiter.await_resume();
        std::vector<py::object> values;
        values.reserve(results.size());
        for (py::handle item : results) {
            values.push_back(py::reinterpret_borrow<py::object>(item));
        }
        return values;
    }
    if (error != nullptr) {
        throw_python_exception(std::exchange(error, nullptr));
    }
    if (!state_) {
        return {};
    }
    if (state_->first_error) {
        throw_python_exception(state_->first_error.release().ptr());
    }
    return std::move(state_->results);
}

gather_awaiter::~gather_awaiter() {
    cancel_children(this);
    Py_XDECREF(error);
}

} // namespace detail
} // namespace pyasync
