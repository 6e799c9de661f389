// _pyasync_tests: one module, one submodule per topic (pybind11's TEST_SUBMODULE pattern).
#include "pyasync_tests.hpp"

PYASYNC_MODULE(_pyasync_tests, m) {
    m.doc() = "Bindings for pyasync's own test suite (pytests/test_*.py).";
    for (const auto &[name, init] : pyasync_tests::registry()) {
        init(m.def_submodule(name.c_str()));
    }
}
