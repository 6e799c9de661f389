// GoogleTest's floor for bench_harness.py: 10,000 trivial sync tests (BENCH_CASES), registered
// in main with testing::RegisterTest. Built by the benchmark only (Debian's libgtest-dev); never
// a dependency of pyasync.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace {

class trivial_test : public testing::Test {
public:
    void TestBody() override { EXPECT_EQ(1 + 1, 2); }
};

} // namespace

int main(int argc, char **argv) {
    testing::InitGoogleTest(&argc, argv);
    const char *count = std::getenv("BENCH_CASES");
    const int cases = count != nullptr ? std::atoi(count) : 10000;
    for (int i = 0; i < cases; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "case_%05d", i);
        testing::RegisterTest("Bench", name, nullptr, nullptr, __FILE__, __LINE__,
                              []() -> testing::Test * { return new trivial_test(); });
    }
    return RUN_ALL_TESTS();
}
