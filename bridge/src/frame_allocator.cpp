// Per-thread lists of freed coroutine frames, by size class (see frame_allocator.hpp).
#include <pyasync/detail/frame_allocator.hpp>

#include "free_lists.hpp"

#include <new>
#include <utility>

namespace pyasync::detail {
namespace {

/// A class keeps at most `depth` blocks, so a thread holds at most 8 × (64 + 128 + … + 1024)
/// bytes ≈ 68 KiB, and usually one or two blocks.
constexpr unsigned depth = 8;

struct free_block {
    free_block *next;
};

/// Trivially constructed and destroyed, so reaching it costs one TLS lookup and no guard; the
/// blocks it holds are freed by `cache_reaper` when the thread exits.
///
/// `room` is how many more blocks a class may keep. It starts at 0, so a thread's first free of
/// each class takes the slow path (`keep_or_delete`), which registers the reaper and opens the
/// class; the reaper closes every class again. The fast paths test nothing else.
struct frame_cache {
    free_block *heads[frame_classes];
    unsigned char room[frame_classes];
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
        for (std::size_t size_class = 0; size_class < frame_classes; ++size_class) {
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

void push(frame_cache &local, void *frame, std::size_t size_class) noexcept {
    local.heads[size_class] = new (frame) free_block{local.heads[size_class]};
    --local.room[size_class];
}

/// The slow path of `free_frame`: the class is full, or not opened yet in this thread. Out of
/// line, so the fast path saves no registers (8 of the ~930 instructions of `await ready(x)`).
[[gnu::noinline]] void keep_or_delete(void *frame, std::size_t size_class) noexcept {
    frame_cache &local = cache;
    if (local.exited || local.heads[size_class] != nullptr) {
        ::operator delete(frame); // the thread is exiting, or the class is open and full
        return;
    }
    if (!local.reaper_registered) {
        local.reaper_registered = true;
        [[maybe_unused]] const cache_reaper *registered = &reaper; // first use: its destructor is registered
    }
    local.room[size_class] = depth;
    push(local, frame, size_class);
}

} // namespace

void *allocate_frame_of_class(std::size_t size_class) {
    if (PYASYNC_FREE_LISTS) {
        if (void *frame = take(cache, size_class)) {
            return frame;
        }
    }
    return ::operator new((size_class + 1) * frame_granule);
}

void free_frame_of_class(void *frame, std::size_t size_class) noexcept {
    if (!PYASYNC_FREE_LISTS) {
        ::operator delete(frame);
        return;
    }
    // One lookup of the thread's cache: left to itself, GCC calls the TLS descriptor twice here
    // (once for the test, once for the push); the empty asm makes it compute the address once.
    frame_cache *local = &cache;
    asm("" : "+r"(local));
    if (local->room[size_class] == 0) {
        keep_or_delete(frame, size_class);
        return;
    }
    push(*local, frame, size_class);
}

} // namespace pyasync::detail
