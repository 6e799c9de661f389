// Progress lines, the summary and JUnit XML.
#include "report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

namespace pyasync::testing::detail {
namespace {

const char *green = "\033[32m";
const char *red = "\033[31m";
const char *yellow = "\033[33m";

std::string milliseconds(double seconds) { return std::to_string(static_cast<long long>(seconds * 1000 + 0.5)) + " ms"; }

std::string plural(std::size_t count, const char *word) {
    return std::to_string(count) + " " + word + (count == 1 ? "" : "s");
}

std::string fixed(double value, int digits) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
    return buffer;
}

/// Decodes one UTF-8 sequence at `text[i]`; returns the code point (or -1 when invalid) and
/// advances `i`.
long decode(std::string_view text, std::size_t &i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    int length = byte < 0x80 ? 1 : (byte >> 5) == 0x6 ? 2 : (byte >> 4) == 0xe ? 3 : (byte >> 3) == 0x1e ? 4 : 0;
    if (length == 0 || i + static_cast<std::size_t>(length) > text.size()) {
        ++i;
        return -1;
    }
    long code = length == 1 ? byte : byte & (0x7f >> length);
    for (int k = 1; k < length; ++k) {
        const auto next = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
        if ((next & 0xc0) != 0x80) {
            ++i;
            return -1;
        }
        code = (code << 6) | (next & 0x3f);
    }
    static constexpr long minimum[] = {0, 0, 0x80, 0x800, 0x10000};
    i += static_cast<std::size_t>(length);
    return code < minimum[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) ? -1 : code;
}

} // namespace

std::string xml_escape(std::string_view text, bool attribute) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t start = i;
        const long code = decode(text, i);
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

reporter::reporter(const options &opts, std::FILE *out) : opts_(opts), out_(out) {
    const char *term = std::getenv("TERM");
    color_ = opts.color == color_mode::always ||
             (opts.color == color_mode::automatic && isatty(fileno(out)) != 0 &&
              !(term != nullptr && std::strcmp(term, "dumb") == 0));
}

std::string reporter::paint(const char *color, const std::string &text) const {
    return color_ ? std::string(color) + text + "\033[0m" : text;
}

void reporter::emit(const std::string &line) {
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fputc('\n', out_);
    std::fflush(out_);
}

void reporter::note(const std::string &text) {
    if (opts_.format == output_format::json) {
        std::fprintf(stderr, "%s\n", text.c_str());
    } else {
        emit(text);
    }
}

void reporter::run_started(std::size_t cases, std::size_t suites, std::optional<std::uint32_t> seed, int iteration,
                           int repeat) {
    if (opts_.format == output_format::json) {
        emit(nlohmann::json{{"type", "suite"}, {"event", "started"}, {"test_count", cases}}.dump());
        return;
    }
    if (repeat != 1) {
        emit("\nRepeating all tests (iteration " + std::to_string(iteration + 1) + ") . . .\n");
    }
    if (seed) {
        emit("Shuffling with seed " + std::to_string(*seed) + " (--seed " + std::to_string(*seed) + " repeats this order)");
    }
    if (opts_.format == output_format::pretty) {
        emit(paint(green, "[==========]") + " Running " + plural(cases, "test") + " from " + plural(suites, "suite") + ".");
    } else {
        emit("\nrunning " + plural(cases, "test"));
    }
}

void reporter::case_started(const case_info &info) {
    if (opts_.format == output_format::json) {
        emit(nlohmann::json{{"type", "test"}, {"event", "started"}, {"name", info.full_name()}}.dump());
    } else if (opts_.format == output_format::pretty && !opts_.quiet) {
        emit(paint(green, "[ RUN      ]") + " " + info.full_name());
    }
}

void reporter::case_finished(const case_result &result) {
    const std::string name = result.info->full_name();
    if (opts_.format == output_format::json) {
        nlohmann::json event{{"type", "test"}, {"name", name}, {"exec_time", result.seconds}};
        switch (result.status) {
        case outcome::passed: event["event"] = "ok"; break;
        case outcome::failed: event["event"] = "failed"; event["message"] = result.failure_text(); break;
        case outcome::skipped: event["event"] = "skipped"; event["message"] = result.skip_reason; break;
        case outcome::ignored: event["event"] = "ignored"; event["message"] = result.skip_reason; break;
        }
        if (!result.output.empty()) {
            event["stdout"] = result.output;
        }
        // nlohmann refuses invalid UTF-8 by default; replace it instead of losing the event.
        emit(event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        return;
    }
    if (opts_.format == output_format::terse) {
        const char *word = result.status == outcome::passed    ? "ok"
                           : result.status == outcome::failed  ? "FAILED"
                           : result.status == outcome::skipped ? "skipped"
                                                               : "ignored";
        std::string line = "test " + name + " ... " +
                           paint(result.status == outcome::failed ? red : result.status == outcome::passed ? green : yellow, word);
        if (!result.skip_reason.empty()) {
            line += ", " + result.skip_reason;
        }
        emit(line);
        return;
    }
    std::string detail;
    if (result.status == outcome::failed && !result.output.empty()) {
        detail += "---- captured output of " + name + " ----\n" + result.output;
        if (detail.back() != '\n') {
            detail += '\n';
        }
        detail += "---- end of captured output ----\n";
    }
    if (result.status == outcome::failed) {
        detail += result.failure_text();
    }
    if (!detail.empty()) {
        detail.pop_back();
        if (opts_.quiet) {
            emit(paint(green, "[ RUN      ]") + " " + name);
        }
        emit(detail);
    }
    const std::string time = " (" + milliseconds(result.seconds) + ")";
    switch (result.status) {
    case outcome::passed:
        if (!opts_.quiet) {
            emit(paint(green, "[       OK ]") + " " + name + time);
        }
        break;
    case outcome::failed: emit(paint(red, "[  FAILED  ]") + " " + name + time); break;
    case outcome::skipped:
        if (!opts_.quiet) {
            emit("Skipped: " + result.skip_reason);
            emit(paint(yellow, "[  SKIPPED ]") + " " + name + time);
        }
        break;
    case outcome::ignored:
        if (!opts_.quiet) {
            emit(paint(yellow, "[  IGNORED ]") + " " + name + ": " + result.skip_reason);
        }
        break;
    }
}

void reporter::run_finished(const std::vector<const case_result *> &results, const run_totals &totals) {
    const std::string summary = std::to_string(totals.passed) + " passed, " + std::to_string(totals.failed) +
                                " failed, " + std::to_string(totals.skipped) + " skipped, " +
                                std::to_string(totals.ignored) + " ignored; " + std::to_string(totals.filtered_out) +
                                " filtered out; finished in " + fixed(totals.seconds, 2) + "s";
    if (opts_.format == output_format::json) {
        emit(nlohmann::json{{"type", "suite"},
                            {"event", totals.failed == 0 && !totals.interrupted ? "ok" : "failed"},
                            {"passed", totals.passed},
                            {"failed", totals.failed},
                            {"skipped", totals.skipped},
                            {"ignored", totals.ignored},
                            {"measured", 0},
                            {"filtered_out", totals.filtered_out},
                            {"interrupted", totals.interrupted},
                            {"exec_time", totals.seconds}}
                 .dump());
        return;
    }
    std::vector<const case_result *> failed;
    std::set<std::string> suites;
    for (const case_result *result : results) {
        suites.insert(result->info->suite);
        if (result->status == outcome::failed) {
            failed.push_back(result);
        }
    }
    if (opts_.format == output_format::pretty) {
        const std::size_t ran = totals.passed + totals.failed + totals.skipped;
        emit(paint(green, "[==========]") + " " + plural(ran, "test") + " from " + plural(suites.size(), "suite") +
             " ran. (" + milliseconds(totals.seconds) + " total)");
        emit(paint(green, "[  PASSED  ]") + " " + plural(totals.passed, "test") + ".");
        if (totals.skipped != 0) {
            emit(paint(yellow, "[  SKIPPED ]") + " " + plural(totals.skipped, "test") + ".");
        }
        if (!failed.empty()) {
            emit(paint(red, "[  FAILED  ]") + " " + plural(failed.size(), "test") + ", listed below:");
            for (const case_result *result : failed) {
                emit(paint(red, "[  FAILED  ]") + " " + result->info->full_name());
            }
        }
    } else if (!failed.empty()) {
        emit("\nfailures:");
        for (const case_result *result : failed) {
            emit("\n---- " + result->info->full_name() + " ----\n" + result->output + result->failure_text());
        }
        emit("failures:");
        for (const case_result *result : failed) {
            emit("    " + result->info->full_name());
        }
    }
    if (opts_.durations) {
        std::vector<const case_result *> slowest = results;
        std::stable_sort(slowest.begin(), slowest.end(),
                         [](const case_result *a, const case_result *b) { return a->seconds > b->seconds; });
        if (*opts_.durations > 0 && slowest.size() > static_cast<std::size_t>(*opts_.durations)) {
            slowest.resize(static_cast<std::size_t>(*opts_.durations));
        }
        emit("slowest " + plural(slowest.size(), "case") + ":");
        for (const case_result *result : slowest) {
            emit("  " + fixed(result->seconds, 3) + "s " + result->info->full_name());
        }
    }
    if (totals.interrupted) {
        emit(paint(red, "interrupted") + ": the run was stopped by Ctrl-C");
    }
    const bool ok = totals.failed == 0 && !totals.interrupted;
    emit("test result: " + paint(ok ? green : red, ok ? "ok" : "FAILED") + ". " + summary);
}

bool write_junit(const std::string &path, const std::string &program, const std::vector<const case_result *> &results,
                 const run_totals &totals, const std::map<std::string, std::string> &properties) {
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
        << fixed(totals.seconds, 3) << "\" timestamp=\"" << stamp << "\">\n";
    for (const std::string &suite : order) {
        const auto &list = by_suite[suite];
        double seconds = 0;
        for (const case_result *r : list) {
            seconds += r->seconds;
        }
        xml << "  <testsuite name=\"" << xml_escape(suite, true) << "\" tests=\"" << list.size() << "\" failures=\""
            << count(list, outcome::failed) << "\" errors=\"0\" skipped=\""
            << count(list, outcome::skipped) + count(list, outcome::ignored) << "\" time=\"" << fixed(seconds, 3)
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
                << xml_escape(r->info->name, true) << "\" time=\"" << fixed(r->seconds, 3) << "\" file=\""
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
        std::fprintf(stderr, "pyasync-test: cannot write the JUnit report '%s': %s\n", target.c_str(), std::strerror(errno));
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

} // namespace pyasync::testing::detail
