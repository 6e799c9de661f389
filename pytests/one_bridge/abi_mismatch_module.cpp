// _pyasync_abi_mismatch: a module whose headers claim another pyasync ABI than the library it
// loads, as a module built against another pyasync release would. Its import must fail.
#include <pyasync/module.hpp>

PYBIND11_MODULE(_pyasync_abi_mismatch, m) {
    pyasync::detail::attach_module(m, PYASYNC_ABI_VERSION + 1, "9.9.9");
}
