#pragma once
/// \file
/// How pyasync awaitables reach the driver of the task awaiting them (internal).

#include <pyasync/detail/driver.hpp>
#include <pyasync/detail/task_promise.hpp>

#include <string>

namespace pyasync {
namespace detail {

/// The driver of the frame `awaiting`, or a TypeError naming `what` when the frame is not a
/// pyasync task driven from Python.
template <typename Promise>
driver &driver_of(std::coroutine_handle<Promise> awaiting, const char *what) {
    if constexpr (std::is_base_of_v<task_promise_base, Promise>) {
        if (driver *d = awaiting.promise().driver_ptr()) {
            return *d;
        }
    }
    throw py::type_error(std::string("pyasync: ") + what +
                         " needs a pyasync::task driven by Python on the event-loop thread (returned from a bound "
                         "function, pyasync::make_coroutine or pyasync::run)");
}

/// As `driver_of`, for awaitables that need the loop thread: a TypeError when the frame is away.
template <typename Promise>
driver &loop_driver_of(std::coroutine_handle<Promise> awaiting, const char *what) {
    driver &owner = driver_of(awaiting, what);
    if (owner.away()) {
        throw py::type_error(std::string("pyasync: ") + what +
                             " needs the event-loop thread, but this coroutine runs on a runtime thread (after "
                             "pyasync::resume_on); co_await pyasync::resume_on_loop() first");
    }
    return owner;
}

} // namespace detail
} // namespace pyasync
