#pragma once
// Internal: `pyasync::detail::source_location`, std::source_location where the standard
// library provides it, else the same interface built on the compiler's __builtin_FILE/LINE/
// FUNCTION. libstdc++ 12 offers std::source_location only to compilers with
// __builtin_source_location (GCC 11+, Clang 15+): with this, Clang 14 and the clang-tidy
// built on it (Debian bookworm's) compile pyasync too.

#include <cstdint>
#if __has_include(<source_location>)
#    include <source_location>
#endif

namespace pyasync::detail {

#if defined(__cpp_lib_source_location)
using source_location = std::source_location;
#else
class source_location {
public:
    static constexpr source_location current(const char *file = __builtin_FILE(),
                                             const char *function = __builtin_FUNCTION(),
                                             std::uint_least32_t line = __builtin_LINE()) noexcept {
        source_location where;
        where.file_ = file;
        where.function_ = function;
        where.line_ = line;
        return where;
    }
    constexpr source_location() noexcept = default;
    [[nodiscard]] constexpr const char *file_name() const noexcept { return file_; }
    [[nodiscard]] constexpr const char *function_name() const noexcept { return function_; }
    [[nodiscard]] constexpr std::uint_least32_t line() const noexcept { return line_; }
    [[nodiscard]] constexpr std::uint_least32_t column() const noexcept { return 0; }

private:
    const char *file_ = "";
    const char *function_ = "";
    std::uint_least32_t line_ = 0;
};
#endif

} // namespace pyasync::detail
