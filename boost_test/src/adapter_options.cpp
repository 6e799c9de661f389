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
        } else if (arg == "--include-ignored") {
            parsed.include_ignored = true;
        } else if (arg == "--list-json") {
            parsed.list_json = true;
        } else if (arg == "--help" || arg == "-h") {
            parsed.help = true;
        } else {
            throw std::invalid_argument("unknown pyasync option '" + arg +
                                        "' after '--': expected --loop-factory, --asyncio-debug, --strict-tasks, "
                                        "--include-ignored, --list-json or --help (Boost's options go before '--')");
        }
    }
    return parsed;
}

} // namespace pyasync::boost_test::detail
