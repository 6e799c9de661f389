#pragma once
// Internal: progress lines (pretty, terse, json), the closing summary, and JUnit XML.

#include "case_result.hpp"

#include <pyasync/testing/options.hpp>

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pyasync::testing::detail {

struct run_totals {
    std::size_t passed = 0, failed = 0, skipped = 0, ignored = 0, filtered_out = 0;
    double seconds = 0;
    bool interrupted = false;
};

class reporter {
public:
    /// `out` is the real stdout (a duplicate kept while cases' output is captured).
    reporter(const options &opts, std::FILE *out);
    void run_started(std::size_t cases, std::size_t suites, std::optional<std::uint32_t> seed, int iteration,
                     int repeat);
    void case_started(const case_info &info);
    void case_finished(const case_result &result);
    void run_finished(const std::vector<const case_result *> &results, const run_totals &totals);
    /// A harness message (not a case's): stderr in json mode, else the real stdout.
    void note(const std::string &text);

private:
    std::string paint(const char *color, const std::string &text) const;
    void emit(const std::string &line);

    const options &opts_;
    std::FILE *out_;
    bool color_;
};

/// Writes JUnit XML (GitLab, Jenkins and GitHub shapes: classname=Suite, name=Case, file, line,
/// one merged <failure>, <skipped>, <system-out>). Text is escaped and made valid UTF-8 and
/// valid XML 1.0 whatever the cases printed. Returns false (and says why on stderr) when the
/// file cannot be written.
bool write_junit(const std::string &path, const std::string &program,
                 const std::vector<const case_result *> &results, const run_totals &totals,
                 const std::map<std::string, std::string> &properties);

/// Text made valid UTF-8 and XML 1.0, then escaped for an element or an attribute.
std::string xml_escape(std::string_view text, bool attribute);

} // namespace pyasync::testing::detail
