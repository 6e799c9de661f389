// `--help --format json`: the flag table as data (spellings, value, help, section, environment twin,
// default), for tools and for the documentation's
// command-line reference (docs/_ext/pyasync_reference.py), so that no flag is described twice.
#include "flag_table.hpp"

#include <nlohmann/json.hpp>

namespace pyasync::testing {

namespace {

const char *section_name(detail::flag_section section) {
    for (const auto &[listed, heading] : detail::help_headings) {
        if (listed == section) {
            return heading.data();
        }
    }
    return section == detail::flag_section::compatibility ? "Accepted for compatibility, without effect" : "hidden";
}

} // namespace

std::string options::help_json(const std::string &program) {
    nlohmann::json sections = nlohmann::json::array();
    for (const auto &[section, heading] : detail::help_headings) {
        sections.push_back(std::string(heading));
    }
    sections.push_back(section_name(detail::flag_section::compatibility));
    nlohmann::json flags = nlohmann::json::array();
    for (const detail::flag &f : detail::flags()) {
        if (f.section == detail::flag_section::hidden) {
            continue;
        }
        nlohmann::json names = nlohmann::json::array();
        for (std::string_view name : f.names) {
            names.push_back(std::string(name));
        }
        const bool has_twin = f.from_environment; // read by options::parse, as --help's note says
        flags.push_back({{"names", std::move(names)},
                         {"value", std::string(f.value_name)},
                         {"help", std::string(f.help)},
                         {"section", section_name(f.section)},
                         {"environment", has_twin ? nlohmann::json(detail::environment_name(f)) : nlohmann::json()},
                         {"default", f.default_value.empty() ? nlohmann::json() : nlohmann::json(f.default_value)}});
    }
    const nlohmann::json help{{"usage", program + std::string(detail::help_usage_arguments)},
                              {"summary", std::string(detail::help_summary)},
                              {"filters", std::string(detail::help_filters)},
                              {"sections", std::move(sections)},
                              {"flags", std::move(flags)},
                              {"environment", std::string(detail::help_environment)},
                              {"exit_status", std::string(detail::help_exit_status)}};
    return help.dump(2) + "\n";
}

} // namespace pyasync::testing
