#pragma once
// Forced into every C++ translation unit that links pyasync (`-include`, see bridge/CMakeLists.txt),
// before anything else: one copy of Asio's per-thread scheduler state for the whole process.
//
// Why: Asio records which scheduler a thread is running in a thread-local template static
// (call_stack<thread_context, thread_info_base>::top_). A runtime thread runs the io_context's
// loop in libpyasync, but the completion handlers of a module's own sockets and timers in that
// module's copy of Asio. GCC marks such statics unique (STB_GNU_UNIQUE), so the dynamic linker
// merges the copies, but not under LTO, which turns them into plain globals: each module then
// read its own, empty copy, found no scheduler on a runtime thread, and Asio 1.22's
// scheduler::compensating_work_started() dereferenced null (a crash under load in release
// builds). Declared `extern template` here, the statics are defined once, in libpyasync
// (runtime.cpp), and every other binary refers to that definition.
//
// Left as it was: strands' call stacks (`running_in_this_thread()` of a strand shared between
// binaries may answer false, so a dispatch posts instead of running inline; it never crashes).
#ifdef __cplusplus
#    include <cstddef> // the standard library's configuration macros first, as Asio expects

#    include <asio/detail/thread_context.hpp>

namespace asio::detail {
extern template tss_ptr<thread_context::thread_call_stack::context> thread_context::thread_call_stack::top_;
#    if defined(ASIO_HAS_THREAD_KEYWORD_EXTENSION)
extern template thread_context::thread_call_stack::context
    *keyword_tss_ptr<thread_context::thread_call_stack::context>::value_;
#    endif
} // namespace asio::detail
#endif
