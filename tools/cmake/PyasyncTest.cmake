#[=======================================================================[.rst:
pyasync_add_test_executable
---------------------------

A harness binary: PYASYNC_TEST cases linked with ``pyasync::harness_main``::

  pyasync_add_test_executable(<target> SOURCES <src>... [LIBRARIES <lib>...]
                              [PYTHONPATH <dir>...] [ENVIRONMENT <VAR=value>...]
                              [EXCLUDE_FROM_DRIVER])

The Python path and environment are stored on the target and given to every test that
``pyasync_discover_tests`` registers for it. The binary is also registered for the
``pyasync-test`` driver (``pyasync-test --build-dir <build tree>`` runs every registered binary
with its environment) through ``<build tree>/pyasync-test/[<config>/]<target>.binary``, unless
``EXCLUDE_FROM_DRIVER`` is given (helper binaries whose cases fail on purpose).

pyasync_discover_tests
----------------------

Registers every case of a harness binary as one ctest test, named ``<prefix>Suite.Case<suffix>``::

  pyasync_discover_tests(<target>
      [EXTRA_ARGS <arg>...] [DISCOVERY_EXTRA_ARGS <arg>...] [WORKING_DIRECTORY <dir>]
      [TEST_PREFIX <prefix>] [TEST_SUFFIX <suffix>] [TEST_FILTER <gtest-filter>]
      [PROPERTIES <name> <value>...] [TEST_LIST <variable>]
      [DISCOVERY_TIMEOUT <seconds>] [DISCOVERY_MODE POST_BUILD|PRE_TEST]
      [JUNIT_OUTPUT_DIR <dir>] [SKIP_IS_FAILURE] [NO_TAGS_AS_LABELS] [ISOLATE])

The keywords are those of ``gtest_discover_tests``/``catch_discover_tests``. Discovery runs
``<target> --list --format json`` (which never starts Python, so the default 30 s timeout is
generous); each test runs ``<target> --exact Suite.Case --include-ignored --fail-if-no-tests
--skip-exit-code 77`` and gets ``SKIP_RETURN_CODE 77`` (unless ``SKIP_IS_FAILURE``), ``LABELS``
from the case's tags, ``TIMEOUT`` from its ``timeout(...)`` plus 30 s, ``RESOURCE_LOCK``,
``DISABLED`` when ignored, and ``DEF_SOURCE_LINE file:line``. The default mode comes from
``CMAKE_PYASYNC_DISCOVER_TESTS_DISCOVERY_MODE`` (else ``POST_BUILD``).
#]=======================================================================]
set(_PYASYNC_ADD_TESTS_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/PyasyncAddTests.cmake)

function(pyasync_add_test_executable target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "EXCLUDE_FROM_DRIVER" "" "SOURCES;LIBRARIES;PYTHONPATH;ENVIRONMENT")
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "pyasync_add_test_executable(${target}): SOURCES is required")
  endif()
  add_executable(${target} ${arg_SOURCES})
  target_link_libraries(${target} PRIVATE pyasync::harness_main ${arg_LIBRARIES})
  # Cases hold py::objects, whose pybind11 types have hidden visibility (pybind11's rule).
  set_target_properties(${target} PROPERTIES CXX_VISIBILITY_PRESET hidden)
  set(environment ${arg_ENVIRONMENT})
  if(arg_PYTHONPATH)
    string(REPLACE ";" ":" python_path "${arg_PYTHONPATH}")
    list(APPEND environment "PYTHONPATH=${python_path}")
  endif()
  set_property(TARGET ${target} PROPERTY PYASYNC_TEST_ENVIRONMENT "${environment}")
  if(NOT arg_EXCLUDE_FROM_DRIVER)
    # One line per fact (path=, env=): generator expressions are evaluated, and the driver
    # needs no CMake to read it.
    set(manifest "path=$<TARGET_FILE:${target}>\n")
    foreach(setting IN LISTS environment)
      string(APPEND manifest "env=${setting}\n")
    endforeach()
    get_property(multi_config GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
    if(multi_config)
      set(manifest_dir ${CMAKE_BINARY_DIR}/pyasync-test/$<CONFIG>)
    else()
      set(manifest_dir ${CMAKE_BINARY_DIR}/pyasync-test)
    endif()
    file(GENERATE OUTPUT ${manifest_dir}/${target}.binary CONTENT "${manifest}")
  endif()
endfunction()

function(pyasync_discover_tests target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "SKIP_IS_FAILURE;NO_TAGS_AS_LABELS;ISOLATE"
    "TEST_PREFIX;TEST_SUFFIX;WORKING_DIRECTORY;TEST_LIST;DISCOVERY_TIMEOUT;DISCOVERY_MODE;JUNIT_OUTPUT_DIR;TEST_FILTER"
    "EXTRA_ARGS;DISCOVERY_EXTRA_ARGS;PROPERTIES")
  if(NOT arg_WORKING_DIRECTORY)
    set(arg_WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  if(NOT arg_TEST_LIST)
    set(arg_TEST_LIST ${target}_TESTS)
  endif()
  if(NOT arg_DISCOVERY_TIMEOUT)
    set(arg_DISCOVERY_TIMEOUT 30)
  endif()
  if(NOT arg_DISCOVERY_MODE)
    if(CMAKE_PYASYNC_DISCOVER_TESTS_DISCOVERY_MODE)
      set(arg_DISCOVERY_MODE ${CMAKE_PYASYNC_DISCOVER_TESTS_DISCOVERY_MODE})
    else()
      set(arg_DISCOVERY_MODE POST_BUILD)
    endif()
  endif()
  if(NOT arg_DISCOVERY_MODE MATCHES "^(POST_BUILD|PRE_TEST)$")
    message(FATAL_ERROR "pyasync_discover_tests(${target}): DISCOVERY_MODE is '${arg_DISCOVERY_MODE}'; expected POST_BUILD or PRE_TEST")
  endif()
  if(arg_ISOLATE)
    list(APPEND arg_EXTRA_ARGS --isolate)
  endif()
  get_property(counter TARGET ${target} PROPERTY PYASYNC_DISCOVERY_COUNTER)
  math(EXPR counter "${counter} + 1")
  set_property(TARGET ${target} PROPERTY PYASYNC_DISCOVERY_COUNTER ${counter})
  set(base "${CMAKE_CURRENT_BINARY_DIR}/${target}[${counter}]")
  set(settings_file "${base}_settings.cmake")
  set(tests_file "${base}_tests.cmake")
  set(include_file "${base}_include.cmake")

  get_property(environment TARGET ${target} PROPERTY PYASYNC_TEST_ENVIRONMENT)
  get_property(emulator TARGET ${target} PROPERTY CROSSCOMPILING_EMULATOR)
  get_property(launcher TARGET ${target} PROPERTY TEST_LAUNCHER)
  # Settings go through a generated file: lists and generator expressions survive intact.
  file(GENERATE OUTPUT ${settings_file} CONTENT
"set(TEST_TARGET [==[${target}]==])
set(TEST_EXECUTABLE [==[$<TARGET_FILE:${target}>]==])
set(TEST_LAUNCHER [==[${launcher};${emulator}]==])
set(TEST_WORKING_DIR [==[${arg_WORKING_DIRECTORY}]==])
set(TEST_EXTRA_ARGS [==[${arg_EXTRA_ARGS}]==])
set(TEST_DISCOVERY_EXTRA_ARGS [==[${arg_DISCOVERY_EXTRA_ARGS}]==])
set(TEST_PROPERTIES [==[${arg_PROPERTIES}]==])
set(TEST_PREFIX [==[${arg_TEST_PREFIX}]==])
set(TEST_SUFFIX [==[${arg_TEST_SUFFIX}]==])
set(TEST_FILTER [==[${arg_TEST_FILTER}]==])
set(TEST_LIST [==[${arg_TEST_LIST}]==])
set(TEST_ENVIRONMENT [==[${environment}]==])
set(TEST_JUNIT_OUTPUT_DIR [==[${arg_JUNIT_OUTPUT_DIR}]==])
set(TEST_SKIP_IS_FAILURE [==[${arg_SKIP_IS_FAILURE}]==])
set(TEST_NO_TAGS_AS_LABELS [==[${arg_NO_TAGS_AS_LABELS}]==])
set(TEST_DISCOVERY_TIMEOUT [==[${arg_DISCOVERY_TIMEOUT}]==])
set(CTEST_FILE [==[${tests_file}]==])
")
  if(arg_DISCOVERY_MODE STREQUAL "POST_BUILD")
    add_custom_command(TARGET ${target} POST_BUILD
      BYPRODUCTS ${tests_file}
      COMMAND ${CMAKE_COMMAND} -D SETTINGS_FILE=${settings_file} -P ${_PYASYNC_ADD_TESTS_SCRIPT}
      VERBATIM)
    file(WRITE ${include_file}
"if(EXISTS [==[${tests_file}]==])
  include([==[${tests_file}]==])
else()
  add_test([==[${target}_NOT_BUILT]==] [==[${target}_NOT_BUILT]==])
endif()
")
  else()
    # PRE_TEST: list when ctest starts, again only when the binary is newer than the list.
    file(GENERATE OUTPUT ${include_file} CONTENT
"if(NOT EXISTS [==[$<TARGET_FILE:${target}>]==])
  add_test([==[${target}_NOT_BUILT]==] [==[${target}_NOT_BUILT]==])
else()
  if(NOT EXISTS [==[${tests_file}]==] OR [==[$<TARGET_FILE:${target}>]==] IS_NEWER_THAN [==[${tests_file}]==])
    include([==[${settings_file}]==])
    include([==[${_PYASYNC_ADD_TESTS_SCRIPT}]==])
  endif()
  include([==[${tests_file}]==])
endif()
")
  endif()
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include_file})
endfunction()
