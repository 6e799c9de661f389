#pragma once
/// \file
/// Observing cancellation explicitly: `co_await pyasync::get_stop_token()`.
///
/// When the Python side cancels a C++ coroutine (`Task.cancel()`, `wait_for`, `asyncio.timeout`),
/// the frame receives `pyasync::cancelled_error` at its suspension point **and** the coroutine's
/// stop token is stopped. The token lets code that runs long C++ loops between awaits, or that
/// registers `std::stop_callback`s, see the request (PyO3's `CancelHandle`, with standard C++
/// types). After catching `cancelled_error` a coroutine may await again (async clean-up,
/// including Python) and then rethrow or return a value.

#include <pyasync/detail/driver_access.hpp>

#include <stop_token>

namespace pyasync {
namespace detail {
struct stop_token_awaiter {
    driver *owner = nullptr;
    bool await_ready() const noexcept { return false; }
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) {
        owner = &driver_of(awaiting, "pyasync::get_stop_token");
        return false; // never suspends: only reads the driver
    }
    std::stop_token await_resume() const { return owner->stop_token(); }
};
} // namespace detail

/// `co_await pyasync::get_stop_token()` gives the calling coroutine's `std::stop_token`, stopped
/// when Python cancels it. Does not suspend. Thread: the event-loop thread, GIL held.
inline detail::stop_token_awaiter get_stop_token() noexcept {
    return {};
}

} // namespace pyasync
