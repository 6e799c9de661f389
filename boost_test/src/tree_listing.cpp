// The program describes its own test tree for discovery: every test case with its suite path,
// place in the source, labels, disabled state and effective timeout, in the JSON listing the
// harness writes (`--list --format json`), so one CMake script reads both.
#include "boost_session.hpp"

#include "selection.hpp"

#include <boost/test/tree/traverse.hpp>
#include <boost/test/tree/visitor.hpp>

#include <iostream>
#include <sstream>

namespace pyasync::boost_test::detail {
namespace {

namespace ut = boost::unit_test;

/// Says the kind of a listed case (the listing shows it; nothing runs it).
class listed_kind final : public testing::case_invoker {
public:
    explicit listed_kind(testing::case_kind kind) : kind_(kind) {}
    [[nodiscard]] testing::case_kind kind() const noexcept override { return kind_; }

private:
    testing::case_kind kind_;
};

/// The shortest timeout over the case and its suites: running the case alone, Boost applies them all.
std::optional<double> effective_timeout(const ut::test_case &tc) {
    std::optional<double> limit = pyasync_timeout_of(tc.p_id);
    for (ut::test_unit_id id = tc.p_id; id != ut::INV_TEST_UNIT_ID;) {
        const ut::test_unit &unit = ut::framework::get(id, ut::TUT_ANY);
        if (unit.p_timeout > 0 && (!limit || *limit > unit.p_timeout)) {
            limit = static_cast<double>(unit.p_timeout);
        }
        id = unit.p_parent_id;
    }
    return limit;
}

class collector final : public ut::test_tree_visitor {
public:
    std::vector<testing::case_info> cases;

    void visit(const ut::test_case &tc) override {
        testing::case_info info;
        info.suite = ut::framework::get<ut::test_suite>(tc.p_parent_id).full_name();
        info.name = tc.p_name;
        info.file.assign(tc.p_file_name.begin(), tc.p_file_name.end());
        info.line = static_cast<int>(tc.p_line_num);
        info.tags.assign(tc.p_labels->begin(), tc.p_labels->end());
        info.ignored = tc.p_default_status == ut::test_unit::RS_DISABLED;
        info.timeout_seconds = effective_timeout(tc);
        info.invoker = is_async_unit(tc.p_id) ? async_kind_ : sync_kind_;
        cases.push_back(std::move(info));
    }

private:
    std::shared_ptr<testing::case_invoker> async_kind_ = std::make_shared<listed_kind>(testing::case_kind::async);
    std::shared_ptr<testing::case_invoker> sync_kind_ = std::make_shared<listed_kind>(testing::case_kind::sync);
};

} // namespace

void write_tree_listing(std::FILE *out) {
    collector found;
    ut::traverse_test_tree(ut::framework::master_test_suite(), found, true);
    std::vector<const testing::case_info *> listed;
    listed.reserve(found.cases.size());
    for (const testing::case_info &info : found.cases) {
        listed.push_back(&info);
    }
    std::ostringstream text;
    testing::detail::write_json_listing(text, listed);
    std::fputs(text.str().c_str(), out);
    std::fflush(out);
}

} // namespace pyasync::boost_test::detail
