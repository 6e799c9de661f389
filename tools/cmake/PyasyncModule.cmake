#[=======================================================================[.rst:
pyasync_add_module
------------------

Builds a Python extension module linked to ``pyasync::bridge`` (the process's one shared
bridge, ``libpyasync``)::

  pyasync_add_module(<name> [NO_EXTRAS] <sources>...)

The module is named ``<name><EXT_SUFFIX>`` for the interpreter pyasync was built with, and is
compiled with hidden visibility (pybind11's rule: its types are hidden, so classes holding a
``py::object`` must be too). Outside Debug and RelWithDebInfo it gets pybind11's link-time
optimisation unless ``NO_EXTRAS`` is given or ``CMAKE_INTERPROCEDURAL_OPTIMIZATION`` is set. Its
install RPATH includes the directory of the ``libpyasync`` it links. Define the module with
``PYASYNC_MODULE(name, m)`` (``#include <pyasync/module.hpp>``) so its import checks that it
joins a compatible bridge. Works in any directory of a project that found pyasync with
``find_package``, ``add_subdirectory`` or ``FetchContent``.
#]=======================================================================]
function(pyasync_add_module name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "NO_EXTRAS;MODULE" "" "")
  get_property(suffix GLOBAL PROPERTY PYASYNC_PYTHON_MODULE_SUFFIX)
  if(NOT suffix)
    message(FATAL_ERROR "pyasync_add_module(${name}): the Python module suffix is unknown; find pyasync first "
                        "(find_package(pyasync CONFIG), add_subdirectory or FetchContent)")
  endif()
  add_library(${name} MODULE ${arg_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE pyasync::bridge pybind11::module)
  set_target_properties(${name} PROPERTIES PREFIX "" SUFFIX "${suffix}" CXX_VISIBILITY_PRESET hidden
                                           VISIBILITY_INLINES_HIDDEN ON INSTALL_RPATH_USE_LINK_PATH ON)
  string(TOUPPER "${CMAKE_BUILD_TYPE}" build_type)
  if(NOT arg_NO_EXTRAS AND NOT DEFINED CMAKE_INTERPROCEDURAL_OPTIMIZATION AND NOT build_type MATCHES "^(DEBUG|RELWITHDEBINFO)$"
     AND TARGET pybind11::lto)
    target_link_libraries(${name} PRIVATE pybind11::lto)
  endif()
endfunction()
