#include <pyasync/boost_test.hpp>
#include <pyasync/pyasync.hpp>
using namespace std::chrono_literals;
namespace py = pybind11;

py::object py_fn() { return py::module_::import("asyncio").attr("sleep")(0.001, 3); }  // a Python coroutine
struct server_fixture {                        // a Boost.Test fixture, here with async set-up
    int port = 0;
    pyasync::task<> setup() { co_await pyasync::sleep(0.001); port = 8080; }
};
struct python_services {
    pyasync::task<> setup() { co_await pyasync::sleep(0); }
    void teardown() {}
};

BOOST_AUTO_TEST_SUITE(net)
PYASYNC_BOOST_TEST_CASE(fetches, *boost::unit_test::label("fast")) -> pyasync::task<> {
    auto v = co_await pyasync::await_as<int>(py_fn());
    BOOST_TEST(v == 3);
    BOOST_REQUIRE(v > 0);   // fatal, also after a real suspension, also deep in awaited tasks
}
PYASYNC_BOOST_FIXTURE_TEST_CASE(with_server, server_fixture, *pyasync::boost_test::timeout(250ms))
-> pyasync::task<> { BOOST_TEST(port != 0); co_return; }   // the fixture's members are in scope, as in Boost
BOOST_AUTO_TEST_SUITE_END()
PYASYNC_BOOST_GLOBAL_FIXTURE(python_services);  // setup()/teardown() may be coroutines
