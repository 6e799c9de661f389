#pragma once
// Internal: the expression machinery behind the assertion macros: `decomposer{} <= a == b`
// captures both operands of a comparison, `stringify` shows each operand (Python objects by
// repr, ranges element by element), and the `report_*` functions record the failure on the
// running case. Included by <pyasync/testing/assertions.hpp>; any thread (Python values are
// shown only when this thread holds the GIL).

#include <pyasync/errors.hpp>

#include <concepts>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace pyasync::testing::detail {

template <typename T>
concept streamable = requires(std::ostream &out, const T &value) {
    out << value;
};
template <typename T>
concept python_handle = std::derived_from<T, py::handle>;
template <typename T>
concept iterable = requires(const T &value) {
    std::begin(value);
    std::end(value);
};

std::string quoted(std::string_view text);
std::string python_repr(py::handle object);

/// How an operand is shown in a failed assertion.
template <typename T>
std::string stringify(const T &value) {
    if constexpr (std::is_same_v<T, bool>) {
        return value ? "true" : "false";
    } else if constexpr (std::is_same_v<T, std::nullptr_t>) {
        return "nullptr";
    } else if constexpr (std::is_convertible_v<const T &, std::string_view> && !std::is_same_v<T, std::nullptr_t>) {
        return quoted(std::string_view(value));
    } else if constexpr (python_handle<T>) {
        return python_repr(value);
    } else if constexpr (std::is_enum_v<T>) {
        return std::to_string(static_cast<std::underlying_type_t<T>>(value));
    } else if constexpr (std::is_same_v<T, char> || std::is_same_v<T, signed char> ||
                         std::is_same_v<T, unsigned char>) {
        return "'" + std::string(1, static_cast<char>(value)) + "' (" + std::to_string(static_cast<int>(value)) + ")";
    } else if constexpr (streamable<T>) {
        std::ostringstream out;
        out << value;
        return out.str();
    } else if constexpr (iterable<T>) {
        std::string text = "{ ";
        bool first = true;
        for (const auto &item : value) {
            text += (first ? "" : ", ") + stringify(item);
            first = false;
        }
        return text + (first ? "}" : " }");
    } else if constexpr (requires {
                             value.has_value();
                             *value;
                         }) {
        return value.has_value() ? stringify(*value) : std::string("nullopt");
    } else {
        return "{?}";
    }
}

struct assertion_result {
    bool passed;
    std::string expansion; ///< Filled only when the assertion failed.
};

#if defined(__GNUC__)
#    pragma GCC diagnostic push
#    pragma GCC diagnostic ignored "-Wsign-compare"
#    pragma GCC diagnostic ignored "-Wparentheses"
#endif

/// The left operand of a decomposed expression: `decomposer{} <= a == b` is `(… <= a) == b`.
template <typename L>
struct expression_lhs {
    const L &lhs;

    template <typename R>
    assertion_result compare(bool passed, const char *op, const R &rhs) const {
        return passed ? assertion_result{true, {}}
                      : assertion_result{false, stringify(lhs) + " " + op + " " + stringify(rhs)};
    }
    template <typename R>
    assertion_result operator==(const R &rhs) const {
        return compare(lhs == rhs, "==", rhs);
    }
    template <typename R>
    assertion_result operator!=(const R &rhs) const {
        return compare(lhs != rhs, "!=", rhs);
    }
    template <typename R>
    assertion_result operator<(const R &rhs) const {
        return compare(lhs < rhs, "<", rhs);
    }
    template <typename R>
    assertion_result operator<=(const R &rhs) const {
        return compare(lhs <= rhs, "<=", rhs);
    }
    template <typename R>
    assertion_result operator>(const R &rhs) const {
        return compare(lhs > rhs, ">", rhs);
    }
    template <typename R>
    assertion_result operator>=(const R &rhs) const {
        return compare(lhs >= rhs, ">=", rhs);
    }
    template <typename R>
    void operator&&(const R &) const = delete; // "wrap `a && b` in parentheses inside an assertion"
    template <typename R>
    void operator||(const R &) const = delete; // "wrap `a || b` in parentheses inside an assertion"

    /// A bare operand: `PYASYNC_CHECK(flag)`.
    operator assertion_result() const {
        const bool passed = static_cast<bool>(lhs);
        return passed ? assertion_result{true, {}} : assertion_result{false, stringify(lhs)};
    }
};

#if defined(__GNUC__)
#    pragma GCC diagnostic pop
#endif

struct decomposer {
    template <typename L>
    expression_lhs<L> operator<=(const L &lhs) const {
        return {lhs};
    }
};

inline assertion_result evaluate(assertion_result result) {
    return result;
}

void report_assertion(bool fatal, const char *file, int line, const char *macro, const char *expression,
                      const std::string &expansion);
void report_unexpected_exception(bool fatal, const char *file, int line, const char *macro, const char *expression);
void report_no_exception(bool fatal, const char *file, int line, const char *macro, const char *expression,
                         const char *expected);
void report_wrong_exception(bool fatal, const char *file, int line, const char *macro, const char *expression,
                            const char *expected);
void report_wrong_message(bool fatal, const char *file, int line, const char *macro, const char *expression,
                          std::string_view expected, const std::string &actual);

} // namespace pyasync::testing::detail
