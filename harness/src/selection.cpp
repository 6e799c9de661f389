// Selection, sharding, ordering and listing: pure C++, no Python.
#include "selection.hpp"

#include "text/utf8.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <ostream>

namespace pyasync::testing::detail {
namespace {

/// libtest/nextest users write `Suite::Case`; our names are `Suite.Case`.
std::string normalise(std::string name) {
    for (auto at = name.find("::"); at != std::string::npos; at = name.find("::", at + 1)) {
        name.replace(at, 2, ".");
    }
    return name;
}

std::vector<std::string> split(const std::string &text, char separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
        const auto at = text.find(separator, start);
        parts.push_back(text.substr(start, at - start));
        if (at == std::string::npos) {
            return parts;
        }
        start = at + 1;
    }
}

bool any_pattern_matches(const std::string &patterns, const std::string &name) {
    for (const std::string &pattern : split(patterns, ':')) {
        if (glob_match(normalise(pattern), name)) {
            return true;
        }
    }
    return false;
}

struct tag_term {
    std::string tag;
    bool negated;
};

/// Alternatives (`,`) of conjunctions (juxtaposition) of possibly negated tags.
std::vector<std::vector<tag_term>> parse_tag_expression(const std::string &expression) {
    std::vector<std::vector<tag_term>> alternatives(1);
    bool negate = false;
    for (std::size_t i = 0; i < expression.size();) {
        const char c = expression[i];
        if (c == ' ') {
            ++i;
        } else if (c == '~') {
            negate = !negate;
            ++i;
        } else if (c == ',') {
            if (alternatives.back().empty() || negate) {
                break;
            }
            alternatives.emplace_back();
            ++i;
        } else if (c == '[') {
            const auto close = expression.find(']', i);
            if (close == std::string::npos || close == i + 1) {
                break;
            }
            alternatives.back().push_back({expression.substr(i + 1, close - i - 1), negate});
            negate = false;
            i = close + 1;
        } else {
            throw usage_error("invalid tag expression '" + expression + "' at '" + expression.substr(i) +
                              "': expected [tag], ~[tag] or ',' (like '[net][slow]' or '[a],~[b]')");
        }
    }
    if (negate || alternatives.back().empty()) {
        throw usage_error("invalid tag expression '" + expression +
                          "': expected [tag], ~[tag] or ',' (like '[net][slow]' or '[a],~[b]')");
    }
    return alternatives;
}

bool passes_filters(const case_info &info, const options &opts) {
    const std::string name = info.full_name();
    if (!opts.filters.empty()) {
        const bool any = std::any_of(opts.filters.begin(), opts.filters.end(), [&](const std::string &filter) {
            const std::string wanted = normalise(filter);
            return opts.exact ? name == wanted : name.find(wanted) != std::string::npos;
        });
        if (!any) {
            return false;
        }
    }
    for (const std::string &skip : opts.skips) {
        const std::string unwanted = normalise(skip);
        if (opts.exact ? name == unwanted : name.find(unwanted) != std::string::npos) {
            return false;
        }
    }
    if (opts.gtest_filter && !gtest_filter_matches(*opts.gtest_filter, name)) {
        return false;
    }
    if (!opts.tag_filters.empty()) {
        const bool any = std::any_of(opts.tag_filters.begin(), opts.tag_filters.end(),
                                     [&](const std::string &e) { return tag_expression_matches(e, info.tags); });
        if (!any) {
            return false;
        }
    }
    return true;
}

std::uint64_t mix(std::uint64_t x) { // splitmix64 finaliser
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

std::uint64_t rank(std::uint32_t seed, const std::string &name) {
    std::uint64_t hash = 1469598103934665603ULL; // FNV-1a of the name, mixed with the seed
    for (unsigned char c : name) {
        hash = (hash ^ c) * 1099511628211ULL;
    }
    return mix(hash ^ mix(seed));
}

const char *kind_name(case_kind kind) {
    return kind == case_kind::async ? "async" : "sync";
}

} // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
    std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') {
        ++p;
    }
    return p == pattern.size();
}

bool gtest_filter_matches(const std::string &filter, const std::string &name) {
    const auto dash = filter.find('-');
    std::string positive = filter.substr(0, dash);
    const std::string negative = dash == std::string::npos ? std::string() : filter.substr(dash + 1);
    if (positive.empty() && dash != std::string::npos) {
        positive = "*";
    }
    return any_pattern_matches(positive, name) && !(dash != std::string::npos && any_pattern_matches(negative, name));
}

bool tag_expression_matches(const std::string &expression, const std::vector<std::string> &tags) {
    for (const auto &conjunction : parse_tag_expression(expression)) {
        const bool all = std::all_of(conjunction.begin(), conjunction.end(), [&](const tag_term &term) {
            const bool has = std::find(tags.begin(), tags.end(), term.tag) != tags.end();
            return has != term.negated;
        });
        if (all) {
            return true;
        }
    }
    return false;
}

void validate_filters(const options &opts) {
    for (const std::string &expression : opts.tag_filters) {
        parse_tag_expression(expression);
    }
}

selection select_cases(const std::vector<case_info> &cases, const options &opts) {
    std::vector<const case_info *> declared;
    declared.reserve(cases.size());
    for (const case_info &info : cases) {
        declared.push_back(&info);
    }
    std::stable_sort(declared.begin(), declared.end(), [](const case_info *a, const case_info *b) {
        return std::tie(a->file, a->line) < std::tie(b->file, b->line);
    });
    selection chosen;
    for (const case_info *info : declared) {
        if (!passes_filters(*info, opts)) {
            ++chosen.filtered_out;
            continue;
        }
        const bool run = opts.ignored == ignored_mode::include || (opts.ignored == ignored_mode::only) == info->ignored;
        if (run) {
            chosen.runnable.push_back(info);
        } else if (info->ignored) {
            chosen.ignored.push_back(info);
        } else {
            ++chosen.filtered_out; // --ignored: the others are filtered out, as in libtest
        }
    }
    return chosen;
}

void keep_shard(selection &chosen, int count, int index) {
    auto keep = [&](std::vector<const case_info *> &cases) {
        std::vector<const case_info *> mine;
        for (std::size_t i = 0; i < cases.size(); ++i) {
            if (static_cast<int>(i % static_cast<std::size_t>(count)) == index) {
                mine.push_back(cases[i]);
            } else {
                ++chosen.filtered_out;
            }
        }
        cases = std::move(mine);
    };
    keep(chosen.runnable);
    keep(chosen.ignored);
}

std::vector<const case_info *> ordered(std::vector<const case_info *> cases, case_order order, std::uint32_t seed) {
    if (order == case_order::lexical) {
        std::stable_sort(cases.begin(), cases.end(),
                         [](const case_info *a, const case_info *b) { return a->full_name() < b->full_name(); });
    } else if (order == case_order::random) {
        std::stable_sort(cases.begin(), cases.end(), [seed](const case_info *a, const case_info *b) {
            return rank(seed, a->full_name()) < rank(seed, b->full_name());
        });
    }
    return cases;
}

namespace {

void append_json_strings(std::string &out, const std::vector<std::string> &items) {
    out += '[';
    for (std::size_t k = 0; k < items.size(); ++k) {
        if (k != 0) {
            out += ',';
        }
        append_json_string(out, items[k]);
    }
    out += ']';
}

} // namespace

// {"version":1,"cases":[…]}, one object per case, written as it goes: building a JSON
// document first made listing 10,000 cases four times slower than --gtest_list_tests.
void write_json_listing(std::ostream &out, const std::vector<const case_info *> &listed) {
    std::string text = "{\"version\":1,\"cases\":[";
    text.reserve(listed.size() * 256);
    for (std::size_t k = 0; k < listed.size(); ++k) {
        const case_info *info = listed[k];
        text += k == 0 ? "{\"name\":" : ",{\"name\":";
        append_json_string(text, info->full_name());
        text += ",\"suite\":";
        append_json_string(text, info->suite);
        text += ",\"case\":";
        append_json_string(text, info->name);
        text += ",\"file\":";
        append_json_string(text, info->file);
        text += ",\"line\":" + std::to_string(info->line) + ",\"kind\":\"" + kind_name(info->kind()) + "\",\"tags\":";
        append_json_strings(text, info->tags);
        text += info->ignored ? ",\"ignored\":true,\"reason\":" : ",\"ignored\":false,\"reason\":";
        append_json_string(text, info->ignore_reason);
        text += ",\"timeout_s\":";
        if (info->timeout_seconds) {
            char number[32];
            const auto end = std::to_chars(number, number + sizeof number, *info->timeout_seconds).ptr;
            text.append(number, end);
        } else {
            text += "null";
        }
        text += ",\"resource_locks\":";
        append_json_strings(text, info->resource_locks);
        text += '}';
    }
    text += "]}\n";
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

void write_listing(std::ostream &out, const selection &chosen, const options &opts) {
    // Listing shows what the same flags would run, plus ignored cases (as libtest and gtest do),
    // except that --ignored lists only those.
    std::vector<const case_info *> listed = chosen.runnable;
    listed.insert(listed.end(), chosen.ignored.begin(), chosen.ignored.end());
    std::stable_sort(listed.begin(), listed.end(), [](const case_info *a, const case_info *b) {
        return std::tie(a->file, a->line) < std::tie(b->file, b->line);
    });
    switch (opts.list) {
    case list_format::human:
    case list_format::terse:
        for (const case_info *info : listed) {
            out << info->full_name() << ": test\n";
        }
        if (opts.list == list_format::human) {
            out << "\n" << listed.size() << (listed.size() == 1 ? " test" : " tests") << ", 0 benchmarks\n";
        }
        break;
    case list_format::gtest: {
        const std::string *suite = nullptr;
        for (const case_info *info : listed) {
            if (suite == nullptr || *suite != info->suite) {
                out << info->suite << ".\n";
                suite = &info->suite;
            }
            out << "  " << info->name << "\n";
        }
        break;
    }
    case list_format::json: write_json_listing(out, listed); break;
    case list_format::tags: {
        std::map<std::string, int> counts;
        for (const case_info *info : listed) {
            for (const std::string &tag : info->tags) {
                ++counts[tag];
            }
        }
        out << "All available tags:\n";
        for (const auto &[tag, count] : counts) {
            out << "  " << count << "  [" << tag << "]\n";
        }
        out << counts.size() << (counts.size() == 1 ? " tag" : " tags") << "\n";
        break;
    }
    case list_format::none: break;
    }
}

} // namespace pyasync::testing::detail
