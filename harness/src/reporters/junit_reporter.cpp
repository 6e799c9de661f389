// `--junit PATH` (also --gtest_output=xml:PATH, XML_OUTPUT_FILE): JUnit XML in the shape
// GitLab, Jenkins and GitHub read (classname=Suite, name=Case, file, line, one merged
// <failure>, <skipped>, <system-out>), written at the end of the run, and as a partial report
// when the watchdog is about to abort the process. Text is made valid UTF-8 and XML 1.0
// whatever the cases printed.
#include "console.hpp"

#include "../text/utf8.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pyasync::testing::detail {
namespace {

/// Text made valid UTF-8 and XML 1.0, then escaped for an element or an attribute.
std::string xml_escape(std::string_view text, bool attribute) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t start = i;
        const long code = decode_utf8(text, i);
        if (code < 0 || code == 0xfffe || code == 0xffff) {
            out += "\xef\xbf\xbd"; // U+FFFD for bytes that are not UTF-8
        } else if (code < 0x20 && code != '\t' && code != '\n' && code != '\r') {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02lX", code); // not allowed in XML 1.0, even escaped
            out += escaped;
        } else if (code == '&') {
            out += "&amp;";
        } else if (code == '<') {
            out += "&lt;";
        } else if (code == '>') {
            out += "&gt;";
        } else if (code == '"' && attribute) {
            out += "&quot;";
        } else if (attribute && (code == '\n' || code == '\r' || code == '\t')) {
            out += "&#" + std::to_string(code) + ";";
        } else {
            out.append(text.substr(start, i - start));
        }
    }
    return out;
}

/// Writes the report; false (having said why on stderr) when the file cannot be written.
bool write_junit(const std::string &path, const std::string &program, const std::vector<const case_result *> &results,
                 const run_totals &totals, const run_properties &properties) {
    std::string target = path;
    if (!target.empty() && target.back() == '/') { // gtest: a folder gets <program>.xml
        const auto slash = program.rfind('/');
        target += (slash == std::string::npos ? program : program.substr(slash + 1)) + ".xml";
    }
    // Suites in order of first appearance, each with its cases.
    std::vector<std::string> order;
    std::map<std::string, std::vector<const case_result *>> by_suite;
    for (const case_result *result : results) {
        auto &list = by_suite[result->info->suite];
        if (list.empty()) {
            order.push_back(result->info->suite);
        }
        list.push_back(result);
    }
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", std::localtime(&now));
    auto count = [](const std::vector<const case_result *> &list, outcome status) {
        return std::count_if(list.begin(), list.end(), [&](const case_result *r) { return r->status == status; });
    };
    std::ostringstream xml;
    xml << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    xml << "<testsuites name=\"" << xml_escape(program, true) << "\" tests=\"" << results.size() << "\" failures=\""
        << totals.failed << "\" errors=\"0\" skipped=\"" << totals.skipped + totals.ignored << "\" time=\""
        << fixed_digits(totals.seconds, 3) << "\" timestamp=\"" << stamp << "\">\n";
    for (const std::string &suite : order) {
        const auto &list = by_suite[suite];
        double seconds = 0;
        for (const case_result *r : list) {
            seconds += r->seconds;
        }
        xml << "  <testsuite name=\"" << xml_escape(suite, true) << "\" tests=\"" << list.size() << "\" failures=\""
            << count(list, outcome::failed) << "\" errors=\"0\" skipped=\""
            << count(list, outcome::skipped) + count(list, outcome::ignored) << "\" time=\"" << fixed_digits(seconds, 3)
            << "\" timestamp=\"" << stamp << "\">\n";
        if (!properties.empty()) {
            xml << "    <properties>\n";
            for (const auto &[name, value] : properties) {
                xml << "      <property name=\"" << xml_escape(name, true) << "\" value=\"" << xml_escape(value, true)
                    << "\"/>\n";
            }
            xml << "    </properties>\n";
        }
        for (const case_result *r : list) {
            xml << "    <testcase classname=\"" << xml_escape(suite, true) << "\" name=\""
                << xml_escape(r->info->name, true) << "\" time=\"" << fixed_digits(r->seconds, 3) << "\" file=\""
                << xml_escape(r->info->file, true) << "\" line=\"" << r->info->line << "\"";
            if (r->status == outcome::passed && r->output.empty()) {
                xml << "/>\n";
                continue;
            }
            xml << ">\n";
            if (r->status == outcome::failed) {
                const std::string text = r->failure_text();
                std::string first = text.substr(0, text.find('\n'));
                xml << "      <failure message=\"" << xml_escape(first, true) << "\" type=\"failure\">"
                    << xml_escape(text, false) << "</failure>\n";
            } else if (r->status == outcome::skipped || r->status == outcome::ignored) {
                xml << "      <skipped message=\"" << xml_escape(r->skip_reason, true) << "\"/>\n";
            }
            if (!r->output.empty()) {
                xml << "      <system-out>" << xml_escape(r->output, false) << "</system-out>\n";
            }
            xml << "    </testcase>\n";
        }
        xml << "  </testsuite>\n";
    }
    xml << "</testsuites>\n";
    if (const auto parent = std::filesystem::path(target).parent_path(); !parent.empty()) {
        std::error_code ignored; // a failure shows when the file cannot be opened
        std::filesystem::create_directories(parent, ignored);
    }
    std::ofstream file(target, std::ios::binary | std::ios::trunc);
    if (!file) {
        std::fprintf(stderr, "pyasync-test: cannot write the JUnit report '%s': %s\n", target.c_str(),
                     std::strerror(errno));
        return false;
    }
    file << xml.str();
    file.close(); // the data reaches the file (or fails to: /dev/full, a full disk) here
    if (!file) {
        std::fprintf(stderr, "pyasync-test: cannot write the JUnit report '%s': %s\n", target.c_str(),
                     errno != 0 ? std::strerror(errno) : "write failed");
        return false;
    }
    return true;
}

class junit_reporter final : public reporter {
public:
    junit_reporter(std::string path, std::string program, const run_properties &properties)
            : path_(std::move(path)), program_(std::move(program)), properties_(properties) {}

    void run_started(const run_plan_summary &) override {}
    void case_started(const case_info &) override {}
    void case_finished(const case_result &) override {}
    void note(const std::string &) override {}

    void run_aborting(const std::vector<const case_result *> &results, const run_totals &totals) override {
        run_properties partial = properties_;
        partial["partial"] = "timed out";
        (void)write_junit(path_, program_, results, totals, partial);
    }

    bool run_finished(const std::vector<const case_result *> &results, const run_totals &totals) override {
        return write_junit(path_, program_, results, totals, properties_);
    }

private:
    std::string path_;
    std::string program_;
    const run_properties &properties_; ///< the session's: a property known only late (python) still shows
};

} // namespace

std::unique_ptr<reporter> make_junit_reporter(std::string path, std::string program, const run_properties &properties) {
    return std::make_unique<junit_reporter>(std::move(path), std::move(program), properties);
}

} // namespace pyasync::testing::detail
