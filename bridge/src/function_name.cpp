// The name of a C++ coroutine in reports (function_name.hpp).
#include "function_name.hpp"

namespace pyasync::detail {

namespace {

/// "ns::Class::method" from GCC's "pyasync::task<int> ns::Class::method(int)": the part before
/// the parameter list, after the return type (template arguments may hold spaces and parens).
std::string_view qualified_name(std::string_view signature) {
    int depth = 0;
    std::size_t open = signature.size();
    for (std::size_t i = 0; i < signature.size(); ++i) {
        const char c = signature[i];
        if (c == '<') {
            ++depth;
        } else if (c == '>') {
            --depth;
        } else if (c == '(' && depth == 0) {
            open = i;
            break;
        }
    }
    std::string_view head = signature.substr(0, open);
    depth = 0;
    for (std::size_t i = head.size(); i-- > 0;) {
        const char c = head[i];
        if (c == '>') {
            ++depth;
        } else if (c == '<') {
            --depth;
        } else if (c == ' ' && depth == 0) {
            return head.substr(i + 1);
        }
    }
    return head;
}

/// The last component of "ns::Class::method" (outside template arguments).
std::string_view last_component(std::string_view qualified) {
    int depth = 0;
    for (std::size_t i = qualified.size(); i-- > 1;) {
        const char c = qualified[i];
        if (c == '>') {
            ++depth;
        } else if (c == '<') {
            --depth;
        } else if (depth == 0 && c == ':' && qualified[i - 1] == ':') {
            return qualified.substr(i + 1);
        }
    }
    return qualified;
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
