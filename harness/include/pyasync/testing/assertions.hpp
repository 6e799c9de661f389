#pragma once
/// \file
/// Assertions for sync and async cases: `PYASYNC_CHECK` (records a failure, the case goes on),
/// `PYASYNC_REQUIRE` (records it and ends the case), the `..._THROWS...` family, `PYASYNC_FAIL`,
/// `PYASYNC_ADD_FAILURE` and `PYASYNC_SKIP`.
///
/// None of them uses `return`, so they work inside coroutines: a fatal assertion throws
/// `pyasync::testing::fatal_failure`, which, like `cancelled_error`, deliberately does not
/// derive from `std::exception` so that a `catch (const std::exception &)` in the code under
/// test cannot swallow it. A failing comparison prints the expression and both values:
///
///     PYASYNC_CHECK(co_await add(1, 2) == 4);
///     // pytests/suite/x.cpp:12: Failure
///     //   PYASYNC_CHECK(co_await add(1, 2) == 4)
///     //   with expansion: 3 == 4

#include <pyasync/errors.hpp>

#include <string>

namespace pyasync::testing {

/// Ends a case after a fatal assertion (already recorded). Not a `std::exception`.
struct fatal_failure {};

/// Ends a case as skipped (`PYASYNC_SKIP`). Not a `std::exception`.
struct skip_case {
    /// What PYASYNC_SKIP was given.
    std::string reason;
};

namespace detail {

/// Records a failure on the case running in the current asyncio context (or the running sync
/// case). Any thread; takes the GIL only if it is already held. Without a running case the
/// failure is printed to stderr.
void report_failure(const char *file, int line, const std::string &message);
/// Records a runtime skip on the running case, then throws `skip_case` (the record lets the
/// session recognise the skip even after it crossed Python as `pyasync.CppError`).
[[noreturn]] void skip_now(std::string reason);
/// `report_failure` then throws `fatal_failure`.
[[noreturn]] void report_fatal_failure(const char *file, int line, const std::string &message);
/// "<demangled type>: <what()>", or the Python traceback for a `python_error`. Inside a handler.
/// Never throws: a description that itself fails falls back to what needs no Python.
std::string describe_current_exception() noexcept;
/// The message of the exception being handled: `what()`, or `str(exception)` for Python ones.
/// Never throws.
std::string current_exception_message() noexcept;

} // namespace detail
} // namespace pyasync::testing

#include <pyasync/testing/detail/expression.hpp>

// `decomposer{} <= a == b` is parsed as intended, `(decomposer{} <= a) == b`: GCC's
// "suggest parentheses" warning does not apply.
#if defined(__GNUC__)
#    define PYASYNC_SUPPRESS_PARENTHESES_BEGIN_                                                                        \
        _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wparentheses\"")
#    define PYASYNC_SUPPRESS_PARENTHESES_END_ _Pragma("GCC diagnostic pop")
#else
#    define PYASYNC_SUPPRESS_PARENTHESES_BEGIN_
#    define PYASYNC_SUPPRESS_PARENTHESES_END_
#endif

#define PYASYNC_ASSERT_IMPL_(fatal, macro, ...)                                                                        \
    do {                                                                                                               \
        try {                                                                                                          \
            PYASYNC_SUPPRESS_PARENTHESES_BEGIN_                                                                        \
            const ::pyasync::testing::detail::assertion_result pyasync_result_ =                                       \
                ::pyasync::testing::detail::evaluate(::pyasync::testing::detail::decomposer{} <= __VA_ARGS__);         \
            PYASYNC_SUPPRESS_PARENTHESES_END_                                                                          \
            if (!pyasync_result_.passed) {                                                                             \
                ::pyasync::testing::detail::report_assertion(fatal, __FILE__, __LINE__, macro, #__VA_ARGS__,           \
                                                             pyasync_result_.expansion);                               \
            }                                                                                                          \
        } catch (const ::pyasync::testing::fatal_failure &) {                                                          \
            throw;                                                                                                     \
        } catch (const ::pyasync::testing::skip_case &) {                                                              \
            throw;                                                                                                     \
        } catch (const ::pyasync::cancelled_error &) {                                                                 \
            throw;                                                                                                     \
        } catch (...) {                                                                                                \
            ::pyasync::testing::detail::report_unexpected_exception(fatal, __FILE__, __LINE__, macro, #__VA_ARGS__);   \
        }                                                                                                              \
    } while (false)

/// Records a failure and continues when the expression is false (or throws).
#define PYASYNC_CHECK(...) PYASYNC_ASSERT_IMPL_(false, "PYASYNC_CHECK", __VA_ARGS__)
/// Records a failure and ends the case when the expression is false (or throws).
#define PYASYNC_REQUIRE(...) PYASYNC_ASSERT_IMPL_(true, "PYASYNC_REQUIRE", __VA_ARGS__)

#define PYASYNC_THROWS_IMPL_(fatal, macro, expression, exception_type, text)                                           \
    do {                                                                                                               \
        bool pyasync_caught_ = false;                                                                                  \
        try {                                                                                                          \
            static_cast<void>(expression);                                                                             \
        } catch (const ::pyasync::testing::fatal_failure &) {                                                          \
            throw;                                                                                                     \
        } catch (const exception_type &) {                                                                             \
            pyasync_caught_ = true;                                                                                    \
        } catch (...) {                                                                                                \
            pyasync_caught_ = true;                                                                                    \
            ::pyasync::testing::detail::report_wrong_exception(fatal, __FILE__, __LINE__, macro, #expression, text);   \
        }                                                                                                              \
        if (!pyasync_caught_) {                                                                                        \
            ::pyasync::testing::detail::report_no_exception(fatal, __FILE__, __LINE__, macro, #expression, text);      \
        }                                                                                                              \
    } while (false)

/// Checks that evaluating `expression` (it may `co_await`) throws an `exception_type`.
#define PYASYNC_CHECK_THROWS_AS(expression, exception_type)                                                            \
    PYASYNC_THROWS_IMPL_(false, "PYASYNC_CHECK_THROWS_AS", expression, exception_type, #exception_type)
/// The same, fatal: the case ends when it does not throw one.
#define PYASYNC_REQUIRE_THROWS_AS(expression, exception_type)                                                          \
    PYASYNC_THROWS_IMPL_(true, "PYASYNC_REQUIRE_THROWS_AS", expression, exception_type, #exception_type)
/// Checks that evaluating `expression` throws anything (a message check: `..._THROWS_WITH`).
#define PYASYNC_CHECK_THROWS(expression) PYASYNC_THROWS_WITH_IMPL_(false, "PYASYNC_CHECK_THROWS", expression, "")
/// The same, fatal.
#define PYASYNC_REQUIRE_THROWS(expression) PYASYNC_THROWS_WITH_IMPL_(true, "PYASYNC_REQUIRE_THROWS", expression, "")

#define PYASYNC_THROWS_WITH_IMPL_(fatal, macro, expression, substring)                                                 \
    do {                                                                                                               \
        bool pyasync_caught_ = false;                                                                                  \
        std::string pyasync_message_;                                                                                  \
        try {                                                                                                          \
            static_cast<void>(expression);                                                                             \
        } catch (const ::pyasync::testing::fatal_failure &) {                                                          \
            throw;                                                                                                     \
        } catch (...) {                                                                                                \
            pyasync_caught_ = true;                                                                                    \
            pyasync_message_ = ::pyasync::testing::detail::current_exception_message();                                \
        }                                                                                                              \
        if (!pyasync_caught_) {                                                                                        \
            ::pyasync::testing::detail::report_no_exception(fatal, __FILE__, __LINE__, macro, #expression,             \
                                                            "an exception");                                           \
        } else if (pyasync_message_.find(substring) == std::string::npos) {                                            \
            ::pyasync::testing::detail::report_wrong_message(fatal, __FILE__, __LINE__, macro, #expression, substring, \
                                                             pyasync_message_);                                        \
        }                                                                                                              \
    } while (false)

/// Checks that `expression` throws an exception whose message (`what()`, or `str()` of a Python
/// exception) contains `substring`.
#define PYASYNC_CHECK_THROWS_WITH(expression, substring)                                                               \
    PYASYNC_THROWS_WITH_IMPL_(false, "PYASYNC_CHECK_THROWS_WITH", expression, substring)
/// The same, fatal.
#define PYASYNC_REQUIRE_THROWS_WITH(expression, substring)                                                             \
    PYASYNC_THROWS_WITH_IMPL_(true, "PYASYNC_REQUIRE_THROWS_WITH", expression, substring)

/// Records a failure with `message` and continues.
#define PYASYNC_ADD_FAILURE(message) ::pyasync::testing::detail::report_failure(__FILE__, __LINE__, message)
/// Records a failure with `message` and ends the case.
#define PYASYNC_FAIL(message) ::pyasync::testing::detail::report_fatal_failure(__FILE__, __LINE__, message)
/// Ends the case as skipped, with `reason` (a runtime skip, like GTEST_SKIP or pytest.skip).
#define PYASYNC_SKIP(reason) ::pyasync::testing::detail::skip_now(reason)
