# Picks the Python interpreter pyasync builds against and tests with.
#
# The first `python3` on PATH may be an interpreter that cannot see the distribution's packages
# (a pyenv build without pytest). Unless -DPython3_EXECUTABLE=... is given, take the first
# candidate that has its C headers and pytest, and say which one was picked.
if(NOT DEFINED Python3_EXECUTABLE)
  find_program(_pyasync_path_python3 NAMES python3 NO_CACHE)
  set(_pyasync_candidates ${_pyasync_path_python3} /usr/bin/python3)
  list(REMOVE_DUPLICATES _pyasync_candidates)
  foreach(candidate IN LISTS _pyasync_candidates)
    if(NOT EXISTS "${candidate}")
      continue()
    endif()
    execute_process(
      COMMAND "${candidate}" -c
              "import os, sysconfig, pytest; assert os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h'))"
      RESULT_VARIABLE _pyasync_ok OUTPUT_QUIET ERROR_QUIET)
    if(_pyasync_ok EQUAL 0)
      set(Python3_EXECUTABLE "${candidate}" CACHE FILEPATH "Python interpreter pyasync builds against")
      break()
    endif()
    message(STATUS "pyasync: skipping ${candidate} (no Python.h or no pytest)")
  endforeach()
  if(NOT DEFINED Python3_EXECUTABLE)
    message(FATAL_ERROR "pyasync: no Python 3 with development headers and pytest found "
                        "(tried: ${_pyasync_candidates}). Install python3-dev and python3-pytest "
                        "(ci/install-deps.sh), or pass -DPython3_EXECUTABLE=/path/to/python3.")
  endif()
endif()
find_package(Python3 3.10 REQUIRED COMPONENTS Interpreter Development)
message(STATUS "pyasync: using Python ${Python3_VERSION} at ${Python3_EXECUTABLE} "
               "(override with -DPython3_EXECUTABLE=...)")

# A debug interpreter (Debian's python3-dbg: python3.11d) has a reference-count ABI of its own.
# Its headers are symlinks to the release ones, so the release pyconfig.h is what gets included
# and Py_DEBUG stays undefined unless it is defined on the command line: every pyasync target
# must see it (pybind11 only adds it to module targets), or sys.gettotalrefcount() drifts by
# every Py_DECREF compiled without it.
execute_process(COMMAND "${Python3_EXECUTABLE}" -c "import sys; print(int(hasattr(sys, 'gettotalrefcount')))"
                OUTPUT_VARIABLE PYASYNC_PYTHON_DEBUG OUTPUT_STRIP_TRAILING_WHITESPACE)
if(PYASYNC_PYTHON_DEBUG)
  message(STATUS "pyasync: ${Python3_EXECUTABLE} is a debug interpreter: every target gets Py_DEBUG")
endif()
