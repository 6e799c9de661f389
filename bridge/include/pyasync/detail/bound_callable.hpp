#pragma once
// Internal: the machinery behind `pyasync::def`: a callable's signature taken apart, arguments
// matched by position or keyword and converted with pybind11's casters, the vectorcall entry
// (`bound_callable<F>::invoke`), and the extras (`py::arg`, defaults, a docstring) applied to
// the function's spec. Called by Python with the GIL held, on the loop thread.

#include <pyasync/cast.hpp>
#include <pyasync/detail/function_object.hpp>

#include <functional>
#include <tuple>

namespace pyasync {
namespace detail {

template <typename T>
struct task_result;
template <typename T>
struct task_result<task<T>> {
    using type = T;
};

template <typename Signature>
struct callable_traits;
template <typename R, typename... Args>
struct callable_traits<R (*)(Args...)> {
    using result = R;
    using arguments = std::tuple<Args...>;
    static constexpr bool is_member = false;
};
template <typename R, typename C, typename... Args>
struct callable_traits<R (C::*)(Args...)> {
    using result = R;
    using arguments = std::tuple<C &, Args...>;
    static constexpr bool is_member = true;
};
template <typename R, typename C, typename... Args>
struct callable_traits<R (C::*)(Args...) const> {
    using result = R;
    using arguments = std::tuple<const C &, Args...>;
    static constexpr bool is_member = true;
};
template <typename Call>
struct call_operator_traits;
template <typename R, typename C, typename... Args>
struct call_operator_traits<R (C::*)(Args...) const> {
    using result = R;
    using arguments = std::tuple<Args...>;
};
template <typename R, typename C, typename... Args>
struct call_operator_traits<R (C::*)(Args...)> {
    using result = R;
    using arguments = std::tuple<Args...>;
};
/// Lambdas and function objects: the parameters of their (single) call operator.
template <typename F>
requires requires {
    &F::operator();
}
struct callable_traits<F> : call_operator_traits<decltype(&F::operator())> {
    static constexpr bool is_member = false;
};

template <typename Arg>
using caster_of = py::detail::make_caster<Arg>;

/// A `py::object` parameter taken by value: the argument itself, borrowed while the others load,
/// and one new reference for the callee. (pybind11's caster builds a temporary and releases the
/// empty object it replaces: 11 of the ~930 instructions of `await ready(x)`.)
struct object_argument {
    PyObject *source = nullptr;
    bool load(py::handle given, bool) noexcept {
        source = given.ptr();
        return source != nullptr; // what pybind11's `isinstance<py::object>` tests
    }
    [[nodiscard]] py::object take() const noexcept { return py::reinterpret_borrow<py::object>(source); }
};

/// What loads a parameter of type `Arg`: pybind11's caster, or `object_argument`.
template <typename Arg>
using argument_caster = std::conditional_t<std::is_same_v<Arg, py::object>, object_argument, caster_of<Arg>>;

/// The loaded value of a parameter of type `Arg`, moved out of its caster.
template <typename Arg, typename Caster>
decltype(auto) take_argument(Caster &&caster) {
    if constexpr (std::is_same_v<std::remove_cvref_t<Caster>, object_argument>) {
        return caster.take();
    } else {
        return py::detail::cast_op<Arg>(std::move(caster));
    }
}

/// A reference or pointer to a bound C++ class: refers into the Python object (kept alive).
template <typename Arg>
inline constexpr bool
    refers_to_instance = (std::is_reference_v<Arg> ||
                          std::is_pointer_v<Arg>)&&std::is_base_of_v<py::detail::type_caster_generic, caster_of<Arg>>;

/// A reference to a value that lives in its caster: the frame needs its own copy.
template <typename Arg>
inline constexpr bool needs_owned_copy = std::is_reference_v<Arg> && !refers_to_instance<Arg>;

template <typename Arg>
using frame_parameter = std::conditional_t<needs_owned_copy<Arg>, py::detail::intrinsic_t<Arg>, Arg>;

template <typename Arg>
const char *expected_type_name() {
    static const std::string name = [] {
        std::string text = caster_of<Arg>::name.text;
        return text.find('%') != std::string::npos ? py::type_id<py::detail::intrinsic_t<Arg>>() : text;
    }();
    return name.c_str();
}

template <typename F>
struct bound_callable {
    using traits = callable_traits<std::decay_t<F>>;
    using arguments = typename traits::arguments;
    using result_task = typename traits::result;
    using value_type = typename task_result<result_task>::type;
    static constexpr std::size_t arity = std::tuple_size_v<arguments>;
    static constexpr bool has_varargs = [] {
        if constexpr (arity == 0) {
            return false;
        } else {
            return std::is_same_v<std::decay_t<std::tuple_element_t<arity - 1, arguments>>, py::args>;
        }
    }();
    static constexpr std::size_t named = has_varargs ? arity - 1 : arity;

    template <std::size_t... I>
    static constexpr bool any_owned_copy(std::index_sequence<I...>) {
        return (needs_owned_copy<std::tuple_element_t<I, arguments>> || ...);
    }
    static constexpr bool owns_copies = any_owned_copy(std::make_index_sequence<arity>{});

    /// The coroutine that owns copies of the arguments the callee takes by reference.
    template <typename... Stored>
    static result_task owning_call(F &callee, Stored... stored) {
        if constexpr (std::is_void_v<value_type>) {
            co_await std::invoke(callee, static_cast<Stored &>(stored)...);
        } else {
            co_return co_await std::invoke(callee, static_cast<Stored &>(stored)...);
        }
    }

    template <std::size_t... I>
    static PyObject *call(function_object *self, PyObject **slots, PyObject *varargs, std::index_sequence<I...>) {
        std::tuple<argument_caster<std::tuple_element_t<I, arguments>>...> casters;
        std::size_t failed = arity;
        auto load = [&](auto index) {
            constexpr std::size_t i = decltype(index)::value;
            using arg = std::tuple_element_t<i, arguments>;
            PyObject *source = (has_varargs && i == arity - 1) ? varargs : slots[i];
            // pybind11 loads None as a null instance; only a pointer parameter may take it.
            constexpr bool rejects_none =
                std::is_base_of_v<py::detail::type_caster_generic, caster_of<arg>> && !std::is_pointer_v<arg>;
            if (failed == arity && ((rejects_none && source == Py_None) || !std::get<i>(casters).load(source, true))) {
                failed = i;
                raise_bad_argument(self, i, source, expected_type_name<arg>());
            }
        };
        (load(std::integral_constant<std::size_t, I>{}), ...);
        (void)load; // unused for a function without parameters
        if (failed != arity) {
            return nullptr;
        }
        PyObject *keep_alive = nullptr;
        constexpr std::size_t kept = (std::size_t{refers_to_instance<std::tuple_element_t<I, arguments>>} + ... + 0);
        if constexpr (kept == 1) {
            ((refers_to_instance<std::tuple_element_t<I, arguments>> ? (keep_alive = slots[I]) : nullptr), ...);
            Py_INCREF(keep_alive);
        } else if constexpr (kept > 1) {
            keep_alive = PyTuple_New(kept);
            if (keep_alive == nullptr) {
                return nullptr;
            }
            Py_ssize_t at = 0;
            ((refers_to_instance<std::tuple_element_t<I, arguments>>
                  ? (PyTuple_SET_ITEM(keep_alive, at++, Py_NewRef(slots[I])), 0)
                  : 0),
             ...);
        }
        auto &callee = *static_cast<std::decay_t<F> *>(self->callable);
        try {
            // The task is a temporary, gone (empty) before the coroutine object is made: a named
            // one would be tested again after that call.
            auto handle =
                [&] {
                    if constexpr (owns_copies) {
                        return owning_call<frame_parameter<std::tuple_element_t<I, arguments>>...>(
                            callee,
                            take_argument<std::tuple_element_t<I, arguments>>(std::move(std::get<I>(casters)))...);
                    } else {
                        return std::invoke(callee, take_argument<std::tuple_element_t<I, arguments>>(
                                                       std::move(std::get<I>(casters)))...);
                    }
                }()
                    .release();
            PyObject *coroutine = new_function_coroutine(handle, handle.promise(), &convert_task_result<value_type>,
                                                         reinterpret_cast<PyObject *>(self), keep_alive);
            Py_XDECREF(keep_alive);
            return coroutine;
        } catch (...) {
            Py_XDECREF(keep_alive);
            raise_call_error(self);
            return nullptr;
        }
    }

    /// The function object's vectorcall entry (`function_invoker`). GIL held.
    static PyObject *invoke(PyObject *function, PyObject *const *args, std::size_t nargsf, PyObject *kwnames) {
        auto *self = reinterpret_cast<function_object *>(function);
        PyObject *slots[named > 0 ? named : 1];
        PyObject *varargs = nullptr;
        PyObject **bound = slots;
        if (!has_varargs && kwnames == nullptr && PyVectorcall_NARGS(nargsf) == static_cast<Py_ssize_t>(named)) {
            bound = const_cast<PyObject **>(args); // exact positional call: no matching needed
        } else if (!bind_arguments(self, args, nargsf, kwnames, slots, &varargs)) {
            return nullptr;
        }
        PyObject *result = call(self, bound, varargs, std::make_index_sequence<arity>{});
        if constexpr (has_varargs) {
            Py_XDECREF(varargs);
        }
        return result;
    }
};

template <typename Extra>
void apply_extra(function_spec &spec, std::size_t &position, const Extra &extra) {
    if constexpr (std::is_same_v<Extra, py::arg_v>) {
        if (position < spec.parameter_names.size()) {
            spec.parameter_names[position] = extra.name;
            spec.defaults[position] = extra.value;
        }
        ++position;
    } else if constexpr (std::is_same_v<Extra, py::arg>) {
        if (position < spec.parameter_names.size()) {
            spec.parameter_names[position] = extra.name;
        }
        ++position;
    } else if constexpr (std::is_convertible_v<Extra, const char *>) {
        spec.doc = extra;
    } else {
        static_assert(sizeof(Extra) == 0, "pyasync::def accepts py::arg, py::arg(...) = default and a docstring");
    }
}

} // namespace detail
} // namespace pyasync
