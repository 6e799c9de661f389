// The result table, its rows and the record of a run.
#include "case_result.hpp"

namespace pyasync::testing::detail {

result_table &results() {
    static result_table table;
    return table;
}

case_result &result_table::add() {
    rows_.push_back(std::make_unique<case_result>());
    case_result &row = *rows_.back();
    row.id = first_id_ + static_cast<int>(rows_.size()) - 1;
    return row;
}

case_result *result_table::find(int id) noexcept {
    if (id < first_id_ || id - first_id_ >= static_cast<int>(rows_.size())) {
        return nullptr;
    }
    return rows_[static_cast<std::size_t>(id - first_id_)].get();
}

void result_table::retire(int id) {
    case_result *row = find(id);
    if (row == nullptr) {
        return;
    }
    retired_[retired_count_++ % remembered] = {id, row->info};
    rows_[static_cast<std::size_t>(id - first_id_)].reset();
    while (!rows_.empty() && !rows_.front()) {
        rows_.pop_front();
        ++first_id_;
    }
}

std::string result_table::case_name(int id) const {
    if (id >= first_id_ && id - first_id_ < static_cast<int>(rows_.size())) {
        if (const auto &row = rows_[static_cast<std::size_t>(id - first_id_)]) {
            return row->info->full_name();
        }
    }
    for (const retired_case &retired : retired_) {
        if (retired.info != nullptr && retired.id == id) {
            return retired.info->full_name();
        }
    }
    return {};
}

std::string describe_late_failure(const late_failure &failure) {
    return "pyasync-test: a failure outside any running case" +
           (failure.after.empty() ? std::string() : " (after the end of " + failure.after + ")") + ":\n" + failure.text;
}

void result_table::add_late_failure(std::string after, std::string text) {
    unreported.push_back({std::move(after), std::move(text)});
    has_unreported.store(true, std::memory_order_release);
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
    case_result &result = table.add();
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
