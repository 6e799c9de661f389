// Boost.Test's own floor for bench_boost.py: 10,000 trivial sync cases (BENCH_CASES), registered
// in the init function, in a plain Boost.Test binary (no Python, no pyasync).
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>

namespace {

void trivial_case() {
    BOOST_TEST(1 + 1 == 2);
}

bool register_cases() {
    const char *count = std::getenv("BENCH_CASES");
    const int cases = count != nullptr ? std::atoi(count) : 10000;
    auto *suite = BOOST_TEST_SUITE("Bench");
    for (int i = 0; i < cases; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "case_%05d", i);
        suite->add(boost::unit_test::make_test_case(&trivial_case, name, __FILE__, __LINE__));
    }
    boost::unit_test::framework::master_test_suite().add(suite);
    return true;
}

} // namespace

int main(int argc, char **argv) {
    return boost::unit_test::unit_test_main(&register_cases, argc, argv);
}
