// A harness binary whose registry is wrong on purpose: one name registered twice (from two
// namespaces, as two files would) and a name that is not an identifier. The session must
// refuse it with a usage error naming each place, not terminate during static initialisation.
// test_harness_cli.py checks it.
#include <pyasync/test.hpp>

namespace first {
PYASYNC_TEST(Twice, registered) {}
} // namespace first

namespace second {
PYASYNC_TEST(Twice, registered) {}
} // namespace second

PYASYNC_TEST(Fine, passes) {}

namespace {

struct nothing_invoker final : pyasync::testing::case_invoker {
    [[nodiscard]] pyasync::testing::case_kind kind() const noexcept override {
        return pyasync::testing::case_kind::sync;
    }
    void run_sync(pyasync::py::handle) override {}
};

// Registered by hand, as a loop over generated names would (gtest's RegisterTest).
[[maybe_unused]] const std::size_t bad_name = [] {
    pyasync::testing::case_info info;
    info.suite = "Generated";
    info.name = "not an identifier";
    info.file = __FILE__;
    info.line = __LINE__;
    info.invoker = std::make_shared<nothing_invoker>();
    return pyasync::testing::register_case(std::move(info));
}();

} // namespace
