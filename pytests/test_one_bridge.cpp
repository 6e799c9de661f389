// The _pyasync_tests side of test_one_bridge.py (the other side is _pyasync_peer).
#include "one_bridge/bridge_probe.hpp"
#include "pyasync_tests.hpp"

PYASYNC_TEST_SUBMODULE(one_bridge, m) {
    one_bridge::def_probe(m);
}
