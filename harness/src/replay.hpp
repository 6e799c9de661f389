#pragma once
// Internal: `--report-events`, the reporting half of the pyasync-test driver. The driver runs
// several binaries with `--format json` and pipes their merged events (names prefixed with the
// binary) into one binary started with `--report-events`, which renders them with the same
// reporters a single binary uses: pretty, terse and JSON output and the JUnit file come from
// one place whichever front-end ran the cases.

#include <pyasync/testing/options.hpp>

#include <istream>
#include <string>

namespace pyasync::testing::detail {

/// Reads libtest JSON event lines from `in` until the closing suite event (or the end of the
/// stream) and reports them as `opts` asks (--format, --color, --quiet, --durations, --junit).
/// Besides the events a binary writes, it accepts {"type":"note","text":…} (a harness message
/// shown as the reporter shows notes). No Python. Returns 0, or 3 when the stream ended before
/// the run did, a line was not an event, or a report could not be written.
int replay_events(std::istream &in, const options &opts, const std::string &program);

} // namespace pyasync::testing::detail
