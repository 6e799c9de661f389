// `--format terse`: libtest's layout, a line per case and the failures gathered at the end.
#include "console.hpp"

namespace pyasync::testing::detail {
namespace {

using namespace colors;

class terse_reporter final : public reporter {
public:
    terse_reporter(const options &opts, std::FILE *out) : opts_(opts), out_(opts, out) {}

    void run_started(const run_plan_summary &plan) override {
        write_iteration_banner(out_, plan);
        out_.emit("\nrunning " + plural(plan.cases, "test"));
    }

    void case_started(const case_info &) override {}

    void case_finished(const case_result &result) override {
        const char *word = result.status == outcome::passed    ? "ok"
                           : result.status == outcome::failed  ? "FAILED"
                           : result.status == outcome::skipped ? "skipped"
                                                               : "ignored";
        const char *color = result.status == outcome::failed ? red : result.status == outcome::passed ? green : yellow;
        std::string line = "test " + result.info->full_name() + " ... " + out_.paint(color, word);
        if (!result.skip_reason.empty()) {
            line += ", " + result.skip_reason;
        }
        out_.emit(line);
    }

    void note(const std::string &text) override { out_.emit(text); }

    bool run_finished(const std::vector<const case_result *> &results, const run_totals &totals) override {
        std::vector<const case_result *> failed;
        for (const case_result *result : results) {
            if (result->status == outcome::failed) {
                failed.push_back(result);
            }
        }
        if (!failed.empty()) {
            out_.emit("\nfailures:");
            for (const case_result *result : failed) {
                out_.emit("\n---- " + result->info->full_name() + " ----\n" + result->output + result->failure_text());
            }
            out_.emit("failures:");
            for (const case_result *result : failed) {
                out_.emit("    " + result->info->full_name());
            }
        }
        write_closing_lines(out_, opts_, results, totals);
        return true;
    }

private:
    const options &opts_;
    console out_;
};

} // namespace

std::unique_ptr<reporter> make_terse_reporter(const options &opts, std::FILE *out) {
    return std::make_unique<terse_reporter>(opts, out);
}

} // namespace pyasync::testing::detail
