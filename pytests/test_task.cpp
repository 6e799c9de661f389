// task<T> semantics, driven from Python: laziness, void/reference results, nesting without
// Python, exceptions through task chains, deep symmetric transfer, frames destroyed.
#include "pyasync_tests.hpp"

#include <stdexcept>

namespace {

int started = 0;
int live_frames = 0;

/// Counts live frames: proves coroutine frames die (cppcoro's counted.hpp idea).
struct counted {
    counted() { ++live_frames; }
    counted(const counted &) { ++live_frames; }
    ~counted() { --live_frames; }
};

pyasync::task<int> leaf(int value) {
    counted alive;
    ++started;
    co_return value;
}

pyasync::task<int> chain(int depth) {
    counted alive;
    if (depth == 0) {
        co_return 0;
    }
    co_return 1 + co_await chain(depth - 1);
}

int shared_value = 41;
pyasync::task<int &> reference() { co_return shared_value; }

pyasync::task<int> add_through_reference() {
    int &value = co_await reference();
    ++value;
    co_return value;
}

pyasync::task<void> nothing() { co_return; }

pyasync::task<int> thrower(int depth) {
    counted alive;
    if (depth == 0) {
        throw std::out_of_range("deep failure");
    }
    co_return co_await thrower(depth - 1);
}

pyasync::task<std::string> catches_child() {
    try {
        co_await thrower(3);
    } catch (const std::out_of_range &error) {
        co_return std::string("caught: ") + error.what();
    }
    co_return "not thrown";
}

pyasync::task<int> suspends_then_chain(int depth) {
    co_await pyasync::sleep(0);
    co_return co_await chain(depth);
}

} // namespace

PYASYNC_TEST_SUBMODULE(task, m) {
    pyasync::def(m, "leaf", &leaf, py::arg("value"));
    pyasync::def(m, "chain", &chain, py::arg("depth"));
    pyasync::def(m, "add_through_reference", &add_through_reference);
    pyasync::def(m, "nothing", &nothing);
    pyasync::def(m, "thrower", &thrower, py::arg("depth"));
    pyasync::def(m, "catches_child", &catches_child);
    pyasync::def(m, "suspends_then_chain", &suspends_then_chain, py::arg("depth"));
    m.def("started", [] { return started; });
    m.def("live_frames", [] { return live_frames; });
    m.def("shared_value", [] { return shared_value; });
    // The same coroutine through plain pybind11 m.def and the task<T> type caster.
    m.def("leaf_via_mdef", &leaf);
    m.def("takes_task", [](pyasync::task<int> t) { return t; });
}
