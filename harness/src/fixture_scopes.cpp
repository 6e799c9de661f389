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
    if (info.suite_fixture.set_up != nullptr || info.suite_fixture.tear_down != nullptr) {
        suite.guarded = &info; // a plain PYASYNC_TEST of the same suite name has no fixture to tear down
    }
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

std::string suite_scopes::set_up_failure(const case_info &info) {
    const state &suite = suites_[info.suite];
    return suite.failed ? "suite set-up failed (" + info.suite + "):\n" + suite.failure : std::string();
}

bool suite_scopes::failed_with_its_suite(case_result &result) {
    std::string failure = set_up_failure(*result.info);
    if (failure.empty()) {
        return false;
    }
    result.fail(std::move(failure));
    return true;
}

task<> suite_scopes::tear_down_if_last(const case_info &info) {
    state &suite = suites_[info.suite];
    if (held_open_ || --suite.remaining > 0) {
        co_return;
    }
    co_await tear_down(suite);
}

task<> suite_scopes::tear_down(const std::string &suite) {
    const auto found = suites_.find(suite);
    if (found != suites_.end()) {
        found->second.failed = false;
        co_await tear_down(found->second);
    }
}

task<> suite_scopes::tear_down(state &suite) {
    if (!suite.set_up || suite.guarded == nullptr || suite.guarded->suite_fixture.tear_down == nullptr) {
        suite.set_up = false;
        co_return;
    }
    suite.set_up = false;
    const auto &fixture = suite.guarded->suite_fixture;
    std::string failure;
    try {
        co_await fixture.tear_down();
    } catch (...) {
        failure = describe_current_exception();
    }
    if (!failure.empty()) {
        report_.note("error: " + std::string(fixture.fixture) + "::tear_down_suite() threw " + failure);
        ++record_.totals.failed;
    }
}

void suite_scopes::tear_down_remaining(py::handle loop) {
    for (auto &[name, suite] : suites_) {
        if (suite.set_up) {
            try {
                pyasync::run_until_complete(loop, tear_down(suite));
            } catch (...) {
                report_.note("error: tearing down " + name + " failed: " + describe_current_exception());
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
            failure_ = "the global fixture " + fixture.name + " failed to set up: " + describe_current_exception();
            std::fprintf(stderr, "pyasync-test: %s\n", failure_.c_str());
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
