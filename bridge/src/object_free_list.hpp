#pragma once
// Internal: finished Python objects of one static GC type, kept for reuse instead of freed.
//
// `await ready(x)` creates and destroys one coroutine object per await. PyObject_GC_New and
// PyObject_GC_Del (pymalloc, the GC's allocation count, and the collections that count
// triggers) were a sixth of its cost; CPython keeps free lists for its own tuples and frames
// for the same reason. GIL held for every call: the list is per process, like the interpreter
// pyasync serves (see module_state.hpp on re-initialising one).
//
// Only objects that are untracked and were never finalised may be given back: CPython keeps a
// "finalised" bit in the GC header that PyObject_Init does not clear, so a recycled object
// whose finaliser had run would never be finalised again.
//
// Under AddressSanitizer the list is bypassed (free_lists.hpp).

#include "free_lists.hpp"

#include <Python.h>

#include <cstddef>

namespace pyasync::detail {

template <typename Object, std::size_t Capacity>
class object_free_list {
public:
    /// A kept object (its type is `type`, readied), with refcount 1 and its own fields as they
    /// were given back; nullptr when the list is empty, with no error set.
    Object *take_recycled([[maybe_unused]] PyTypeObject *type) noexcept {
        if (!PYASYNC_FREE_LISTS || count_ == 0) {
            return nullptr;
        }
        Object *self = slots_[--count_];
#if defined(Py_REF_DEBUG) || defined(Py_TRACE_REFS)
        PyObject_Init(reinterpret_cast<PyObject *>(self), type); // the debug build's reference books
#else
        // The type is static and already set; a release build's PyObject_Init adds only
        // tracemalloc's note that the block was reused (it keeps the first allocation's).
        Py_SET_REFCNT(reinterpret_cast<PyObject *>(self), 1);
#endif
        return self;
    }

    /// Releases `self` (untracked, never finalised, its fields as the owner keeps them in the list,
    /// holding nothing to release): kept when there is room, else freed.
    void give(Object *self) noexcept {
        if (PYASYNC_FREE_LISTS && count_ < Capacity) {
            slots_[count_++] = self;
            return;
        }
        PyObject_GC_Del(self);
    }

private:
    Object *slots_[Capacity] = {};
    std::size_t count_ = 0;
};

} // namespace pyasync::detail
