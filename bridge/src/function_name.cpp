// The name of a C++ coroutine in reports (function_name.hpp).
#include "function_name.hpp"

namespace pyasync::detail {

namespace {

constexpr std::size_t not_found = std::string_view::npos;

/// The position in `text` of the first character (or the last, `from_the_end`) that satisfies
/// `wanted` outside template arguments (a signature's template arguments may hold spaces,
/// parentheses and "::"), or not_found.
template <typename Wanted>
std::size_t find_outside_template_arguments(std::string_view text, bool from_the_end, Wanted wanted) {
    const char opening = from_the_end ? '>' : '<';
    const char closing = from_the_end ? '<' : '>';
    int depth = 0;
    for (std::size_t step = 0; step < text.size(); ++step) {
        const std::size_t i = from_the_end ? text.size() - 1 - step : step;
        if (text[i] == opening) {
            ++depth;
        } else if (text[i] == closing) {
            --depth;
        } else if (depth == 0 && wanted(text, i)) {
            return i;
        }
    }
    return not_found;
}

/// "ns::Class::method" from GCC's "pyasync::task<int> ns::Class::method(int)": the part before
/// the parameter list, after the return type.
std::string_view qualified_name(std::string_view signature) {
    const std::size_t open = find_outside_template_arguments(
        signature, false, [](std::string_view text, std::size_t i) { return text[i] == '('; });
    const std::string_view head = signature.substr(0, open);
    const std::size_t space = find_outside_template_arguments(
        head, true, [](std::string_view text, std::size_t i) { return text[i] == ' '; });
    return space == not_found ? head : head.substr(space + 1);
}

/// The last component of "ns::Class::method".
std::string_view last_component(std::string_view qualified) {
    const std::size_t colon =
        find_outside_template_arguments(qualified, true, [](std::string_view text, std::size_t i) {
            return i > 0 && text[i] == ':' && text[i - 1] == ':';
        });
    return colon == not_found ? qualified : qualified.substr(colon + 1);
}

} // namespace

std::string coroutine_function_name(std::string_view function_name) {
    // GCC names a lambda's call operator after its enclosing function ("ns::f()::<lambda()>").
    if (function_name.find("<lambda") != std::string_view::npos) {
        return "<lambda>";
    }
    // A call operator: Clang 14's bare "operator()", or GCC's "ns::Functor::operator()(int)";
    // both reach here as "operator" (the name ends where its parameter list starts).
    std::string_view name = last_component(qualified_name(function_name));
    if (name == "operator" || name.substr(0, 10) == "operator()") {
        return "<lambda>";
    }
    return std::string(name);
}

} // namespace pyasync::detail
