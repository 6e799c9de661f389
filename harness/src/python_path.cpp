// Directories baked into a harness binary (pyasync_add_test_executable's generated source),
// given to its interpreter through PYTHONPATH, so its children (--isolate, subprocesses of a
// case) import from them too.
#include "runner.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

namespace pyasync::testing {
namespace {

std::vector<std::string> &baked_directories() {
    static std::vector<std::string> directories;
    return directories;
}

} // namespace

void add_python_path(const char *directories) {
    std::string all = directories != nullptr ? directories : "";
    for (std::size_t start = 0; start <= all.size();) {
        const std::size_t colon = std::min(all.find(':', start), all.size());
        if (colon > start) {
            baked_directories().push_back(all.substr(start, colon - start));
        }
        start = colon + 1;
    }
}

namespace detail {

void apply_baked_python_path() {
    const char *given = std::getenv("PYTHONPATH");
    std::string path = given != nullptr ? given : "";
    const std::string bounded = ":" + path + ":";
    for (const std::string &directory : baked_directories()) {
        if (bounded.find(":" + directory + ":") != std::string::npos) {
            continue;
        }
        path += (path.empty() ? "" : ":") + directory;
    }
    if (!path.empty()) {
        setenv("PYTHONPATH", path.c_str(), 1);
    }
}

} // namespace detail
} // namespace pyasync::testing
