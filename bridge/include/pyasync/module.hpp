#pragma once
/// \file
/// `PYASYNC_MODULE`: an extension module that joins the process's one pyasync bridge.
///
///     PYASYNC_MODULE(my_module, m) {
///         pyasync::def(m, "fetch", &fetch);   // any pybind11 / pyasync binding code
///     }
///
/// It is `PYBIND11_MODULE` plus a check at import: the module's pyasync headers and the
/// libpyasync it loaded must have the same ABI, and the process must not already run another
/// pyasync library. Either mismatch is an `ImportError` naming both versions and the fix, never
/// a crash or two bridges silently mixed. (`PYBIND11_MODULE` works too, without the check.)

#include <pyasync/config.hpp>

extern "C" {
/// Joins `module` (a module being initialised) to the process's bridge: checks that `abi` and
/// `version` (those of the module's headers) match the loaded libpyasync, and registers that
/// library as the process's bridge (or checks it is the one already registered). Returns 0, or
/// -1 with an ImportError set. GIL held. A C signature, so that it stays callable whatever the
/// ABI of the caller.
PYASYNC_API int pyasync_attach_module(PyObject *module, int abi, const char *version);
}

namespace pyasync::detail {
/// Calls `pyasync_attach_module` with this header's versions. Throws `py::import_error` with
/// its message (so the module's ImportError reads as that message, not "initialization failed").
inline void attach_module(py::module_ &module, int abi = PYASYNC_ABI_VERSION,
                          const char *version = PYASYNC_VERSION_STRING) {
    if (pyasync_attach_module(module.ptr(), abi, version) != 0) {
        const py::error_already_set error;
        throw py::import_error(py::str(error.value()).cast<std::string>());
    }
}
} // namespace pyasync::detail

/// Defines the extension module `name` (the `PyInit_<name>` entry point), whose body receives
/// the `py::module_ &` as `variable`; see the file comment. Import thread, GIL held.
#define PYASYNC_MODULE(name, variable)                                                                                 \
    static void pyasync_module_body_##name(::pybind11::module_ &);                                                     \
    PYBIND11_MODULE(name, pyasync_module_) {                                                                           \
        ::pyasync::detail::attach_module(pyasync_module_);                                                             \
        pyasync_module_body_##name(pyasync_module_);                                                                   \
    }                                                                                                                  \
    void pyasync_module_body_##name(::pybind11::module_ &(variable))
