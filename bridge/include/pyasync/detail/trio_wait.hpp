#pragma once
/// \file
/// The opaque handle by which awaiters with an asyncio mechanism (loop_sleep's timer, gather's
/// Tasks) hold what replaces it under trio (internal; defined in the bridge, trio_host.hpp).
/// Opaque so that no awaiter's header instantiates the delegation code, and the fast paths of
/// the awaiters inlined into user code stay as they were.

#include <pyasync/config.hpp>

#include <memory>

namespace pyasync::detail {

struct trio_wait;

struct trio_wait_deleter {
    PYASYNC_API void operator()(trio_wait *wait) const noexcept;
};

/// Empty except while the awaiter waits under trio. GIL held to reset it.
using trio_wait_pointer = std::unique_ptr<trio_wait, trio_wait_deleter>;

} // namespace pyasync::detail
