#pragma once
// Internal: the JSON event of a finished case, as `--format json` writes it (libtest's shape,
// with file and line): shared by the JSON reporter and the serving child's replies.

#include "reporter.hpp"

#include <nlohmann/json.hpp>

namespace pyasync::testing::detail {

/// {"type":"test","event":"ok"|"failed"|"skipped"|"ignored","name":…,"exec_time":…,"file":…,
/// "line":…} with "message" and "stdout" when there are any.
nlohmann::json case_event(const case_result &result);

} // namespace pyasync::testing::detail
