// 10,000 trivial async cases, registered at start-up through pyasync::testing::register_case
// (the API behind PYASYNC_TEST): linked with pyasync::harness_main for bench_harness.py and
// bench_cpp_cases.py, and with pyasync::boost_test (mirrored into Boost's tree) for bench_boost.py.
#include <pyasync/test.hpp>

#include <cstdio>
#include <cstdlib>

namespace {

class trivial_async_case final : public pyasync::testing::case_invoker {
public:
    [[nodiscard]] pyasync::testing::case_kind kind() const noexcept override { return pyasync::testing::case_kind::async; }
    pyasync::task<> run_async() override { return body(); }

private:
    static pyasync::task<> body() {
        PYASYNC_CHECK(1 + 1 == 2);
        co_return;
    }
};

const bool registered = [] {
    const char *count = std::getenv("BENCH_CASES");
    const int cases = count != nullptr ? std::atoi(count) : 10000;
    auto invoker = std::make_shared<trivial_async_case>();
    for (int i = 0; i < cases; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "case_%05d", i);
        pyasync::testing::case_info info;
        info.suite = "Bench";
        info.name = name;
        info.file = __FILE__;
        info.line = __LINE__;
        info.invoker = invoker;
        pyasync::testing::register_case(std::move(info));
    }
    return true;
}();

} // namespace
