#pragma once
/// \file
/// `pyasync::asio_runtime`: the default engine of the runtime concept, on standalone Asio.

#include <pyasync/runtime.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/thread_pool.hpp>

#include <atomic>
#include <memory>

PYASYNC_NAMESPACE_BEGIN

/// Two Asio thread pools: `threads` workers for work and timers (0: `PYASYNC_THREADS`, else the
/// number of cores) and `blocking_threads` for blocking calls (0: four times the workers), so a
/// blocking call never holds up a timer. Created eagerly; threads start at once.
class asio_runtime final : public runtime {
public:
    explicit asio_runtime(std::size_t threads = 0, std::size_t blocking_threads = 0);
    ~asio_runtime() override;
    asio_runtime(const asio_runtime &) = delete;
    asio_runtime &operator=(const asio_runtime &) = delete;

    void spawn(job work) override;
    void spawn_blocking(job work) override;
    std::shared_ptr<timer_handle> schedule_after(std::chrono::nanoseconds delay,
                                                 std::function<void(bool fired)> on_expiry) override;
    void shutdown() noexcept override;

    /// The workers' executor, for Asio interop (`asio::co_spawn`, sockets, timers of your own).
    [[nodiscard]] asio::any_io_executor executor() { return workers_.get_executor(); }
    [[nodiscard]] std::size_t threads() const noexcept { return threads_; }

private:
    std::size_t threads_;
    asio::thread_pool workers_;
    asio::thread_pool blocking_;
    std::atomic<bool> stopped_{false};
};

/// The executor of the default runtime's workers, for `asio::co_spawn` and I/O objects. Any
/// thread. Throws `std::logic_error` naming the fix when the default runtime is not an
/// `asio_runtime` (a user-written runtime was installed with `set_default_runtime`).
asio::any_io_executor asio_executor();

PYASYNC_NAMESPACE_END
