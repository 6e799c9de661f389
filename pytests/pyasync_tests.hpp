#pragma once
// Registration of test submodules: PYASYNC_TEST_SUBMODULE(topic, m) { ... } in test_<topic>.cpp.
#include <pyasync/pyasync.hpp>

#include <pybind11/stl.h>

#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>

namespace py = pybind11;

namespace pyasync_tests {
using initializer = std::function<void(py::module_)>;
inline std::map<std::string, initializer> &registry() {
    static std::map<std::string, initializer> topics;
    return topics;
}
struct registrar {
    registrar(const char *name, initializer init) { registry().emplace(name, std::move(init)); }
};
/// The calling thread's id as text (compared from Python against the loop thread's).
inline std::string this_thread_name() {
    std::ostringstream text;
    text << std::this_thread::get_id();
    return text.str();
}
} // namespace pyasync_tests

#define PYASYNC_TEST_SUBMODULE(name, variable)                                                                 \
    static void pyasync_test_submodule_##name(py::module_ variable);                                          \
    static const ::pyasync_tests::registrar pyasync_test_registrar_##name(#name, pyasync_test_submodule_##name); \
    static void pyasync_test_submodule_##name(py::module_ variable)
