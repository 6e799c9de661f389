// Per-thread lists of freed coroutine frames, by size class (see frame_allocator.hpp).
#include <pyasync/detail/frame_allocator.hpp>

#include "free_lists.hpp"

#include <new>
#include <utility>

namespace pyasync::detail {
namespace {

/// Frames up to 1 KiB, in classes of 64 bytes. A class keeps at most `depth` blocks, so a thread
/// holds at most 8 × (64 + 128 + … + 1024) bytes ≈ 68 KiB, and usually one or two blocks.
constexpr std::size_t granule = 64;
constexpr std::size_t classes = 16;
constexpr unsigned depth = 8;

struct free_block {
    free_block *next;
};

/// Trivially constructed and destroyed, so reaching it costs one TLS lookup and no guard; the
/// blocks it holds are freed by `cache_reaper` when the thread exits.
///
/// `room` is how many more blocks a class may keep. It starts at 0, so a thread's first free of
/// each class takes the slow path (`open_class`), which registers the reaper and opens the
/// class; the reaper closes every class again. The fast paths test nothing else.
struct frame_cache {
    free_block *heads[classes];
    unsigned char room[classes];
    bool reaper_registered;
    bool exited; // set by the reaper: a frame freed later in this thread's exit goes to the heap
};

constinit thread_local frame_cache cache{};

struct cache_reaper {
    cache_reaper() = default;
    cache_reaper(const cache_reaper &) = delete;
    cache_reaper &operator=(const cache_reaper &) = delete;
    ~cache_reaper() {
        cache.exited = true;
        for (std::size_t size_class = 0; size_class < classes; ++size_class) {
            cache.room[size_class] = 0;
            free_block *&head = cache.heads[size_class];
            while (head != nullptr) {
                ::operator delete(std::exchange(head, head->next));
            }
        }
    }
};

thread_local cache_reaper reaper;

void *take(frame_cache &local, std::size_t size_class) noexcept {
    free_block *block = local.heads[size_class];
    if (block == nullptr) {
        return nullptr;
    }
    local.heads[size_class] = block->next;
    ++local.room[size_class];
    return block;
}

/// The slow path of `keep`: the class is full, or not opened yet in this thread. Returns
/// whether it has room now.
[[gnu::noinline]] bool open_class(frame_cache &local, std::size_t size_class) noexcept {
    if (local.exited || local.heads[size_class] != nullptr) {
        return false; // the thread is exiting, or the class is open and full
    }
    if (!local.reaper_registered) {
        local.reaper_registered = true;
        [[maybe_unused]] const cache_reaper *registered = &reaper; // first use: its destructor is registered
    }
    local.room[size_class] = depth;
    return true;
}

bool keep(frame_cache &local, void *frame, std::size_t size_class) noexcept {
    if (local.room[size_class] == 0 && !open_class(local, size_class)) {
        return false;
    }
    local.heads[size_class] = new (frame) free_block{local.heads[size_class]};
    --local.room[size_class];
    return true;
}

std::size_t size_class_of(std::size_t size) noexcept {
    return (size - 1) / granule; // size > 0: a frame holds at least its resume pointers
}

} // namespace

void *allocate_frame(std::size_t size) {
    const std::size_t size_class = size_class_of(size);
    if (PYASYNC_FREE_LISTS && size_class < classes) {
        if (void *frame = take(cache, size_class)) {
            return frame;
        }
        return ::operator new((size_class + 1) * granule);
    }
    return ::operator new(size);
}

void free_frame(void *frame, std::size_t size) noexcept {
    const std::size_t size_class = size_class_of(size);
    if (PYASYNC_FREE_LISTS && size_class < classes && keep(cache, frame, size_class)) {
        return;
    }
    ::operator delete(frame);
}

} // namespace pyasync::detail
