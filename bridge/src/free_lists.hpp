#pragma once
// Internal: whether pyasync keeps freed coroutine objects and frames for reuse
// (object_free_list.hpp, frame_allocator.cpp). Under AddressSanitizer it does not, so a use after
// free stays a reported error instead of touching a recycled block.

#if defined(__SANITIZE_ADDRESS__)
#    define PYASYNC_FREE_LISTS 0
#elif defined(__has_feature)
#    if __has_feature(address_sanitizer)
#        define PYASYNC_FREE_LISTS 0
#    endif
#endif
#ifndef PYASYNC_FREE_LISTS
#    define PYASYNC_FREE_LISTS 1
#endif
