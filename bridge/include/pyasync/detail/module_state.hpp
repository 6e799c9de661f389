#pragma once
/// \file
/// Python objects pyasync looks up once per process (internal). GIL held for every call.

#include <pyasync/config.hpp>

namespace pyasync {
namespace detail {

struct module_state {
    PyObject *cancelled_error;             ///< asyncio.CancelledError
    PyObject *get_running_loop;            ///< asyncio.get_running_loop (the C function)
    PyObject *running_loop_or_none;        ///< asyncio.events._get_running_loop (None, not an error)
    PyObject *set_result_unless_cancelled; ///< asyncio.futures._set_result_unless_cancelled
    PyObject *is_coroutine_marker;         ///< asyncio.coroutines._is_coroutine
    PyObject *cpp_error;                   ///< pyasync.CppError
    // interned attribute names
    PyObject *str_create_future, *str_future_blocking, *str_done, *str_throw, *str_close, *str_add_note,
        *str_call_later, *str_cancel, *str_create_task, *str_set_result;
};

/// The state, created on first use (imports asyncio). Throws `py::error_already_set` if that fails.
PYASYNC_API const module_state &state();

} // namespace detail
} // namespace pyasync
