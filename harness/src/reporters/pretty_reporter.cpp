// `--format pretty` (the default): GoogleTest's layout, so people and tools that read gtest
// output read ours; `--quiet` keeps failures and the summary only.
#include "console.hpp"

#include <set>

namespace pyasync::testing::detail {
namespace {

using namespace colors;

class pretty_reporter final : public reporter {
public:
    pretty_reporter(const options &opts, std::FILE *out) : opts_(opts), out_(opts, out) {}

    void run_started(const run_plan_summary &plan) override {
        write_iteration_banner(out_, plan);
        out_.emit(out_.paint(green, "[==========]") + " Running " + plural(plan.cases, "test") + " from " +
                  plural(plan.suites, "suite") + ".");
    }

    void case_started(const case_info &info) override {
        if (!opts_.quiet) {
            out_.emit(out_.paint(green, "[ RUN      ]") + " " + info.full_name());
        }
    }

    void case_finished(const case_result &result) override {
        const std::string name = result.info->full_name();
        if (result.status == outcome::failed) {
            write_failure_detail(result);
        }
        const std::string time = " (" + milliseconds(result.seconds) + ")";
        switch (result.status) {
        case outcome::passed:
            if (!opts_.quiet) {
                out_.emit(out_.paint(green, "[       OK ]") + " " + name + time);
            }
            break;
        case outcome::failed: out_.emit(out_.paint(red, "[  FAILED  ]") + " " + name + time); break;
        case outcome::skipped:
            if (!opts_.quiet) {
                out_.emit("Skipped: " + result.skip_reason);
                out_.emit(out_.paint(yellow, "[  SKIPPED ]") + " " + name + time);
            }
            break;
        case outcome::ignored:
            if (!opts_.quiet) {
                out_.emit(out_.paint(yellow, "[  IGNORED ]") + " " + name + ": " + result.skip_reason);
            }
            break;
        }
    }

    void note(const std::string &text) override { out_.emit(text); }

    bool run_finished(const std::vector<const case_result *> &results, const run_totals &totals) override {
        std::vector<const case_result *> failed;
        std::set<std::string> suites;
        for (const case_result *result : results) {
            suites.insert(result->info->suite);
            if (result->status == outcome::failed) {
                failed.push_back(result);
            }
        }
        const std::size_t ran = totals.passed + totals.failed + totals.skipped;
        out_.emit(out_.paint(green, "[==========]") + " " + plural(ran, "test") + " from " +
                  plural(suites.size(), "suite") + " ran. (" + milliseconds(totals.seconds) + " total)");
        out_.emit(out_.paint(green, "[  PASSED  ]") + " " + plural(totals.passed, "test") + ".");
        if (totals.skipped != 0) {
            out_.emit(out_.paint(yellow, "[  SKIPPED ]") + " " + plural(totals.skipped, "test") + ".");
        }
        if (!failed.empty()) {
            out_.emit(out_.paint(red, "[  FAILED  ]") + " " + plural(failed.size(), "test") + ", listed below:");
            for (const case_result *result : failed) {
                out_.emit(out_.paint(red, "[  FAILED  ]") + " " + result->info->full_name());
            }
        }
        write_closing_lines(out_, opts_, results, totals);
        return true;
    }

private:
    /// The captured output (framed, so it is not mistaken for the harness's) and the failures,
    /// under the case's RUN line (printed here under --quiet, which hides it for passing cases).
    void write_failure_detail(const case_result &result) {
        std::string detail;
        if (!result.output.empty()) {
            detail += "---- captured output of " + result.info->full_name() + " ----\n" + result.output;
            if (detail.back() != '\n') {
                detail += '\n';
            }
            detail += "---- end of captured output ----\n";
        }
        detail += result.failure_text();
        if (!detail.empty()) {
            detail.pop_back();
            if (opts_.quiet) {
                out_.emit(out_.paint(green, "[ RUN      ]") + " " + result.info->full_name());
            }
            out_.emit(detail);
        }
    }

    const options &opts_;
    console out_;
};

} // namespace

std::unique_ptr<reporter> make_pretty_reporter(const options &opts, std::FILE *out) {
    return std::make_unique<pretty_reporter>(opts, out);
}

} // namespace pyasync::testing::detail
