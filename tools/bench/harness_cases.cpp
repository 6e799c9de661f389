// 10,000 trivial async cases, registered at start-up through pyasync::testing::register_case
// (the API behind PYASYNC_TEST): linked with pyasync::harness_main for bench_harness.py and
// bench_cpp_cases.py, and with pyasync::boost_test (mirrored into Boost's tree) for bench_boost.py.
// With BENCH_SCHEDULE=two_tasks, one small two-task case instead: schedule exploration's
// runs per second (bench_harness.py).
#include <pyasync/pyasync.hpp>
#include <pyasync/test.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

/// An async case whose body is `Body` (a static coroutine function): the benchmarks' cases.
template <pyasync::task<> (*Body)()>
class async_case final : public pyasync::testing::case_invoker {
public:
    [[nodiscard]] pyasync::testing::case_kind kind() const noexcept override {
        return pyasync::testing::case_kind::async;
    }
    pyasync::task<> run_async() override { return Body(); }
};

pyasync::task<> trivial_body() {
    PYASYNC_CHECK(1 + 1 == 2);
    co_return;
}

pyasync::task<> one_job(int value) {
    const int got = co_await pyasync::spawn([value] { return value; });
    PYASYNC_CHECK(got == value);
}

/// Two tasks, each awaiting one job on the runtime: the smallest program with a schedule to explore.
pyasync::task<> two_tasks_body() {
    std::vector<py::object> tasks;
    tasks.push_back(pyasync::make_coroutine(one_job(1)));
    tasks.push_back(pyasync::make_coroutine(one_job(2)));
    co_await pyasync::gather(std::move(tasks));
}

void add_case(const char *name, std::shared_ptr<pyasync::testing::case_invoker> invoker) {
    pyasync::testing::case_info info;
    info.suite = "Bench";
    info.name = name;
    info.file = __FILE__;
    info.line = __LINE__;
    info.invoker = std::move(invoker);
    pyasync::testing::register_case(std::move(info));
}

const bool registered = [] {
    if (const char *schedule = std::getenv("BENCH_SCHEDULE");
        schedule != nullptr && std::string(schedule) == "two_tasks") {
        add_case("two_tasks", std::make_shared<async_case<&two_tasks_body>>());
        return true;
    }
    const char *count = std::getenv("BENCH_CASES");
    const int cases = count != nullptr ? std::atoi(count) : 10000;
    auto invoker = std::make_shared<async_case<&trivial_body>>();
    for (int i = 0; i < cases; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "case_%05d", i);
        add_case(name, invoker);
    }
    return true;
}();

} // namespace
