#!/usr/bin/env bash
# The suite against another CPython of the machine (ci/find-python.sh finds it by version): the
# bridge, the package, the examples and test modules, the plugin and the harness built with the
# dev preset's settings into build/py<version>, then every ctest test (the C++ suite and the
# Python tests). Such an interpreter has no pytest and no package index: Debian's pure-Python
# packages (pytest, trio, anyio, pytest-asyncio, xdist) are put on the tests' PYTHONPATH, and
# the compiled ones that do not import there (uvloop, built for Debian's 3.11; trio 0.22 on
# 3.13) skip their tests with the reason. With no such interpreter the step says so, and the
# closing count shows it as one skipped case: it never passes silently.
set -uo pipefail
cd "$(dirname "$0")/.."
version="${1:?usage: other-python.sh <major.minor> [c++ compiler, default g++]}"
compiler="${2:-g++}"
build="build/py${version}"
rm -rf "${build}/junit" "${build}/ctest.xml"
if ! python="$(bash ci/find-python.sh "${version}")"; then
  echo "CPython ${version}: not on this machine (no pyenv install or python${version} with headers): not tested"
  mkdir -p "${build}/junit"
  cat > "${build}/junit/absent.xml" <<XML
<?xml version="1.0" encoding="utf-8"?>
<testsuite name="CPython ${version}" tests="1" skipped="1"><testcase classname="interpreters" name="CPython ${version}"><skipped message="CPython ${version} is not on this machine: nothing was built or run against it"/></testcase></testsuite>
XML
  exit 0
fi
echo "CPython ${version}: ${python}; compiler: ${compiler}"
cmake --preset dev -B "${build}" -DPython3_EXECUTABLE="${python}" -DCMAKE_CXX_COMPILER="${compiler}" \
  -DPYASYNC_TEST_PYTHONPATH=/usr/lib/python3/dist-packages "-DPYASYNC_OPTIONAL_TEST_MODULES=uvloop;trio" \
  -DPYASYNC_BOOST_MIRRORS=OFF >/dev/null || exit 1
cmake --build "${build}" || exit 1
ctest --test-dir "${build}" -j2 --output-on-failure --output-junit ctest.xml
