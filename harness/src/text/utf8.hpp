#pragma once
// Internal: UTF-8 decoding for the writers that must emit valid text whatever a case printed
// (JUnit XML, the JSON listing).

#include <cstddef>
#include <string>
#include <string_view>

namespace pyasync::testing::detail {

/// Decodes one UTF-8 sequence at `text[i]`; returns the code point (or -1 when invalid) and
/// advances `i`.
inline long decode_utf8(std::string_view text, std::size_t &i) {
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

/// Appends `text` to `out` as a JSON string literal (quotes included): control characters
/// escaped, bytes that are not UTF-8 replaced by U+FFFD (as nlohmann's `replace` handler does).
void append_json_string(std::string &out, std::string_view text);

} // namespace pyasync::testing::detail
