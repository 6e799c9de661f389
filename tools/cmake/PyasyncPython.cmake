# Picks the Python interpreter pyasync builds against (and, installed, the one it was built
# against), and finds its development parts.
#
# In pyasync's own build the first `python3` on PATH may be an interpreter that cannot see the
# distribution's packages (a pyenv build without pytest). Unless -DPython3_EXECUTABLE=... is
# given, take the first candidate that has its C headers and pytest, and say which one was picked.
#
# Installed (included by pyasyncConfig.cmake, PYASYNC_RECORDED_PYTHON set): the interpreter
# pyasync was built with is the default, and another one is refused, since libpyasync and the
# modules built against it must run in the interpreter they were compiled for.
#
# PYASYNC_PYTHON_COMPONENTS: the Development components to find (default: Development.Module).
if(NOT PYASYNC_PYTHON_COMPONENTS)
  set(PYASYNC_PYTHON_COMPONENTS Development.Module)
endif()

if(DEFINED PYASYNC_RECORDED_PYTHON)
  if(DEFINED Python3_EXECUTABLE)
    file(REAL_PATH "${Python3_EXECUTABLE}" _pyasync_asked)
    file(REAL_PATH "${PYASYNC_RECORDED_PYTHON}" _pyasync_recorded)
    if(NOT _pyasync_asked STREQUAL _pyasync_recorded)
      set(pyasync_FOUND FALSE)
      set(pyasync_NOT_FOUND_MESSAGE
          "pyasync at ${PACKAGE_PREFIX_DIR} was built against the Python at ${PYASYNC_RECORDED_PYTHON} "
          "(${PYASYNC_RECORDED_PYTHON_VERSION}), but this project uses Python3_EXECUTABLE=${Python3_EXECUTABLE}. "
          "Use -DPython3_EXECUTABLE=${PYASYNC_RECORDED_PYTHON}, or build and install pyasync with "
          "-DPython3_EXECUTABLE=${Python3_EXECUTABLE}.")
      return()
    endif()
  else()
    set(Python3_EXECUTABLE "${PYASYNC_RECORDED_PYTHON}" CACHE FILEPATH "Python interpreter (the one pyasync was built with)")
  endif()
elseif(NOT DEFINED Python3_EXECUTABLE)
  find_program(_pyasync_path_python3 NAMES python3 NO_CACHE)
  set(_pyasync_candidates ${_pyasync_path_python3} /usr/bin/python3)
  list(REMOVE_DUPLICATES _pyasync_candidates)
  foreach(candidate IN LISTS _pyasync_candidates)
    if(NOT EXISTS "${candidate}")
      continue()
    endif()
    execute_process(
      COMMAND "${candidate}" -c
              "import os, sys, sysconfig, pytest; assert sys.version_info >= tuple(map(int, '${PYASYNC_PYTHON_MINIMUM}'.split('.'))); assert os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h'))"
      RESULT_VARIABLE _pyasync_ok OUTPUT_QUIET ERROR_QUIET)
    if(_pyasync_ok EQUAL 0)
      set(Python3_EXECUTABLE "${candidate}" CACHE FILEPATH "Python interpreter pyasync builds against")
      break()
    endif()
    message(STATUS "pyasync: skipping ${candidate} (older than ${PYASYNC_PYTHON_MINIMUM}, no Python.h or no pytest)")
  endforeach()
  if(NOT DEFINED Python3_EXECUTABLE)
    message(FATAL_ERROR "pyasync: no Python ${PYASYNC_PYTHON_MINIMUM} or newer with development headers and pytest found "
                        "(tried: ${_pyasync_candidates}). Install python3-dev and python3-pytest "
                        "(ci/install-deps.sh), or pass -DPython3_EXECUTABLE=/path/to/python3.")
  endif()
endif()
# Imported targets made global, so that a project including pyasync with add_subdirectory or
# FetchContent sees Python3::Module and pybind11's targets in its own directories.
set(CMAKE_FIND_PACKAGE_TARGETS_GLOBAL ON)
find_package(Python3 REQUIRED COMPONENTS Interpreter ${PYASYNC_PYTHON_COMPONENTS})
if(Python3_VERSION VERSION_LESS PYASYNC_PYTHON_MINIMUM)
  message(FATAL_ERROR "pyasync needs CPython ${PYASYNC_PYTHON_MINIMUM} or newer, but ${Python3_EXECUTABLE} is "
                      "${Python3_VERSION}. Pass -DPython3_EXECUTABLE=/path/to/python3 "
                      "(any CPython ${PYASYNC_PYTHON_MINIMUM} or newer with its headers).")
endif()
if(NOT DEFINED PYASYNC_RECORDED_PYTHON)
  message(STATUS "pyasync: using Python ${Python3_VERSION} at ${Python3_EXECUTABLE} "
                 "(override with -DPython3_EXECUTABLE=...)")
endif()

# What an extension module's file name ends with (".cpython-311-x86_64-linux-gnu.so"): a global
# property, so pyasync_add_module works from any directory of the project.
execute_process(COMMAND "${Python3_EXECUTABLE}" -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))"
                OUTPUT_VARIABLE _pyasync_ext_suffix OUTPUT_STRIP_TRAILING_WHITESPACE)
set_property(GLOBAL PROPERTY PYASYNC_PYTHON_MODULE_SUFFIX "${_pyasync_ext_suffix}")

# A debug interpreter (Debian's python3-dbg: python3.11d) has a reference-count ABI of its own.
# Its headers are symlinks to the release ones, so the release pyconfig.h is what gets included
# and Py_DEBUG stays undefined unless it is defined on the command line: every pyasync target
# must see it (pybind11 only adds it to module targets), or sys.gettotalrefcount() drifts by
# every Py_DECREF compiled without it. (Installed, pyasync::bridge carries the definition.)
execute_process(COMMAND "${Python3_EXECUTABLE}" -c "import sys; print(int(hasattr(sys, 'gettotalrefcount')))"
                OUTPUT_VARIABLE PYASYNC_PYTHON_DEBUG OUTPUT_STRIP_TRAILING_WHITESPACE)
if(PYASYNC_PYTHON_DEBUG AND NOT DEFINED PYASYNC_RECORDED_PYTHON)
  message(STATUS "pyasync: ${Python3_EXECUTABLE} is a debug interpreter: every target gets Py_DEBUG")
endif()
