#pragma once
// Internal: counts one step of driving a coroutine against Python's recursion limit.

#include <Python.h>

namespace pyasync::detail {

/// A chain of coroutines awaiting each other recurses on the C stack once per link, on every
/// send, throw and close, as Python's own coroutines do. Counting each step against the
/// recursion limit makes a chain too deep for the stack raise RecursionError, as CPython does,
/// instead of overflowing it.
class recursion_guard {
public:
    recursion_guard() noexcept : entered_(Py_EnterRecursiveCall(" while driving a C++ coroutine") == 0) {}
    ~recursion_guard() {
        if (entered_) {
            Py_LeaveRecursiveCall();
        }
    }
    recursion_guard(const recursion_guard &) = delete;
    recursion_guard &operator=(const recursion_guard &) = delete;
    /// False when the limit was reached (RecursionError is set).
    explicit operator bool() const noexcept { return entered_; }

private:
    bool entered_;
};

} // namespace pyasync::detail
