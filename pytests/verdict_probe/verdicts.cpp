// A harness binary whose cases fail on purpose, in every way a case can fail, each followed by
// a sentinel that passes: test_harness_verdicts.py checks that each failure is reported as one
// in every output and that no failure aborts the run (a missing sentinel would show it).
// Suites named Fails* must fail; suites named Sentinel* must pass.
#include <pyasync/fixtures/python_module.hpp>
#include <pyasync/pyasync.hpp>
#include <pyasync/test.hpp>

#include <stdexcept>
#include <string>

namespace py = pybind11;

namespace {

py::module_ helpers() {
    return pyasync::fixtures::module_from_source("verdict_helpers", R"(
class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError('__str__ fails too')
    def __repr__(self):
        raise RuntimeError('__repr__ fails too')

def raise_with_traceback():
    raise KeyError('missing key')

def raise_unprintable():
    raise Unprintable()

def raise_surrogate():
    raise ValueError('lone \udc80 surrogate')

def raise_system_exit():
    raise SystemExit(0)

def raise_keyboard_interrupt():
    raise KeyboardInterrupt()

def raise_memory_error():
    raise MemoryError('the probe asked for too much')

async def recurse_forever(depth=0):
    return await recurse_forever(depth + 1)

async def araise(kind):
    import asyncio
    await asyncio.sleep(0)
    globals()['raise_' + kind]()
)");
}

/// A Python error set from C, with no Python frame, so it has no traceback.
[[noreturn]] void throw_python_error_without_traceback() {
    PyErr_SetString(PyExc_ValueError, "set from C, no traceback");
    throw py::error_already_set();
}

struct not_a_std_exception {
    int code = 7;
};

struct fails_in_set_up {
    void set_up() { throw std::runtime_error("set-up refused"); }
};
struct fails_in_async_set_up {
    pyasync::task<> set_up() {
        co_await pyasync::sleep(0);
        throw_python_error_without_traceback();
    }
};
struct fails_in_tear_down {
    void tear_down() { throw std::logic_error("tear-down broke"); }
};
struct fails_in_async_tear_down {
    pyasync::task<> tear_down() {
        co_await pyasync::sleep(0);
        (void)py::module_::import("no_such_module_for_the_verdict_probe");
    }
};

struct fails_in_suite_set_up {
    static pyasync::task<> set_up_suite() {
        co_await pyasync::sleep(0);
        throw std::runtime_error("the suite's server did not start");
    }
};

} // namespace

#define PYASYNC_SENTINEL(n)                                                                                            \
    PYASYNC_TEST(Sentinel, after_##n) {}

// Python errors without a traceback: set from C, a failed .attr() (the accessor is lazy: the
// assignment looks it up), a failed import.
PYASYNC_TEST(Fails, sync_python_error_without_traceback) {
    throw_python_error_without_traceback();
}
PYASYNC_SENTINEL(1)
PYASYNC_TEST(Fails, async_python_error_without_traceback_before_suspending)->pyasync::task<> {
    throw_python_error_without_traceback();
    co_return;
}
PYASYNC_SENTINEL(2)
PYASYNC_TEST(Fails, async_python_error_without_traceback_after_suspending)->pyasync::task<> {
    co_await pyasync::sleep(0);
    throw_python_error_without_traceback();
}
PYASYNC_SENTINEL(3)
PYASYNC_TEST(Fails, sync_failed_attr) {
    py::object missing = py::module_::import("sys").attr("no_such_attribute");
}
PYASYNC_SENTINEL(4)
PYASYNC_TEST(Fails, async_failed_attr)->pyasync::task<> {
    co_await pyasync::sleep(0);
    py::object missing = py::module_::import("sys").attr("no_such_attribute");
}
PYASYNC_SENTINEL(5)
PYASYNC_TEST(Fails, sync_failed_import) {
    (void)py::module_::import("no_such_module_for_the_verdict_probe");
}
PYASYNC_SENTINEL(6)
PYASYNC_TEST(Fails, async_failed_import)->pyasync::task<> {
    (void)py::module_::import("no_such_module_for_the_verdict_probe");
    co_return;
}
PYASYNC_SENTINEL(7)

// Python errors with a traceback, raised in Python and awaited or called from C++.
PYASYNC_TEST(Fails, sync_python_error_with_traceback) {
    helpers().attr("raise_with_traceback")();
}
PYASYNC_SENTINEL(8)
PYASYNC_TEST(Fails, async_python_error_with_traceback)->pyasync::task<> {
    co_await helpers().attr("araise")("with_traceback");
}
PYASYNC_SENTINEL(9)
// Exceptions that resist formatting: __str__ and __repr__ raise; a lone surrogate.
PYASYNC_TEST(Fails, sync_unprintable_python_error) {
    helpers().attr("raise_unprintable")();
}
PYASYNC_SENTINEL(10)
PYASYNC_TEST(Fails, async_unprintable_python_error)->pyasync::task<> {
    co_await helpers().attr("araise")("unprintable");
}
PYASYNC_SENTINEL(11)
PYASYNC_TEST(Fails, sync_python_error_with_a_lone_surrogate) {
    helpers().attr("raise_surrogate")();
}
PYASYNC_SENTINEL(12)
// BaseExceptions a user's code raises: a case failure, never the end of the run.
PYASYNC_TEST(Fails, sync_system_exit) {
    helpers().attr("raise_system_exit")();
}
PYASYNC_SENTINEL(13)
PYASYNC_TEST(Fails, async_system_exit)->pyasync::task<> {
    co_await helpers().attr("araise")("system_exit");
}
PYASYNC_SENTINEL(14)
PYASYNC_TEST(Fails, sync_keyboard_interrupt_raised_by_code) {
    helpers().attr("raise_keyboard_interrupt")();
}
PYASYNC_SENTINEL(15)
PYASYNC_TEST(Fails, async_keyboard_interrupt_raised_by_code)->pyasync::task<> {
    co_await helpers().attr("araise")("keyboard_interrupt");
}
PYASYNC_SENTINEL(16)

// pybind11's cast_error, std:: exceptions, and throws of things that are not exceptions.
PYASYNC_TEST(Fails, sync_cast_error) {
    (void)py::str("text").cast<int>();
}
PYASYNC_SENTINEL(17)
PYASYNC_TEST(Fails, async_cast_error)->pyasync::task<> {
    co_await pyasync::sleep(0);
    (void)py::str("text").cast<int>();
}
PYASYNC_SENTINEL(18)
PYASYNC_TEST(Fails, sync_std_exception) {
    throw std::out_of_range("index 7 past the end");
}
PYASYNC_SENTINEL(19)
PYASYNC_TEST(Fails, async_std_exception_before_suspending)->pyasync::task<> {
    throw std::runtime_error("before any await");
    co_return;
}
PYASYNC_SENTINEL(20)
PYASYNC_TEST(Fails, async_std_exception_after_suspending)->pyasync::task<> {
    co_await pyasync::sleep(0);
    throw std::runtime_error("after an await");
}
PYASYNC_SENTINEL(21)
PYASYNC_TEST(Fails, sync_throws_an_int) {
    throw 42;
}
PYASYNC_SENTINEL(22)
PYASYNC_TEST(Fails, async_throws_a_struct)->pyasync::task<> {
    co_await pyasync::sleep(0);
    throw not_a_std_exception{};
}
PYASYNC_SENTINEL(23)

// Failed checks, fatal and not, before and after a suspension.
PYASYNC_TEST(Fails, sync_check) {
    PYASYNC_CHECK(1 + 1 == 3);
}
PYASYNC_SENTINEL(24)
PYASYNC_TEST(Fails, async_require_after_suspending)->pyasync::task<> {
    co_await pyasync::sleep(0);
    PYASYNC_REQUIRE(false);
}
PYASYNC_SENTINEL(25)
PYASYNC_TEST(Fails, async_check_gets_a_python_error_for_another)->pyasync::task<> {
    co_await pyasync::sleep(0);
    PYASYNC_CHECK_THROWS_AS(throw_python_error_without_traceback(), std::out_of_range);
}
PYASYNC_SENTINEL(26)

// Fixtures: set-up and tear-down failing, sync and async.
// Python's own limits: a RecursionError raised deep in a chain of Python coroutines the case
// awaits (its traceback is a thousand frames long) and a MemoryError.
PYASYNC_TEST(Fails, async_recursion_error_deep_in_python)->pyasync::task<> {
    co_await helpers().attr("recurse_forever")();
}
PYASYNC_SENTINEL(32)
PYASYNC_TEST(Fails, async_memory_error)->pyasync::task<> {
    co_await helpers().attr("araise")("memory_error");
}
PYASYNC_SENTINEL(33)

PYASYNC_TEST_F(fails_in_set_up, FailsSetUp) {}
PYASYNC_SENTINEL(27)
PYASYNC_TEST_F(fails_in_async_set_up, FailsAsyncSetUp)->pyasync::task<> {
    co_return;
}
PYASYNC_SENTINEL(28)
PYASYNC_TEST_F(fails_in_tear_down, FailsTearDown) {}
PYASYNC_SENTINEL(29)
PYASYNC_TEST_F(fails_in_async_tear_down, FailsAsyncTearDown)->pyasync::task<> {
    co_return;
}
PYASYNC_SENTINEL(30)
PYASYNC_TEST_F(fails_in_suite_set_up, FailsSuiteSetUp) {}
PYASYNC_SENTINEL(31)
