#[=======================================================================[.rst:
pyasync_add_boost_test_executable
---------------------------------

A Boost.Test binary whose cases may be coroutines (``PYASYNC_BOOST_TEST_CASE``) and which also
runs the ``PYASYNC_TEST`` cases linked into it, mirrored into Boost's tree::

  pyasync_add_boost_test_executable(<target> SOURCES <src>... [LIBRARIES <lib>...]
                                    [PYTHONPATH <dir>...] [ENVIRONMENT <VAR=value>...])

Linked with ``pyasync::boost_test``, which holds ``main()`` (do not define ``BOOST_TEST_MODULE``):
the interpreter and an asyncio loop on the main thread, then Boost's ``unit_test_main``. Boost's
command line works as documented; pyasync's options come after ``--`` (``<target> -- --help``).
``PYTHONPATH`` and ``ENVIRONMENT`` work as for ``pyasync_add_test_executable``.

pyasync_discover_boost_tests
----------------------------

Registers every test case of such a binary as one ctest test named ``<prefix>suite/case<suffix>``::

  pyasync_discover_boost_tests(<target>
      [EXTRA_ARGS <arg>...] [WORKING_DIRECTORY <dir>] [TEST_PREFIX <prefix>] [TEST_SUFFIX <suffix>]
      [PROPERTIES <name> <value>...] [TEST_LIST <variable>] [DISCOVERY_TIMEOUT <seconds>]
      [DISCOVERY_MODE POST_BUILD|PRE_TEST] [JUNIT_OUTPUT_DIR <dir>])

The program describes its own tree (``<target> -- --list-json``, which starts no Python): each
test runs ``<target> --run_test=suite/case`` and gets ``LABELS`` from the case's Boost labels,
``DISABLED`` when the case is disabled, ``TIMEOUT`` from its timeout (the shortest over the case and
its suites) plus 30 s, and ``DEF_SOURCE_LINE file:line``. ``EXTRA_ARGS`` go to Boost (put
pyasync's own after ``--``). With ``JUNIT_OUTPUT_DIR`` each test also writes Boost's JUnit log to
``<dir>/<test name with '/' as '.'>.xml``.
#]=======================================================================]

function(pyasync_add_boost_test_executable target)
  if(NOT TARGET pyasync::boost_test)
    message(FATAL_ERROR "pyasync_add_boost_test_executable(${target}): pyasync::boost_test is not available "
                        "(Boost.Test's shared library was not found: apt-get install libboost-test-dev)")
  endif()
  _pyasync_add_test_executable(pyasync_add_boost_test_executable ${target} pyasync::boost_test ${ARGN}
                               EXCLUDE_FROM_DRIVER)
endfunction()

function(pyasync_discover_boost_tests target)
  _pyasync_discover_tests(pyasync_discover_boost_tests boost ${target} ${ARGN})
endfunction()
