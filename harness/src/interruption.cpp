// Stop signals of an in-process run: Python's handler for the orderly stop, a C handler
// chained before it for the immediate one.
#include "interruption.hpp"

#include "capture.hpp"

#include <pyasync/testing/options.hpp>

#include <csignal>
#include <cstdio>
#include <unistd.h>

namespace pyasync::testing::detail {
namespace {

// SIGINT and SIGTERM stop the run alike. The Python handler runs only when the main thread
// returns to Python: a sync case blocked in C++ never does. This C handler keeps the promise
// that a second signal exits at once whatever the main thread is doing.
struct sigaction python_actions[2]{}; // SIGINT's, SIGTERM's
constexpr char interrupted_twice[] = "\npyasync-test: interrupted twice: exiting now\n";
volatile std::sig_atomic_t stop_signals_seen = 0;

extern "C" void count_stop_signal(int signal_number) {
    stop_signals_seen = stop_signals_seen + 1;
    if (stop_signals_seen >= 2) {
        (void)!write(real_stderr_fd(), interrupted_twice, sizeof interrupted_twice - 1); // async-signal-safe
        _exit(exit_interrupted);
    }
    const struct sigaction &python = python_actions[signal_number == SIGTERM ? 1 : 0];
    if (python.sa_handler != SIG_DFL && python.sa_handler != SIG_IGN) {
        python.sa_handler(signal_number);
    }
}

} // namespace

std::string describe_stop_signal(int signal_number) {
    return signal_number == SIGTERM ? "SIGTERM" : "Ctrl-C";
}

void install_stop_signal_handlers(std::function<void(int signal_number)> on_stop) {
    py::module_ signal = py::module_::import("signal");
    py::cpp_function handler(
        [on_stop = std::move(on_stop)](py::handle number, py::handle) { on_stop(number.cast<int>()); });
    struct sigaction counting {};
    counting.sa_handler = count_stop_signal;
    sigemptyset(&counting.sa_mask);
    counting.sa_flags = SA_ONSTACK;
    stop_signals_seen = 0;
    const int numbers[2] = {SIGINT, SIGTERM};
    for (int k = 0; k < 2; ++k) {
        signal.attr("signal")(numbers[k], handler);
        sigaction(numbers[k], &counting, &python_actions[k]);
    }
}

void exit_interrupted_twice() {
    std::fputs(interrupted_twice, stderr);
    std::fflush(nullptr);
    _exit(exit_interrupted);
}

} // namespace pyasync::testing::detail
