#include <pyasync/pyasync.hpp>
#include <pyasync/test.hpp>

#include <string>
using namespace std::chrono_literals;

pyasync::task<std::string> fetch() {  // any C++ coroutine, or a Python one awaited from C++
    co_await pyasync::sleep(0.001);
    co_return "ok";
}

PYASYNC_TEST(Math, adds) { PYASYNC_CHECK(1 + 1 == 2); }                       // sync case
PYASYNC_TEST(Net, sleeps, pyasync::testing::timeout(2s)) -> pyasync::task<> {  // async case
    co_await pyasync::sleep(0.01);
    PYASYNC_REQUIRE(co_await fetch() == "ok");   // fatal assertions work inside coroutines
}
