// pyasync::harness_main: the `main` of harness binaries (like gtest_main).
#include <pyasync/testing/session.hpp>

int main(int argc, char **argv) {
    return pyasync::harness_main(argc, argv);
}

#if defined(__SANITIZE_ADDRESS__)
// CPython keeps objects alive at exit by design, so LeakSanitizer would fail every harness
// binary built with ASan. ASAN_OPTIONS in the environment still overrides this default.
extern "C" __attribute__((visibility("default"))) const char *__asan_default_options() {
    return "detect_leaks=0";
}
#endif
