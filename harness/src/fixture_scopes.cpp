// Suite and global fixtures: set-up failures fail the cases they guard (suite) or stop the run
// (global); tear-down failures are reported and counted, never lost.
#include "fixture_scopes.hpp"

#include <pyasync/run.hpp>
#include <pyasync/testing/assertions.hpp>

namespace pyasync::testing::detail {

void suite_scopes::plan_iteration(const std::vector<const case_info *> &order) {
    for (auto &[name, suite] : suites_) {
        suite.remaining = 0;
    }
    for (const case_info *info : order) {
        ++suites_[info->suite].remaining;
    }
}

void suite_scopes::set_up(const case_info &info, py::handle loop) {
    state &suite = suites_[info.suite];
    if (suite.set_up || suite.failed || info.suite_fixture.set_up == nullptr) {
        suite.set_up = suite.set_up || info.suite_fixture.set_up == nullptr;
        return;
    }
    try {
        pyasync::run_until_complete(loop, info.suite_fixture.set_up());
        suite.set_up = true;
    } catch (...) {
        suite.failed = true;
        suite.failure =
            std::string(info.suite_fixture.fixture) + "::set_up_suite() threw " + describe_current_exception();
    }
}

bool suite_scopes::failed_with_its_suite(case_result &result) {
    const state &suite = suites_[result.info->suite];
    if (suite.failed) {
        result.fail("suite set-up failed (" + result.info->suite + "):\n" + suite.failure);
    }
    return suite.failed;
}

task<> suite_scopes::tear_down_if_last(const case_info &info) {
    state &suite = suites_[info.suite];
    if (--suite.remaining > 0 || !suite.set_up || info.suite_fixture.tear_down == nullptr) {
        co_return;
    }
    suite.set_up = false;
    std::string failure;
    try {
        co_await info.suite_fixture.tear_down();
    } catch (...) {
        failure = describe_current_exception();
    }
    if (!failure.empty()) {
        report_.note("error: " + std::string(info.suite_fixture.fixture) + "::tear_down_suite() threw " + failure);
        ++record_.totals.failed;
    }
}

void suite_scopes::tear_down_remaining(py::handle loop) {
    for (const case_info &info : registered_cases()) {
        state &suite = suites_[info.suite];
        if (suite.set_up && info.suite_fixture.tear_down != nullptr) {
            suite.remaining = 1;
            try {
                pyasync::run_until_complete(loop, tear_down_if_last(info));
            } catch (...) {
                report_.note("error: tearing down " + info.suite + " failed: " + describe_current_exception());
                ++record_.totals.failed;
            }
        }
    }
}

bool global_scope::set_up(py::handle loop) {
    for (const global_fixture &fixture : registered_global_fixtures()) {
        try {
            auto lifetime = fixture.make();
            pyasync::run_until_complete(loop, lifetime->set_up());
            fixtures_.emplace_back(fixture.name, std::move(lifetime));
        } catch (...) {
            std::fprintf(stderr, "pyasync-test: the global fixture %s failed to set up: %s\n", fixture.name.c_str(),
                         describe_current_exception().c_str());
            return false;
        }
    }
    return true;
}

void global_scope::tear_down(py::handle loop) {
    for (auto it = fixtures_.rbegin(); it != fixtures_.rend(); ++it) {
        try {
            pyasync::run_until_complete(loop, it->second->tear_down());
        } catch (...) {
            report_.note("error: the global fixture " + it->first +
                         " failed to tear down: " + describe_current_exception());
            ++record_.totals.failed;
        }
    }
    fixtures_.clear();
}

} // namespace pyasync::testing::detail
