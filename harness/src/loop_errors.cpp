// The loop's exception handler: an error it receives fails the case it belongs to.
#include "loop_errors.hpp"

#include "case_hygiene.hpp"
#include "case_result.hpp"

#include <cstdio>

namespace pyasync::testing::detail {
namespace {

/// The value of the case variable in `context` (a contextvars.Context), or -1.
int case_in_context(py::handle context) {
    if (!context || context.is_none() || !PyContext_CheckExact(context.ptr())) {
        return -1;
    }
    py::object found =
        py::reinterpret_steal<py::object>(PyObject_CallMethod(context.ptr(), "get", "O", case_variable().ptr()));
    if (!found) {
        PyErr_Clear();
        return -1;
    }
    return found.is_none() ? -1 : found.cast<int>();
}

/// Which case an error the handler received belongs to: the context of the callback (a
/// Handle's), of the Task or Future it names (3.12's get_context()), the current one, else the
/// only case still running; -1 when none can be told.
int case_of(const py::dict &details, const result_table &table) {
    if (details.contains("handle")) {
        if (int id = case_in_context(py::getattr(details["handle"], "_context", py::none())); id >= 0) {
            return id;
        }
    }
    for (const char *key : {"task", "future"}) {
        if (details.contains(key) && py::hasattr(details[key], "get_context")) {
            if (int id = case_in_context(details[key].attr("get_context")()); id >= 0) {
                return id;
            }
        }
    }
    PyObject *value = nullptr;
    if (PyContextVar_Get(case_variable().ptr(), nullptr, &value) == 0 && value != nullptr) {
        const int id = static_cast<int>(PyLong_AsLong(value));
        Py_DECREF(value);
        return id;
    }
    PyErr_Clear();
    int running = -1;
    bool several = false;
    table.for_each_row([&](const case_result &result) {
        if (!result.finished) {
            several = several || running >= 0;
            running = result.id;
        }
    });
    return several ? -1 : running; // several running: none can be blamed
}

/// The handler's text of what it received: the message, then the exception's traceback.
std::string describe(const py::dict &details) {
    std::string text =
        "the event loop's exception handler received an error during the case: " +
        py::str(details.contains("message") ? details["message"] : py::str("(no message)")).cast<std::string>();
    if (details.contains("exception")) {
        py::object lines = py::module_::import("traceback").attr("format_exception")(details["exception"]);
        text += "\n" + py::str("").attr("join")(lines).cast<std::string>();
    }
    return text;
}

void handle_loop_error(const py::object &loop, const py::dict &details) {
    auto &table = results();
    const std::string text = describe(details);
    std::lock_guard lock(table.mutex);
    const int id = case_of(details, table);
    case_result *result = table.find(id);
    // A serving child retires a row once its verdict is sent: a retired case is a finished one.
    const std::string ended = table.case_name(id);
    if (result == nullptr && ended.empty()) {
        loop.attr("default_exception_handler")(details); // outside any case: asyncio logs it
        return;
    }
    if (result == nullptr || result->finished) {
        table.add_late_failure(ended, text);
        return;
    }
    result->fail(failure_location(*result) + text);
}

/// The harness's handler, made once (kept for the session: loops outlive no interpreter).
py::handle harness_handler() {
    static py::object *made = new py::object(py::cpp_function(&handle_loop_error));
    return *made;
}

/// The handler the session installed last (the harness's, or a front end's own): what a case's
/// replacement is undone to. Kept, as above.
py::object *session_handler = nullptr;

} // namespace

void install_loop_error_handler(py::handle loop, py::handle handler) {
    const py::handle chosen = handler ? handler : harness_handler();
    if (session_handler == nullptr) {
        session_handler = new py::object();
    }
    *session_handler = py::reinterpret_borrow<py::object>(chosen);
    loop.attr("set_exception_handler")(chosen);
}

void restore_loop_error_handler(py::handle loop) {
    if (session_handler == nullptr || !*session_handler) {
        return; // no session handler was installed on this loop (trio has none)
    }
    py::object current = loop.attr("get_exception_handler")();
    if (current.ptr() != session_handler->ptr()) {
        loop.attr("set_exception_handler")(*session_handler);
    }
}

} // namespace pyasync::testing::detail
