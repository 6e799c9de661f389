// pyasync::harness_main: the `main` of harness binaries (like gtest_main).
#include <pyasync/testing/session.hpp>

int main(int argc, char **argv) { return pyasync::harness_main(argc, argv); }
