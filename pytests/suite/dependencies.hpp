#pragma once
// The suite's optional Python dependencies, as pytests/dependencies.py treats them: a module
// named in PYASYNC_OPTIONAL_TEST_MODULES (the builds against the image's other CPythons, where
// Debian's uvloop is not built) skips the case with the import error as its reason; anywhere
// else the import error fails the case, so uvloop is proven wherever it exists.
#include <pyasync/test.hpp>

#include <cstdlib>
#include <sstream>
#include <string>

namespace suite {

inline bool may_be_missing(const std::string &module) {
    const char *listed = std::getenv("PYASYNC_OPTIONAL_TEST_MODULES");
    std::istringstream names(listed != nullptr ? listed : "");
    for (std::string name; std::getline(names, name, ',');) {
        if (name == module) {
            return true;
        }
    }
    return false;
}

/// The module, or the case skipped where it may be missing. GIL held.
inline pybind11::module_ require_module(const std::string &module) {
    try {
        return pybind11::module_::import(module.c_str());
    } catch (pybind11::error_already_set &error) {
        if (!may_be_missing(module)) {
            throw;
        }
        PYASYNC_SKIP(module + " does not import in this Python: " + error.what());
    }
}

} // namespace suite
