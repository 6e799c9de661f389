// The pyasync-test command line: parsed from the flag table, with the environment's twins and
// the ecosystem's protocols (GoogleTest, Bazel, CTest), and `--help` written from the table.
#include "flag_table.hpp"
#include "option_values.hpp"

#include <pyasync/detail/schedule.hpp>

#include <random>

#include <cstdlib>

namespace pyasync::testing {
namespace {

using detail::flag;
using detail::flag_section;
using detail::parse_state;

const char *environment(const char *name) {
    const char *value = std::getenv(name);
    return value != nullptr && *value != '\0' ? value : nullptr;
}

/// The ecosystem's variables first, then PYASYNC_TEST_<FLAG> (ours win); the command line,
/// read after, wins over both.
void apply_environment(parse_state &p) {
    options &o = p.o;
    for (const char *name : {"TESTBRIDGE_TEST_ONLY", "GTEST_FILTER"}) {
        if (const char *value = environment(name)) {
            o.gtest_filter = value;
        }
    }
    if (const char *value = environment("TESTBRIDGE_TEST_RUNNER_FAIL_FAST")) {
        o.fail_fast = detail::to_bool(value, "TESTBRIDGE_TEST_RUNNER_FAIL_FAST");
    }
    if (const char *value = environment("XML_OUTPUT_FILE")) {
        o.junit_paths = {value};
    }
    if (const char *value = environment("GTEST_OUTPUT")) {
        o.junit_paths.clear();
        detail::add_gtest_output(o, value, "GTEST_OUTPUT");
    }
    for (const flag &f : detail::flags()) {
        if (!f.from_environment) {
            continue;
        }
        const std::string name = detail::environment_name(f);
        if (const char *value = environment(name.c_str())) {
            if (f.takes_value()) {
                f.apply(p, value, name);
            } else if (detail::to_bool(value, name)) {
                f.apply(p, "", name);
            }
        }
    }
    if (environment("NO_COLOR") != nullptr && o.color == color_mode::automatic) {
        o.color = color_mode::never;
    }
    if (const char *value = environment("TEST_RANDOM_SEED"); value != nullptr && !o.seed) {
        // Bazel's; PYASYNC_TEST_SEED (read above) and --seed (read later) win.
        o.seed = static_cast<std::uint32_t>(detail::to_int(value, "TEST_RANDOM_SEED", 0));
    }
    for (const char *name : {"TEST_SHARD_STATUS_FILE", "GTEST_SHARD_STATUS_FILE"}) {
        if (const char *path = environment(name)) {
            o.shard_status_files.emplace_back(path);
        }
    }
    if (const char *path = environment("TEST_PREMATURE_EXIT_FILE")) {
        o.premature_exit_file = path;
    }
    if (const char *fd = environment("PYASYNC_TEST_EVENT_FD")) {
        o.event_fd = detail::to_int(fd, "PYASYNC_TEST_EVENT_FD", 0);
    }
}

/// The Bazel/GoogleTest sharding protocol, unless --shard-count/--shard-index were given.
void apply_shard_environment(options &o) {
    if (o.shard_count) {
        return;
    }
    for (const auto &[total_name, index_name] :
         {std::pair{"TEST_TOTAL_SHARDS", "TEST_SHARD_INDEX"}, std::pair{"GTEST_TOTAL_SHARDS", "GTEST_SHARD_INDEX"}}) {
        const char *total = environment(total_name);
        const char *index = environment(index_name);
        if (total == nullptr && index == nullptr) {
            continue;
        }
        if (total == nullptr || index == nullptr) {
            throw usage_error(std::string(total == nullptr ? index_name : total_name) + " is set but " +
                              (total == nullptr ? total_name : index_name) + " is not: set both or neither");
        }
        const int count = detail::to_int(total, total_name, 0);
        const int at = detail::to_int(index, index_name, 0);
        if (count < 1 || at >= count) {
            throw usage_error(std::string(index_name) + "=" + index + " is out of range for " + total_name + "=" +
                              total);
        }
        o.shard_count = count;
        o.shard_index = at;
        return;
    }
}

/// --format means a listing format under --list, else an output format.
void resolve_format(parse_state &p) {
    if (p.format.empty()) {
        return;
    }
    if (p.o.list != list_format::none) {
        p.o.list = detail::to_choice<list_format>(p.format, "--format",
                                                  {{"human", list_format::human},
                                                   {"pretty", list_format::human},
                                                   {"terse", list_format::terse},
                                                   {"json", list_format::json}});
    } else {
        p.o.format = detail::to_choice<output_format>(
            p.format, "--format",
            {{"pretty", output_format::pretty}, {"terse", output_format::terse}, {"json", output_format::json}});
    }
}

void check_shards(const options &o) {
    if (o.shard_count.has_value() != o.shard_index.has_value()) {
        throw usage_error("--shard-count and --shard-index go together: give both or neither");
    }
    if (o.shard_count && *o.shard_index >= *o.shard_count) {
        throw usage_error("--shard-index " + std::to_string(*o.shard_index) + " is out of range: expected 0 to " +
                          std::to_string(*o.shard_count - 1));
    }
}

/// Schedule exploration: any of its flags turns it on, and the others get their defaults. Needs
/// one case at a time (the lockstep runtime is the process's) and an asyncio-compatible loop.
void resolve_schedule(options &o) {
    if (!o.schedule && !o.schedule_seed && !o.schedule_runs) {
        return;
    }
    const bool replay = o.schedule_seed && !o.schedule_runs;
    o.schedule = o.schedule.value_or(schedule_strategy::random);
    o.schedule_runs = o.schedule_runs.value_or(replay ? 1 : pyasync::detail::default_schedule_runs);
    if (!o.schedule_seed) {
        std::random_device entropy;
        o.schedule_seed = ((std::uint64_t{entropy()} << 32) | entropy()) >> 1;
    }
    if (o.test_threads != 1) {
        throw usage_error("--schedule explores one case at a time, but --test-threads is " +
                          std::to_string(o.test_threads) + ": leave --test-threads out, or explore without it");
    }
}

} // namespace

options options::parse(int argc, const char *const *argv) {
    options o;
    parse_state p{o};
    apply_environment(p);
    for (int i = 1; i < argc; ++i) {
        const std::string argument = argv[i];
        if (argument == "--") {
            o.python_args.assign(argv + i + 1, argv + argc);
            break;
        }
        const bool looks_like_flag = argument.size() > 1 && argument[0] == '-' && argument != "-";
        if (!looks_like_flag) {
            if (argument.starts_with("[") || argument.starts_with("~[")) {
                o.tag_filters.push_back(argument);
            } else {
                o.filters.push_back(argument);
            }
            continue;
        }
        const auto equals = argument.find('=');
        const std::string name = argument.substr(0, equals);
        const flag *f = detail::find_flag(name);
        if (f == nullptr) {
            throw usage_error("unknown option '" + name + "' (see --help)");
        }
        std::string value;
        if (equals != std::string::npos) {
            value = argument.substr(equals + 1);
        } else if (f->takes_value()) {
            if (i + 1 >= argc) {
                throw usage_error("option '" + name + "' needs a value");
            }
            value = argv[++i];
        }
        if ((f->names.front() == "--junit" || f->names.front() == "--gtest_output") && !p.junit_from_command_line) {
            o.junit_paths.clear(); // the command line replaces XML_OUTPUT_FILE
            p.junit_from_command_line = true;
        }
        f->apply(p, value, name);
    }
    resolve_format(p);
    check_shards(o);
    apply_shard_environment(o);
    resolve_schedule(o);
    return o;
}

namespace {

constexpr std::size_t help_column = 28;

/// "  -t, --tag EXPR": the short spellings first, then the long ones.
std::string spellings(const flag &f) {
    std::string shorts, longs;
    for (std::string_view name : f.names) {
        std::string &into = name.size() == 2 ? shorts : longs;
        into += (into.empty() ? "" : ", ") + std::string(name);
    }
    std::string text = shorts.empty() ? longs : shorts + ", " + longs;
    if (f.takes_value()) {
        text += " " + std::string(f.value_name);
    }
    return text;
}

void append_entry(std::string &out, const std::string &names, std::string_view help) {
    std::string line = "  " + names;
    if (line.size() + 2 > help_column) {
        out += line + "\n";
        line.clear();
    }
    std::size_t start = 0;
    while (start <= help.size()) {
        const std::size_t end = std::min(help.find('\n', start), help.size());
        line.resize(help_column, ' ');
        out += line + std::string(help.substr(start, end - start)) + "\n";
        line.clear();
        start = end + 1;
    }
}

} // namespace

std::string options::help_text(const std::string &program) {
    std::string out = "Usage: " + program + std::string(detail::help_usage_arguments) + "\n\n" +
                      std::string(detail::help_summary) + "\n";
    for (const auto &[section, heading] : detail::help_headings) {
        out += std::string("\n") + std::string(heading) + ":\n";
        if (section == flag_section::selection) {
            append_entry(out, "FILTER...", detail::help_filters);
        }
        for (const flag &f : detail::flags()) {
            if (f.section == section) {
                append_entry(out, spellings(f),
                             f.default_value.empty()
                                 ? std::string(f.help)
                                 : std::string(f.help) + "\n(default: " + std::string(f.default_value) + ")");
            }
        }
    }
    out += "\nAccepted for compatibility, without effect:\n";
    std::string line = " ";
    for (const flag &f : detail::flags()) {
        for (std::string_view name : f.section == flag_section::compatibility ? f.names : decltype(f.names){}) {
            if (line.size() + name.size() + 1 > 92) {
                out += line + "\n";
                line = " ";
            }
            line += " " + std::string(name);
        }
    }
    out +=
        line + "\n\n" + std::string(detail::help_environment) + "\n\n" + std::string(detail::help_exit_status) + "\n";
    return out;
}

} // namespace pyasync::testing
