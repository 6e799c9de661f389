// Under trio: what trio's level-triggered cancellation asks of a C++ frame, and the loop-only
// helpers that must refuse with an error naming the trio alternative.
#include "pyasync_tests.hpp"

#include <atomic>

namespace {

std::atomic<int> frames_destroyed{0};

struct counted_frame {
    ~counted_frame() { ++frames_destroyed; }
};

/// Swallows the first cancellation, then sleeps again: trio cancels it again at once (a cancel
/// scope stays cancelled), so this raises cancelled_error. Returns how many it saw otherwise.
pyasync::task<int> swallow_then_sleep_again(double seconds) {
    counted_frame raii;
    int seen = 0;
    try {
        co_await pyasync::sleep(seconds);
    } catch (const pyasync::cancelled_error &) {
        ++seen;
    }
    co_await pyasync::sleep(seconds); // still cancelled: throws again
    co_return seen;
}

/// Sleeps on the loop's clock (trio's under trio), `rounds` times; returns the rounds done.
pyasync::task<int> loop_sleeps(double seconds, int rounds) {
    counted_frame raii;
    for (int round = 0; round < rounds; ++round) {
        co_await pyasync::loop_sleep(seconds);
    }
    co_return rounds;
}

/// Reports what the cancellation looked like from C++: its message and whether the stop token
/// had been stopped, then re-raises it.
pyasync::task<void> report_cancellation(double seconds, py::list report) {
    std::stop_token token = co_await pyasync::get_stop_token();
    try {
        co_await pyasync::sleep(seconds);
    } catch (const pyasync::cancelled_error &error) {
        report.append(py::make_tuple(std::string(error.what()), token.stop_requested(), error.exception()));
        throw;
    }
}

} // namespace

PYASYNC_TEST_SUBMODULE(trio, m) {
    pyasync::def(m, "swallow_then_sleep_again", &swallow_then_sleep_again, py::arg("seconds"));
    pyasync::def(m, "loop_sleeps", &loop_sleeps, py::arg("seconds"), py::arg("rounds"));
    pyasync::def(m, "report_cancellation", &report_cancellation, py::arg("seconds"), py::arg("report"));
    m.def("frames_destroyed", [] { return frames_destroyed.load(); });
}
