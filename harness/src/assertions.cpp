// Assertions: failures go to the case that runs in the current asyncio context.
#include "case_result.hpp"

#include <pyasync/testing/assertions.hpp>

#include <cstdio>
#include <cstdlib>
#include <typeinfo>

namespace pyasync::testing::detail {
namespace {

PyObject *case_var = nullptr; // owned for the life of the interpreter

/// The id of the running case: the context variable when this thread holds the GIL (so
/// concurrent async cases each see their own), else the case on the main thread; -1 for none.
int current_case_id(const result_table &table) {
    int id = table.sync_case;
    if (case_var != nullptr && Py_IsInitialized() && PyGILState_Check()) {
        PyObject *value = nullptr;
        if (PyContextVar_Get(case_var, nullptr, &value) == 0 && value != nullptr) {
            id = static_cast<int>(PyLong_AsLong(value));
            Py_DECREF(value);
        }
        PyErr_Clear();
    }
    return id;
}

/// The live row of the running case, or nullptr.
case_result *current_case(result_table &table) {
    return table.find(current_case_id(table));
}

std::string location(const char *file, int line) {
    return std::string(file) + ":" + std::to_string(line);
}

} // namespace

void install_case_variable() {
    if (case_var == nullptr) {
        case_var = PyContextVar_New("pyasync_test_case", nullptr);
        if (case_var == nullptr) {
            throw py::error_already_set();
        }
    }
}

py::handle case_variable() {
    return case_var;
}

void report_failure(const char *file, int line, const std::string &message) {
    auto &table = results();
    std::lock_guard lock(table.mutex);
    std::string text = location(file, line) + ": Failure\n" + message;
    const int id = current_case_id(table);
    case_result *result = table.find(id);
    if (result == nullptr || result->finished) {
        // A serving child may have retired the row already: its name is remembered.
        table.add_late_failure(table.case_name(id), std::move(text));
        return;
    }
    result->fail(std::move(text));
}

void report_fatal_failure(const char *file, int line, const std::string &message) {
    report_failure(file, line, message);
    {
        auto &table = results();
        std::lock_guard lock(table.mutex);
        if (case_result *result = current_case(table)) {
            result->fatal_raised = true;
        }
    }
    throw fatal_failure{};
}

void skip_now(std::string reason) {
    {
        auto &table = results();
        std::lock_guard lock(table.mutex);
        if (case_result *result = current_case(table)) {
            result->skip_raised = true;
            result->skip_reason = reason;
        }
    }
    throw skip_case{std::move(reason)};
}

namespace {

/// What `error` says without Python: its type and message as pybind11 recorded them.
std::string recorded_text(const py::error_already_set &error) noexcept {
    try {
        return error.what();
    } catch (...) {
        return "(a Python exception whose description failed)";
    }
}

} // namespace

std::string python_traceback(const py::error_already_set &error) noexcept {
    try {
        if (!Py_IsInitialized() || !PyGILState_Check()) {
            return recorded_text(error);
        }
        // An error set from C++ (a failed .attr() or import) has no traceback: pass None, since
        // a null handle cannot be an argument.
        auto or_none = [](py::handle object) {
            return object ? py::reinterpret_borrow<py::object>(object) : py::none();
        };
        py::object lines =
            py::module_::import("traceback")
                .attr("format_exception")(or_none(error.type()), or_none(error.value()), or_none(error.trace()));
        // backslashreplace: a message with a lone surrogate still reads.
        return py::str("").attr("join")(lines).attr("encode")("utf-8", "backslashreplace").cast<std::string>();
    } catch (...) { // formatting failed: fall back to what needs no Python
    }
    return recorded_text(error);
}

std::string describe_current_exception() noexcept {
    try {
        try {
            throw;
        } catch (const py::error_already_set &python) {
            return "Python exception:\n" + python_traceback(python);
        } catch (const cancelled_error &cancelled) {
            return std::string("pyasync::cancelled_error: ") + cancelled.what();
        } catch (const std::exception &error) {
            return pyasync::detail::demangle(typeid(error).name()) + ": " + error.what();
        } catch (...) {
            const std::type_info *type = abi::__cxa_current_exception_type();
            return (type != nullptr ? pyasync::detail::demangle(type->name()) : std::string("unknown type")) +
                   " (not a std::exception)";
        }
    } catch (...) {
        return "an exception that could not be described (describing it threw again)";
    }
}

std::string current_exception_message() noexcept {
    try {
        try {
            throw;
        } catch (const py::error_already_set &python) {
            if (Py_IsInitialized() && PyGILState_Check()) {
                return py::str(python.value()).cast<std::string>();
            }
            return recorded_text(python);
        } catch (const cancelled_error &cancelled) {
            return cancelled.what();
        } catch (const std::exception &error) {
            return error.what();
        } catch (...) {
            return {};
        }
    } catch (...) { // formatting failed: fall back to what needs no Python
    }
    return "(the message could not be read)";
}

std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default: out += c;
        }
    }
    return out + "\"";
}

std::string python_repr(py::handle object) {
    if (!object) {
        return "NULL";
    }
    if (!Py_IsInitialized() || !PyGILState_Check()) {
        return "<Python object>";
    }
    try {
        return py::repr(object).cast<std::string>();
    } catch (...) { // a failing __repr__, or text that is not UTF-8 (a lone surrogate)
        return "<repr failed>";
    }
}

namespace {
void report(bool fatal, const char *file, int line, const std::string &message) {
    if (fatal) {
        report_fatal_failure(file, line, message);
    }
    report_failure(file, line, message);
}
} // namespace

void report_assertion(bool fatal, const char *file, int line, const char *macro, const char *expression,
                      const std::string &expansion) {
    std::string message = std::string("  ") + macro + "(" + expression + ")\n";
    if (expansion != expression) {
        message += "  with expansion: " + expansion;
    }
    report(fatal, file, line, message);
}

void report_unexpected_exception(bool fatal, const char *file, int line, const char *macro, const char *expression) {
    report(fatal, file, line,
           std::string("  ") + macro + "(" + expression + ")\n  threw " + describe_current_exception());
}

void report_no_exception(bool fatal, const char *file, int line, const char *macro, const char *expression,
                         const char *expected) {
    report(fatal, file, line,
           std::string("  ") + macro + "(" + expression + ")\n  expected " + expected + ", nothing was thrown");
}

void report_wrong_exception(bool fatal, const char *file, int line, const char *macro, const char *expression,
                            const char *expected) {
    report(fatal, file, line,
           std::string("  ") + macro + "(" + expression + ")\n  expected " + expected + ", got " +
               describe_current_exception());
}

void report_wrong_message(bool fatal, const char *file, int line, const char *macro, const char *expression,
                          std::string_view expected, const std::string &actual) {
    report(fatal, file, line,
           std::string("  ") + macro + "(" + expression + ")\n  expected a message containing " + quoted(expected) +
               ", got " + quoted(actual));
}

} // namespace pyasync::testing::detail
