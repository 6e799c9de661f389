// The registry and the attributes: static-initialisation time, no Python.
#include <pyasync/testing/detail/invokers.hpp>
#include <pyasync/testing/registry.hpp>

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

namespace pyasync::testing {
namespace {

std::vector<case_info> &mutable_cases() {
    static std::vector<case_info> cases;
    return cases;
}
std::vector<global_fixture> &mutable_fixtures() {
    static std::vector<global_fixture> fixtures;
    return fixtures;
}

bool is_identifier(const std::string &name) {
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
        return false;
    }
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

} // namespace

task<> case_invoker::run_async() {
    throw std::logic_error("pyasync-test: run_async called on a sync case (a harness bug)");
}

void case_invoker::run_sync(py::handle) {
    throw std::logic_error("pyasync-test: run_sync called on an async case (a harness bug)");
}

void tags::apply(case_info &info) const {
    std::string_view rest = spec;
    while (!rest.empty()) {
        const auto open = rest.find('[');
        if (open == std::string_view::npos) {
            if (rest.find_first_not_of(' ') != std::string_view::npos) {
                throw std::invalid_argument("pyasync-test: tags(\"" + std::string(spec) +
                                            "\"): expected tags in brackets, like \"[net][slow]\"");
            }
            break;
        }
        const auto close = rest.find(']', open);
        if (close == std::string_view::npos || close == open + 1) {
            throw std::invalid_argument("pyasync-test: tags(\"" + std::string(spec) +
                                        "\"): an empty or unclosed tag; expected \"[name]\"");
        }
        std::string tag(rest.substr(open + 1, close - open - 1));
        if (tag == "." || tag == "!ignore") {
            info.ignored = true;
            if (info.ignore_reason.empty()) {
                info.ignore_reason = "hidden tag [" + tag + "]";
            }
        } else if (tag.starts_with(".")) {
            // Catch2's "[.integration]": hidden and tagged.
            info.ignored = true;
            info.ignore_reason = "hidden tag [" + tag + "]";
            tag.erase(0, 1);
        }
        if (tag != "." && tag != "!ignore") {
            info.tags.push_back(std::move(tag));
        }
        rest.remove_prefix(close + 1);
    }
}

void ignore::apply(case_info &info) const {
    info.ignored = true;
    info.ignore_reason = std::string(reason);
}

std::vector<std::string> &mutable_registration_errors() {
    static std::vector<std::string> errors;
    return errors;
}

std::size_t register_case(case_info info) {
    // Registration runs during static initialisation, where an exception would terminate the
    // binary before it could say which cases collide: a bad case is recorded instead, and the
    // session refuses to list or run with a usage error naming it.
    const std::string where = info.file + ":" + std::to_string(info.line);
    for (const std::string *part : {&info.suite, &info.name}) {
        if (!is_identifier(*part)) {
            mutable_registration_errors().push_back("case name '" + info.suite + "." + info.name + "' at " + where +
                                                    ": suite and case must be C++ identifiers");
            return not_registered;
        }
    }
    if (info.invoker == nullptr) {
        mutable_registration_errors().push_back("case '" + info.full_name() + "' at " + where + " has no invoker");
        return not_registered;
    }
    if (info.suite.starts_with("DISABLED_") || info.name.starts_with("DISABLED_")) {
        info.ignored = true;
        if (info.ignore_reason.empty()) {
            info.ignore_reason = "DISABLED_ prefix";
        }
    }
    auto &cases = mutable_cases();
    static std::unordered_map<std::string, std::size_t> index_by_name; // O(1) duplicate check
    const auto [existing, inserted] = index_by_name.emplace(info.full_name(), cases.size());
    if (!inserted) {
        const case_info &first = cases[existing->second];
        mutable_registration_errors().push_back("case '" + info.full_name() + "' is registered twice: at " +
                                                first.file + ":" + std::to_string(first.line) + " and at " + where +
                                                " (rename one of them)");
        return not_registered;
    }
    cases.push_back(std::move(info));
    return cases.size() - 1;
}

const std::vector<std::string> &registration_errors() noexcept {
    return mutable_registration_errors();
}

const std::vector<case_info> &registered_cases() noexcept {
    return mutable_cases();
}

void register_global_fixture(global_fixture fixture) {
    mutable_fixtures().push_back(std::move(fixture));
}

const std::vector<global_fixture> &registered_global_fixtures() noexcept {
    return mutable_fixtures();
}

} // namespace pyasync::testing

namespace pyasync::testing::detail {

task<> completed() {
    co_return;
}

task<> run_fixture_case(erased_fixture_case erased) {
    co_await erased.set_up(erased.fixture.get());
    std::exception_ptr failure;
    try {
        co_await erased.body(erased.fixture.get());
    } catch (...) {
        failure = std::current_exception();
    }
    try {
        co_await erased.tear_down(erased.fixture.get());
    } catch (...) {
        if (!failure) {
            throw;
        }
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
}

void run_fixture_case_sync(const std::function<void()> &set_up, const std::function<void()> &body,
                           const std::function<void()> &tear_down) {
    // The async order is the one above; a sync case runs the same order without a loop turn.
    set_up();
    std::exception_ptr failure;
    try {
        body();
    } catch (...) {
        failure = std::current_exception();
    }
    try {
        tear_down();
    } catch (...) {
        if (!failure) {
            throw;
        }
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
}

} // namespace pyasync::testing::detail
