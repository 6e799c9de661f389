// task<T> semantics, driven from Python: laziness, void/reference results, nesting without
// Python, exceptions through task chains, deep symmetric transfer, frames destroyed.
#include "pyasync_tests.hpp"

#include <array>
#include <stdexcept>
#include <vector>

namespace {

int started = 0;
int live_frames = 0;

/// Counts live frames: proves coroutine frames die (cppcoro's counted.hpp idea).
struct live_frame_counter {
    live_frame_counter() { ++live_frames; }
    live_frame_counter(const live_frame_counter &) { ++live_frames; }
    ~live_frame_counter() { --live_frames; }
};

pyasync::task<int> leaf(int value) {
    live_frame_counter alive;
    ++started;
    co_return value;
}

pyasync::task<int> chain(int depth) {
    live_frame_counter alive;
    if (depth == 0) {
        co_return 0;
    }
    co_return 1 + co_await chain(depth - 1);
}

int shared_value = 41;
pyasync::task<int &> reference() {
    co_return shared_value;
}

pyasync::task<int> add_through_reference() {
    int &value = co_await reference();
    ++value;
    co_return value;
}

pyasync::task<void> nothing() {
    co_return;
}

pyasync::task<int> thrower(int depth) {
    live_frame_counter alive;
    if (depth == 0) {
        throw std::out_of_range("deep failure");
    }
    co_return co_await thrower(depth - 1);
}

/// Awaits a failing child without catching: the note names the child (the innermost frame).
pyasync::task<int> rethrows_child() {
    co_return co_await thrower(2);
}

/// Catches the child's exception and throws another: the note names this frame.
pyasync::task<int> replaces_child_error() {
    try {
        co_await thrower(1);
    } catch (const std::out_of_range &) {
        throw std::length_error("replaced");
    }
    co_return 0;
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

/// A frame of at least `Bytes` holding a pattern across a suspension: a frame reused while
/// still in use, or handed to two coroutines at once, breaks the pattern.
template <std::size_t Bytes>
pyasync::task<int> pattern_survives(unsigned seed) {
    std::array<unsigned char, Bytes> local{};
    for (std::size_t i = 0; i < Bytes; ++i) {
        local[i] = static_cast<unsigned char>(seed + i);
    }
    co_await pyasync::sleep(0);
    for (std::size_t i = 0; i < Bytes; ++i) {
        if (local[i] != static_cast<unsigned char>(seed + i)) {
            co_return 0;
        }
    }
    co_return 1;
}

/// Frames of every size class of the frame lists and beyond them, made and freed on the loop and
/// on runtime workers by turns (a frame made on one thread is freed on another): how many
/// patterns survived, six per round.
pyasync::task<int> frames_across_threads(int rounds) {
    int survived = 0;
    for (int round = 0; round < rounds; ++round) {
        const bool away = round % 2 == 1;
        if (away) {
            co_await pyasync::resume_on();
        }
        const auto seed = static_cast<unsigned>(round);
        survived += co_await pattern_survives<8>(seed) + co_await pattern_survives<100>(seed) +
                    co_await pattern_survives<500>(seed) + co_await pattern_survives<960>(seed);
        // Two at once, so two frames of a class are live together, beyond the classes as well.
        std::vector<pyasync::task<int>> both;
        both.push_back(pattern_survives<200>(seed + 1));
        both.push_back(pattern_survives<4000>(seed + 2));
        for (auto &one : both) {
            survived += co_await std::move(one);
        }
        if (away) {
            co_await pyasync::resume_on_loop();
        }
    }
    co_return survived;
}

} // namespace

PYASYNC_TEST_SUBMODULE(task, m) {
    pyasync::def(m, "leaf", &leaf, py::arg("value"));
    pyasync::def(m, "chain", &chain, py::arg("depth"));
    pyasync::def(m, "add_through_reference", &add_through_reference);
    pyasync::def(m, "nothing", &nothing);
    pyasync::def(m, "thrower", &thrower, py::arg("depth"));
    pyasync::def(m, "catches_child", &catches_child);
    pyasync::def(m, "rethrows_child", &rethrows_child);
    pyasync::def(m, "replaces_child_error", &replaces_child_error);
    pyasync::def(m, "suspends_then_chain", &suspends_then_chain, py::arg("depth"));
    pyasync::def(m, "frames_across_threads", &frames_across_threads, py::arg("rounds"));
    m.def("started", [] { return started; });
    m.def("live_frames", [] { return live_frames; });
    m.def("shared_value", [] { return shared_value; });
    // The same coroutine through plain pybind11 m.def and the task<T> type caster.
    m.def("leaf_via_mdef", &leaf);
    m.def("takes_task", [](pyasync::task<int> t) { return t; });
}
