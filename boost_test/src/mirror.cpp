// PYASYNC_TEST cases in Boost's tree: each registered case becomes a Boost test case in a suite
// named after its suite (tags become labels, ignored cases disabled, timeouts kept), suite
// fixtures become fixtures of that suite and global fixtures fixtures of the master suite.
#include "boost_session.hpp"

#include <pyasync/testing/assertions.hpp>

#include <cmath>
#include <map>
#include <set>

namespace pyasync::boost_test::detail {
namespace {

namespace ut = boost::unit_test;

std::set<ut::test_unit_id> &async_units() {
    static std::set<ut::test_unit_id> units;
    return units;
}

std::map<ut::test_unit_id, double> &pyasync_timeouts() {
    static std::map<ut::test_unit_id, double> timeouts;
    return timeouts;
}

/// A label Boost's --run_test can select: '@' filters take a label up to ':' or ',' and Boost
/// rewrites names holding ": * @ + ! / ," and spaces, so each of those becomes '_' (the same
/// mapping everywhere the label shows: the tree, --list_content, discovery, JUnit).
std::string selectable_label(std::string tag) {
    for (char &c : tag) {
        if (c == ':' || c == ',' || c == '*' || c == '@' || c == '+' || c == '!' || c == '/' || c == ' ' || c == '\t') {
            c = '_';
        }
    }
    return tag;
}

/// A suite's set-up and tear-down hooks (a PYASYNC_TEST_F fixture's static set_up_suite /
/// tear_down_suite), run on the session loop around the suite's cases.
class suite_fixture final : public ut::test_unit_fixture {
public:
    explicit suite_fixture(testing::suite_hooks hooks) : hooks_(hooks) {}
    void setup() override {
        if (hooks_.set_up != nullptr) {
            run_on_session_loop(hooks_.set_up());
        }
    }
    void teardown() override {
        if (hooks_.tear_down != nullptr) {
            run_on_session_loop(hooks_.tear_down());
        }
    }

private:
    testing::suite_hooks hooks_;
};

/// A PYASYNC_TEST_GLOBAL_FIXTURE: made and set up before the first case, torn down after the last.
class mirrored_global_fixture final : public ut::test_unit_fixture {
public:
    explicit mirrored_global_fixture(const testing::global_fixture &registered) : registered_(registered) {}
    void setup() override {
        fixture_ = registered_.make();
        run_on_session_loop(fixture_->set_up());
    }
    void teardown() override {
        if (fixture_) {
            auto ending = std::move(fixture_);
            run_on_session_loop(ending->tear_down());
        }
    }

private:
    const testing::global_fixture &registered_;
    std::unique_ptr<testing::fixture_lifetime> fixture_;
};

ut::test_suite &suite_named(const std::string &name, const case_info &first) {
    ut::test_suite &master = ut::framework::master_test_suite();
    const ut::test_unit_id existing = master.get(name);
    if (existing != ut::INV_TEST_UNIT_ID && ut::ut_detail::test_id_2_unit_type(existing) == ut::TUT_SUITE) {
        return ut::framework::get<ut::test_suite>(existing);
    }
    auto *suite = new ut::test_suite(name, first.file, static_cast<std::size_t>(first.line));
    master.add(suite);
    return *suite;
}

void mirror_case(const case_info &info) {
    ut::test_suite &suite = suite_named(info.suite, info);
    ut::test_case *tc = ut::make_test_case([&info] { boost_session::current().run_case(info); }, info.name, info.file,
                                           static_cast<std::size_t>(info.line));
    suite.add(tc);
    if (info.kind() == testing::case_kind::async) {
        async_units().insert(tc->p_id);
    }
    // After add(), which resets the timeout.
    if (info.timeout_seconds) {
        tc->p_timeout.value = static_cast<unsigned>(std::ceil(*info.timeout_seconds));
        pyasync_timeouts()[tc->p_id] = *info.timeout_seconds;
    }
    for (const std::string &tag : info.tags) {
        tc->add_label(selectable_label(tag));
    }
    if (info.ignored) {
        // Disabled, and kept from running when its suite is selected (Boost runs a disabled
        // case then) unless `-- --include-ignored` asks for it.
        tc->p_default_status.value = ut::test_unit::RS_DISABLED;
        if (!current_options().include_ignored) {
            const std::string why = "ignored" +
                                    (info.ignore_reason.empty() ? std::string() : ": " + info.ignore_reason) +
                                    " (run it with -- --include-ignored)";
            tc->add_precondition([why](ut::test_unit_id) {
                boost::test_tools::assertion_result refused(false);
                refused.message() << why;
                return refused;
            });
        }
    }
}

} // namespace

std::optional<double> pyasync_timeout_of(ut::test_unit_id unit) {
    const auto &timeouts = pyasync_timeouts();
    const auto found = timeouts.find(unit);
    return found == timeouts.end() ? std::nullopt : std::optional<double>(found->second);
}

bool is_async_unit(ut::test_unit_id unit) {
    return async_units().count(unit) != 0;
}

void set_pyasync_timeout(ut::test_unit_id unit, double seconds) {
    pyasync_timeouts()[unit] = seconds;
}

void mirror_registered_cases() {
    if (!testing::registration_errors().empty()) {
        std::string errors;
        for (const std::string &error : testing::registration_errors()) {
            errors += "\n  " + error;
        }
        throw ut::framework::setup_error("pyasync: PYASYNC_TEST cases were refused:" + errors);
    }
    std::map<std::string, testing::suite_hooks> hooks;
    for (const case_info &info : testing::registered_cases()) {
        mirror_case(info);
        if (info.suite_fixture.set_up != nullptr || info.suite_fixture.tear_down != nullptr) {
            hooks.emplace(info.suite, info.suite_fixture);
        }
    }
    ut::test_suite &master = ut::framework::master_test_suite();
    for (const auto &[suite, suite_hooks] : hooks) {
        ut::framework::get<ut::test_suite>(master.get(suite))
            .p_fixtures.value.push_back(ut::test_unit_fixture_ptr(new suite_fixture(suite_hooks)));
    }
    for (const testing::global_fixture &fixture : testing::registered_global_fixtures()) {
        master.p_fixtures.value.push_back(ut::test_unit_fixture_ptr(new mirrored_global_fixture(fixture)));
    }
}

} // namespace pyasync::boost_test::detail

namespace pyasync::boost_test {

namespace detail {
void async_case::apply(boost::unit_test::test_unit &unit) {
    async_units().insert(unit.p_id);
}
} // namespace detail

void timeout::apply(boost::unit_test::test_unit &unit) {
    unit.p_timeout.value = static_cast<unsigned>(std::ceil(limit_.count()));
    detail::set_pyasync_timeout(unit.p_id, limit_.count());
}

} // namespace pyasync::boost_test
