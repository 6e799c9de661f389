// JSON string literals, written straight into a buffer (the listing of 10,000 cases must not
// build a document first).
#include "utf8.hpp"

#include <cstdio>
#include <string>

namespace pyasync::testing::detail {

void append_json_string(std::string &out, std::string_view text) {
    out += '"';
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t start = i;
        const long code = decode_utf8(text, i);
        if (code < 0) {
            out += "\xef\xbf\xbd";
        } else if (code == '"' || code == '\\') {
            out += '\\';
            out += static_cast<char>(code);
        } else if (code < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04lx", code);
            out += escaped;
        } else {
            out.append(text.substr(start, i - start));
        }
    }
    out += '"';
}

} // namespace pyasync::testing::detail
