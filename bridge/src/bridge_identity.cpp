// One bridge per process: the library registers itself in the interpreter's state the first
// time a module joins it (or pyasync is first used), and every later module checks that it
// loaded the same library, built for the same ABI as its headers.
#include <pyasync/detail/bridge_identity.hpp>
#include <pyasync/module.hpp>

#include <dlfcn.h>

#include <string>

namespace pyasync {
namespace detail {
namespace {

constexpr const char *registry_key = "pyasync.bridge";

/// Where this library was loaded from (dladdr of one of its own symbols).
std::string library_path() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<const void *>(&pyasync_attach_module), &info) != 0 && info.dli_fname != nullptr) {
        return info.dli_fname;
    }
    return "(unknown path)";
}

} // namespace

std::string describe(const bridge_identity &identity) {
    return std::string("pyasync ") + identity.version + " (ABI " + std::to_string(identity.abi) + ", " +
           identity.library + ")";
}

const bridge_identity &this_bridge() {
    static const std::string path = library_path();
    static const bridge_identity identity{PYASYNC_ABI_VERSION, PYASYNC_VERSION_STRING, path.c_str()};
    return identity;
}

const bridge_identity *register_bridge(const char *joining_module) {
    PyObject *registry = PyInterpreterState_GetDict(PyInterpreterState_Get());
    if (registry == nullptr) {
        PyErr_SetString(PyExc_ImportError, "pyasync: the interpreter has no state dictionary to register the bridge");
        return nullptr;
    }
    PyObject *existing = PyDict_GetItemString(registry, registry_key); // borrowed
    if (existing == nullptr) {
        PyObject *capsule =
            PyCapsule_New(const_cast<bridge_identity *>(&this_bridge()), registry_key, nullptr); // NOLINT
        if (capsule == nullptr || PyDict_SetItemString(registry, registry_key, capsule) != 0) {
            Py_XDECREF(capsule);
            return nullptr;
        }
        Py_DECREF(capsule);
        return &this_bridge();
    }
    const auto *running = static_cast<const bridge_identity *>(PyCapsule_GetPointer(existing, registry_key));
    if (running == nullptr) {
        return nullptr;
    }
    if (running != &this_bridge()) {
        PyErr_Format(PyExc_ImportError,
                     "pyasync: %s loads %s, but this process already runs %s. Two bridges in one process "
                     "would each have their own runtime, coroutine type and CppError. Rebuild %s against "
                     "pyasync %s (every extension module of a process must use one pyasync library).",
                     joining_module, describe(this_bridge()).c_str(), describe(*running).c_str(), joining_module,
                     running->version);
        return nullptr;
    }
    return running;
}

} // namespace detail
} // namespace pyasync

extern "C" int pyasync_attach_module(PyObject *module, int abi, const char *version) {
    using namespace pyasync::detail;
    const char *name = PyModule_GetName(module);
    if (name == nullptr) {
        return -1;
    }
    const std::string joining = std::string("module '") + name + "'";
    if (abi != this_bridge().abi) {
        const std::string built_with =
            std::string("pyasync ") + (version != nullptr ? version : "?") + " (ABI " + std::to_string(abi) + ")";
        PyErr_Format(PyExc_ImportError,
                     "pyasync: %s was built against %s, but it loaded %s. Rebuild '%s' against pyasync %s, "
                     "or let it load the libpyasync it was built with (check its RPATH and LD_LIBRARY_PATH).",
                     joining.c_str(), built_with.c_str(), describe(this_bridge()).c_str(), name, this_bridge().version);
        return -1;
    }
    return register_bridge(joining.c_str()) != nullptr ? 0 : -1;
}
