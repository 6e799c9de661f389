// pyasync's own options in a Boost.Test binary: after `--` (Boost leaves them alone), with
// defaults from PYASYNC_* environment variables so ctest and CI can set them once.
#include "boost_session.hpp"

#include <cstdlib>
#include <stdexcept>

namespace pyasync::boost_test::detail {
namespace {

bool truthy(const char *value) {
    const std::string text = value == nullptr ? "" : value;
    return !text.empty() && text != "0" && text != "no" && text != "false";
}

bool schedule_flag(const std::string &arg) {
    for (const char *name : {"--schedule", "--schedule-seed", "--schedule-runs"}) {
        if (arg == name || arg.rfind(std::string(name) + "=", 0) == 0) {
            return true;
        }
    }
    return false;
}

/// The schedule options as a harness binary reads them (its flag table, its environment twins,
/// its defaults and its checks): one parser, one set of messages.
void resolve_schedule(adapter_options &parsed, const std::vector<std::string> &schedule_args) {
    const bool from_environment = std::getenv("PYASYNC_TEST_SCHEDULE") != nullptr ||
                                  std::getenv("PYASYNC_TEST_SCHEDULE_SEED") != nullptr ||
                                  std::getenv("PYASYNC_TEST_SCHEDULE_RUNS") != nullptr;
    if (schedule_args.empty() && !from_environment) {
        return;
    }
    std::vector<std::string> words{"boost"};
    words.insert(words.end(), schedule_args.begin(), schedule_args.end());
    if (!parsed.harness.loop_factory.empty()) {
        words.insert(words.end(), {"--loop-factory", parsed.harness.loop_factory});
    }
    std::vector<const char *> argv;
    argv.reserve(words.size());
    for (const std::string &word : words) {
        argv.push_back(word.c_str());
    }
    try {
        const testing::options harness = testing::options::parse(static_cast<int>(argv.size()), argv.data());
        parsed.harness.schedule = harness.schedule;
        parsed.harness.schedule_seed = harness.schedule_seed;
        parsed.harness.schedule_runs = harness.schedule_runs;
    } catch (const testing::usage_error &error) {
        throw std::invalid_argument(error.what());
    }
}

} // namespace

adapter_options &current_options() {
    static adapter_options options;
    return options;
}

const char *adapter_help() {
    return R"(pyasync's options for a Boost.Test binary, after `--` (Boost's own come before it):

  <binary> [Boost.Test options] -- [pyasync options]

  --loop-factory asyncio|uvloop|trio|module:callable
                      the event loop the cases run on (default: asyncio's own)
                      [env PYASYNC_LOOP_FACTORY]
  --asyncio-debug     run the loop in asyncio's debug mode       [env PYASYNC_ASYNCIO_DEBUG=1]
  --strict-tasks      a task left running by a case, or a coroutine never awaited, fails the
                      case (without it, a Boost warning: --log_level=warning shows it)
                                                                  [env PYASYNC_STRICT_TASKS=1]
  --schedule random|pct, --schedule-seed N, --schedule-runs K
                      run each async case under seeded schedules of the runtime's work, as a
                      harness binary does (see its --help)
                                      [env PYASYNC_TEST_SCHEDULE, _SEED, _RUNS]
  --include-ignored   also run PYASYNC_TEST cases marked ignore(...) when their suite is selected
  --list-json         describe the test tree as JSON on stdout and exit (what
                      pyasync_discover_boost_tests reads; Python is not started)
  --help              this text (Boost's own: --help before `--`)

Timeouts (Boost's timeout decorator, pyasync::boost_test::timeout for sub-second ones) cancel the
case through asyncio; Ctrl-C cancels the running case and stops the run.
)";
}

adapter_options parse_adapter_options(const std::vector<std::string> &args) {
    adapter_options parsed;
    if (const char *factory = std::getenv("PYASYNC_LOOP_FACTORY"); factory != nullptr) {
        parsed.harness.loop_factory = factory;
    }
    parsed.harness.asyncio_debug = truthy(std::getenv("PYASYNC_ASYNCIO_DEBUG"));
    parsed.harness.strict_tasks = truthy(std::getenv("PYASYNC_STRICT_TASKS"));
    std::vector<std::string> schedule_args;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string &arg = args[i];
        if (arg == "--loop-factory" || arg.rfind("--loop-factory=", 0) == 0) {
            if (arg.size() > std::string("--loop-factory").size()) {
                parsed.harness.loop_factory = arg.substr(std::string("--loop-factory=").size());
            } else if (i + 1 < args.size()) {
                parsed.harness.loop_factory = args[++i];
            } else {
                throw std::invalid_argument("--loop-factory expects a value: asyncio, uvloop or module:callable");
            }
        } else if (arg == "--asyncio-debug") {
            parsed.harness.asyncio_debug = true;
        } else if (arg == "--strict-tasks") {
            parsed.harness.strict_tasks = true;
        } else if (schedule_flag(arg)) {
            schedule_args.push_back(arg);
            if (arg.find('=') == std::string::npos) {
                if (i + 1 >= args.size()) {
                    throw std::invalid_argument(arg + " expects a value (see -- --help)");
                }
                schedule_args.push_back(args[++i]);
            }
        } else if (arg == "--include-ignored") {
            parsed.include_ignored = true;
        } else if (arg == "--list-json") {
            parsed.list_json = true;
        } else if (arg == "--help" || arg == "-h") {
            parsed.help = true;
        } else {
            throw std::invalid_argument("unknown pyasync option '" + arg +
                                        "' after '--': expected --loop-factory, --asyncio-debug, --strict-tasks, "
                                        "--schedule, --schedule-seed, --schedule-runs, --include-ignored, "
                                        "--list-json or --help (Boost's options go before '--')");
        }
    }
    resolve_schedule(parsed, schedule_args);
    return parsed;
}

} // namespace pyasync::boost_test::detail
