// _pyasync_peer: a second extension module beside _pyasync_tests, so that test_one_bridge.py can
// check two modules share one bridge.
#include "bridge_probe.hpp"

#include <pyasync/detail/bridge_identity.hpp>

namespace {
namespace py = pybind11;
// Another libpyasync, as a module built against another pyasync would bring along.
const pyasync::detail::bridge_identity another_bridge{0, "0.0.9", "/elsewhere/libpyasync.so.0"};
} // namespace

PYASYNC_MODULE(_pyasync_peer, m) {
    one_bridge::def_probe(m);
    m.def("pretend_another_bridge_runs", [] {
        // What the registry holds once a module linked to another libpyasync joined first.
        PyObject *registry = PyInterpreterState_GetDict(PyInterpreterState_Get());
        py::capsule identity(const_cast<pyasync::detail::bridge_identity *>(&another_bridge), "pyasync.bridge");
        if (registry == nullptr || PyDict_SetItemString(registry, "pyasync.bridge", identity.ptr()) != 0) {
            throw py::error_already_set();
        }
    });
}
