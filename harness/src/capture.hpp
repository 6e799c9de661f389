#pragma once
// Internal: per-case capture of stdout and stderr at the file-descriptor level (C++ streams,
// printf and Python's print alike), and the watchdog that stops a hung sync case.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace pyasync::testing::detail {

/// Flushes C stdio, iostreams and, when the interpreter runs and this thread holds the GIL,
/// Python's sys.stdout and sys.stderr.
void flush_all_output();

/// The process's stderr as the user sees it: the saved descriptor while a capture is active.
/// Async-signal-safe, for messages written from a signal handler.
int real_stderr_fd() noexcept;

class output_capture {
public:
    output_capture() = default;
    output_capture(const output_capture &) = delete;
    output_capture &operator=(const output_capture &) = delete;
    ~output_capture();
    /// Redirects fds 1 and 2 into an anonymous file.
    void start();
    /// Restores fds 1 and 2 and returns what was written meanwhile.
    std::string stop();
    /// While capturing: puts the real fds back without reading (before an abort), and writes
    /// what was captured so far to the real stderr.
    void release_to_stderr() noexcept;
    [[nodiscard]] bool active() const noexcept { return file_ >= 0; }

private:
    int file_ = -1;
    int saved_out_ = -1;
    int saved_err_ = -1;
};

/// Stops a sync case that overruns its timeout: prints what timed out, lets `on_expiry` write
/// the partial reports, then sends SIGABRT to the main thread so faulthandler prints the
/// Python stacks and our handler the native one, and the process aborts.
class watchdog {
public:
    /// Installs the SIGABRT handler that prints the native stack (call before
    /// `faulthandler.enable`, which chains to it).
    static void install_native_stack_dump();
    watchdog() = default;
    watchdog(const watchdog &) = delete;
    watchdog &operator=(const watchdog &) = delete;
    ~watchdog() { disarm(); }
    void arm(double seconds, std::string what, std::function<void()> on_expiry);
    void disarm();

private:
    std::mutex mutex_;
    std::condition_variable wake_;
    bool armed_ = false;
    std::thread thread_;
};

} // namespace pyasync::testing::detail
