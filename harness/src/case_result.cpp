// The result table, its rows and the record of a run.
#include "case_result.hpp"

namespace pyasync::testing::detail {

result_table &results() {
    static result_table table;
    return table;
}

std::string case_result::failure_text() const {
    std::string text;
    for (const std::string &failure : failures) {
        text += failure;
        if (!text.empty() && text.back() != '\n') {
            text += '\n';
        }
    }
    return text;
}

case_result &run_record::add(const case_info &info, int iteration) {
    auto &table = detail::results();
    std::lock_guard lock(table.mutex);
    table.results.push_back(std::make_unique<case_result>());
    case_result &result = *table.results.back();
    result.id = static_cast<int>(table.results.size() - 1);
    result.info = &info;
    result.iteration = iteration;
    results.push_back(&result);
    return result;
}

void run_record::count(const case_result &result) {
    switch (result.status) {
    case outcome::passed: ++totals.passed; break;
    case outcome::failed: ++totals.failed; break;
    case outcome::skipped: ++totals.skipped; break;
    case outcome::ignored: ++totals.ignored; break;
    }
}

} // namespace pyasync::testing::detail
