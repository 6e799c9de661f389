#pragma once
/// \file
/// `pyasync::def`: bind a C++ coroutine function as a Python async function, with a fast entry.
///
/// pybind11's `m.def` dispatcher costs about 65 ns a call (an argument tuple, two vectors, the
/// overload walk), more than a whole `await f(x)` of a Python coroutine. `pyasync::def` binds one
/// callable behind a vectorcall object: arguments are matched by position or keyword and
/// converted with pybind11's casters, then the task becomes a `pyasync.coroutine`.
///
/// - Accepts free functions, lambdas and member functions (`task<R> (C::*)(Args...)`; the
///   instance is kept alive while the coroutine lives) returning `pyasync::task<R>`.
/// - Arguments are converted **before** the coroutine is created. Parameters taken by value are
///   moved into the frame; reference parameters to converted values (`const std::string &`) get
///   owned copies so the lazy body never sees a dangling reference; references or pointers to
///   bound C++ classes refer to the Python-owned instance, which is kept alive.
/// - Extras: `py::arg("name")` (with `= default`) per Python-visible parameter, a `const char *`
///   docstring, and a trailing `py::args` parameter collects extra positional arguments.
/// - On a class, the object is a method descriptor: `obj.method(...)` passes `obj` as `self`.
/// - Thread: call at module initialisation with the GIL held.

#include <pyasync/detail/bound_callable.hpp>

namespace pyasync {

/// Binds `callable` (a function, lambda or member function returning `pyasync::task<R>`) as
/// `scope.name`, a Python async function. See the file comment for the argument rules.
template <typename F, typename... Extra>
py::object def(py::handle scope, const char *name, F &&callable, const Extra &...extra) {
    using bound = detail::bound_callable<std::decay_t<F>>;
    detail::function_spec spec;
    spec.name = name;
    spec.has_varargs = bound::has_varargs;
    spec.method = bound::traits::is_member;
    const std::size_t skip_self = spec.method ? 1 : 0;
    for (std::size_t i = 0; i < bound::named; ++i) {
        spec.parameter_names.push_back(i < skip_self ? "self" : "arg" + std::to_string(i - skip_self));
        spec.defaults.emplace_back();
    }
    std::size_t position = skip_self;
    (detail::apply_extra(spec, position, extra), ...);
    const std::size_t given = position - skip_self;
    if (sizeof...(Extra) > 0 && given != 0 && given != bound::named - skip_self) {
        throw py::value_error(std::string("pyasync::def(\"") + name + "\"): " + std::to_string(given) +
                              " py::arg given for " + std::to_string(bound::named - skip_self) +
                              " Python-visible parameters; name all of them or none");
    }
    auto *stored = new std::decay_t<F>(std::forward<F>(callable));
    return detail::new_function(scope, std::move(spec), &bound::invoke, stored,
                                [](void *p) { delete static_cast<std::decay_t<F> *>(p); });
}

} // namespace pyasync
