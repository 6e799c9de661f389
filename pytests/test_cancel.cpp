// Cancellation both ways: cancelled_error at the suspension point, the stop token, async
// clean-up after a cancellation, swallowing a cancellation, closing a coroutine that awaits Python.
#include "pyasync_tests.hpp"

#include <optional>

namespace {

int side_effects = 0;
int destroyed_guards = 0;

struct guard {
    ~guard() { ++destroyed_guards; }
};

/// Sleeps, then has a side effect that must never happen when cancelled first.
pyasync::task<void> sleep_then_side_effect(double seconds) {
    guard raii;
    co_await pyasync::sleep(seconds);
    ++side_effects;
}

/// Returns whether the stop token was stopped, after swallowing the cancellation.
pyasync::task<py::object> observe_stop_token(double seconds) {
    std::stop_token token = co_await pyasync::get_stop_token();
    bool callback_ran = false;
    std::stop_callback on_stop(token, [&] { callback_ran = true; });
    try {
        co_await pyasync::sleep(seconds);
    } catch (const pyasync::cancelled_error &error) {
        co_return py::make_tuple("swallowed", token.stop_requested(), callback_ran, std::string(error.what()));
    }
    co_return py::make_tuple("finished", token.stop_requested(), callback_ran, std::string());
}

/// Awaits a Python awaitable; counts frames destroyed with RAII.
pyasync::task<py::object> guarded_await(py::object awaitable) {
    guard raii;
    co_return co_await awaitable;
}

} // namespace

PYASYNC_TEST_SUBMODULE(cancel, m) {
    pyasync::def(m, "sleep_then_side_effect", &sleep_then_side_effect, py::arg("seconds"));
    pyasync::def(m, "observe_stop_token", &observe_stop_token, py::arg("seconds"));
    pyasync::def(m, "guarded_await", &guarded_await, py::arg("awaitable"));
    m.def("side_effects", [] { return side_effects; });
    m.def("destroyed_guards", [] { return destroyed_guards; });
}
