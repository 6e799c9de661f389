#pragma once
/// \file
/// `pyasync::asio_runtime`: the default engine of the runtime concept, on standalone Asio.

#include <pyasync/runtime.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace pyasync {

/// The Asio engine: `threads` workers (0: `PYASYNC_THREADS`, else the number of cores) running
/// one `io_context` for work and timers, and a pool of `blocking_threads` for blocking calls
/// (0: four times the workers), so a blocking call never holds up a timer. Created eagerly;
/// threads start at once.
///
/// A worker that runs out of work stays awake for `spin` (unset: `PYASYNC_SPIN_US` microseconds,
/// default 100; zero: never) before it sleeps, one worker at a time, yielding its core meanwhile: waking a
/// sleeping thread costs tens of microseconds on a virtual machine, more than most jobs, and a
/// request/response exchange with the loop would pay it on every hop.
class PYASYNC_API asio_runtime final : public runtime {
public:
    /// Starts the engine's threads at once (see the class comment for `threads`, `blocking_threads` and `spin`). Throws what starting a thread throws.
    explicit asio_runtime(std::size_t threads = 0, std::size_t blocking_threads = 0,
                          std::optional<std::chrono::microseconds> spin = std::nullopt);
    ~asio_runtime() override;
    asio_runtime(const asio_runtime &) = delete;
    asio_runtime &operator=(const asio_runtime &) = delete;

    void spawn(job work) override;
    void spawn_blocking(job work) override;
    std::shared_ptr<timer_handle> schedule_after(std::chrono::nanoseconds delay,
                                                 std::function<void(bool fired)> on_expiry) override;
    void shutdown() noexcept override;

    /// The workers' executor, for Asio interop (`asio::co_spawn`, sockets, timers of your own).
    [[nodiscard]] asio::any_io_executor executor() { return context_.get_executor(); }
    /// How many workers run the `io_context`.
    [[nodiscard]] std::size_t threads() const noexcept { return threads_; }
    /// How long an idle worker stays awake before it sleeps.
    [[nodiscard]] std::chrono::microseconds spin() const noexcept { return spin_; }

private:
    void serve() noexcept;
    /// Keeps polling for up to `spin_` while nothing is ready; true once it ran a handler.
    bool spin_for_work();

    std::size_t threads_;
    std::chrono::microseconds spin_;
    asio::io_context context_;
    asio::executor_work_guard<asio::io_context::executor_type> keep_running_;
    std::vector<std::thread> workers_;
    asio::thread_pool blocking_;
    std::atomic<std::size_t> queued_{0};    ///< spawned jobs not yet started: the spinner's hint
    std::atomic<bool> spinner_busy_{false}; ///< one worker spins at a time
    std::atomic<bool> stopped_{false};
};

/// The executor of the default runtime's workers, for `asio::co_spawn` and I/O objects. Any
/// thread. Throws `std::logic_error` naming the fix when the default runtime is not an
/// `asio_runtime` (a user-written runtime was installed with `set_default_runtime`).
PYASYNC_API asio::any_io_executor asio_executor();

} // namespace pyasync
