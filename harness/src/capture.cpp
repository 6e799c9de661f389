// Output capture and the sync-case watchdog.
#include "capture.hpp"

#include <pyasync/detail/delay.hpp>
#include <pybind11/pybind11.h>

#include <algorithm>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <execinfo.h>
#include <fcntl.h>
#include <iostream>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pyasync::testing::detail {
namespace py = pybind11;

namespace {
pthread_t main_thread = pthread_self();
volatile std::sig_atomic_t saved_stderr = -1; ///< set while a capture is active

void write_all(int fd, const char *data, std::size_t size) noexcept {
    while (size > 0) {
        const ssize_t written = ::write(fd, data, size);
        if (written <= 0) {
            return;
        }
        data += written;
        size -= static_cast<std::size_t>(written);
    }
}

void write_text(int fd, const char *text) noexcept {
    write_all(fd, text, std::strlen(text));
}

extern "C" void print_native_stack(int signal_number) {
    // Async-signal context: only write(2) and backtrace (its first call may allocate; the
    // watchdog primes it before the signal is sent).
    write_text(STDERR_FILENO, "\nNative stack of the main thread (most recent call first):\n");
    void *frames[128];
    const int depth = backtrace(frames, 128);
    backtrace_symbols_fd(frames, depth, STDERR_FILENO);
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
}
} // namespace

void flush_all_output() {
    std::fflush(nullptr);
    std::cout.flush();
    std::cerr.flush();
    if (Py_IsInitialized() && PyGILState_Check()) {
        // Interned once: twice per case, building the name each time was measurable.
        static PyObject *const flush = PyUnicode_InternFromString("flush");
        for (const char *stream : {"stdout", "stderr"}) {
            PyObject *file = PySys_GetObject(stream); // borrowed
            if (file != nullptr && file != Py_None && flush != nullptr) {
                PyObject *result = PyObject_CallMethodNoArgs(file, flush);
                Py_XDECREF(result);
                PyErr_Clear();
            }
        }
    }
}

int real_stderr_fd() noexcept {
    return saved_stderr >= 0 ? saved_stderr : STDERR_FILENO;
}

namespace {

/// The anonymous file every capture writes into and the saved real stdout and stderr: opened at
/// the first capture and kept for the process, so a case costs a few dup2 calls, not a file and
/// four descriptors made and closed (a fifth of a trivial case's time). Main thread.
struct capture_files {
    int file = -1;
    int saved_out = -1;
    int saved_err = -1;
    bool in_use = false; ///< a capture is active: a nested one captures nothing of its own
};

capture_files &shared_capture_files() {
    static capture_files files = [] {
        capture_files opened;
        opened.file = memfd_create("pyasync-test-output", MFD_CLOEXEC);
        if (opened.file >= 0) {
            opened.saved_out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
            opened.saved_err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0);
        }
        return opened;
    }();
    return files;
}

} // namespace

output_capture::~output_capture() {
    if (active()) {
        stop();
    }
}

void output_capture::start() {
    capture_files &files = shared_capture_files();
    if (files.file < 0 || files.saved_out < 0 || files.saved_err < 0 || files.in_use) {
        return; // no capture rather than no run
    }
    flush_all_output();
    files.in_use = true;
    file_ = files.file;
    saved_out_ = files.saved_out;
    saved_err_ = files.saved_err;
    saved_stderr = saved_err_;
    dup2(file_, STDOUT_FILENO);
    dup2(file_, STDERR_FILENO);
}

std::string output_capture::stop() {
    if (!active()) {
        return {};
    }
    flush_all_output();
    saved_stderr = -1;
    dup2(saved_out_, STDOUT_FILENO);
    dup2(saved_err_, STDERR_FILENO);
    std::string text;
    struct stat written {};
    if (fstat(file_, &written) == 0 && written.st_size > 0) {
        text.resize(static_cast<std::size_t>(written.st_size));
        std::size_t have = 0;
        for (ssize_t n; have < text.size() &&
                        (n = pread(file_, text.data() + have, text.size() - have, static_cast<off_t>(have))) > 0;) {
            have += static_cast<std::size_t>(n);
        }
        text.resize(have);
        // Empty for the next case; the descriptors share one offset, so it goes back to 0 too.
        if (ftruncate(file_, 0) != 0 || lseek(file_, 0, SEEK_SET) != 0) {
            std::perror("pyasync-test: clearing the capture file");
        }
    }
    shared_capture_files().in_use = false;
    file_ = saved_out_ = saved_err_ = -1;
    return text;
}

void output_capture::release_to_stderr() noexcept {
    if (!active()) {
        return;
    }
    std::fflush(nullptr);
    dup2(saved_out_, STDOUT_FILENO);
    dup2(saved_err_, STDERR_FILENO);
    write_text(STDERR_FILENO, "---- captured output so far ----\n");
    char buffer[8192];
    lseek(file_, 0, SEEK_SET);
    for (ssize_t n; (n = read(file_, buffer, sizeof buffer)) > 0;) {
        write_all(STDERR_FILENO, buffer, static_cast<std::size_t>(n));
    }
    write_text(STDERR_FILENO, "---- end of captured output ----\n");
}

void watchdog::install_native_stack_dump() {
    main_thread = pthread_self();
    struct sigaction action {};
    action.sa_handler = print_native_stack;
    sigemptyset(&action.sa_mask);
    sigaction(SIGABRT, &action, nullptr);
}

void watchdog::arm(double seconds, std::string what, std::function<void()> on_expiry) {
    disarm();
    armed_ = true;
    thread_ = std::thread([this, seconds, what = std::move(what), on_expiry = std::move(on_expiry)] {
        std::unique_lock lock(mutex_);
        // Clamped: a deadline past what the clock holds would overflow and expire at once.
        const double bounded = std::min(seconds, pyasync::detail::longest_delay_seconds);
        if (wake_.wait_for(lock, std::chrono::duration<double>(bounded), [this] { return !armed_; })) {
            return;
        }
        void *prime[1];
        backtrace(prime, 1); // loads libgcc now, not inside the signal handler
        on_expiry();
        const std::string message = "\n[ TIMEOUT  ] " + what +
                                    "\nPython stacks follow (faulthandler), then the native stack; the run aborts.\n";
        write_all(STDERR_FILENO, message.data(), message.size());
        pthread_kill(main_thread, SIGABRT);
        // The main thread is aborting; never return into the case.
        for (;;) {
            pause();
        }
    });
}

void watchdog::disarm() {
    if (!thread_.joinable()) {
        return;
    }
    {
        std::lock_guard lock(mutex_);
        armed_ = false;
    }
    wake_.notify_all();
    thread_.join();
}

} // namespace pyasync::testing::detail
