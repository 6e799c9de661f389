#pragma once
// Internal: the name reports give a C++ coroutine, the same under every compiler.
#include <string>
#include <string_view>

namespace pyasync::detail {

/// The coroutine function's own name, as `__func__` spells it, from a source location's
/// function name: GCC's is the whole signature ("pyasync::task<int> ns::Class::method(int)"),
/// Clang 14's (`__builtin_FUNCTION`) the bare name ("method"). Both give "method"; a lambda or
/// another call operator gives "<lambda>". Namespaces and classes are left out, as Python's
/// `__qualname__` leaves out the module: the report's file and line say where it is.
std::string coroutine_function_name(std::string_view function_name);

} // namespace pyasync::detail
