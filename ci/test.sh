#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the developer build (Debug, -Werror),
# the same suite under AddressSanitizer + UndefinedBehaviorSanitizer, and the runtime and
# cross-thread tests under ThreadSanitizer, and the bridge's Python tests under Debian's debug
# interpreter, all on Debian's CPython 3.11 with GCC; the whole suite again on the image's
# CPython 3.12 built with Clang 14 and on 3.13 with GCC (ci/other-python.sh); then the
# quickstart project consumed three ways and a pip install (ci/consumers); the instruction-count
# gate (tools/bench/instructions.py, on a release build of what it counts); the documentation site
# (docs/, built with warnings as errors and checked in headless Chromium); then the checks on
# the C++ (clang-format, clang-tidy: ci/lint.sh). The documentation's snippets are cut from files this
# command builds and runs (tools/snippets.py, checked with the consumers). Ends with one line
# counting every test case run, where a ctest test that crashed before its report counts as one
# failed case (tools/count_results.py): "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash ci/install-deps.sh --for-tests || exit 1
# Objects compiled with -g are cached whatever the build directory: the consumers of
# ci/consumers compile pyasync's sources again in their own trees and take them from the cache.
export CCACHE_NOHASHDIR=1
# Four presets and the consumers fill more than ccache's default 5 GB, which then evicts
# objects while the run still needs them.
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-12G}"
status=0
# Each step says how long it took (the closing note of a change that adds steps quotes them).
step_started=$SECONDS
step_done() { echo "=== ($1 took $((SECONDS - step_started)) s)"; step_started=$SECONDS; }
step_done "installing what is missing"
for preset in dev asan; do
  echo "=== preset ${preset}: configure, build, test"
  rm -rf "build/${preset}/junit" "build/${preset}/ctest.xml"
  cmake --preset "${preset}" >/dev/null || exit 1
  cmake --build --preset "${preset}" || exit 1
  if [ "${preset}" = dev ]; then
    cmake --build --preset dev --target bench_harness_cases bench_runtime_native bench_boost_cases bench_boost_floor || exit 1 # they keep compiling
  fi
  ctest --preset "${preset}" -j2 --output-junit ctest.xml || status=1
  step_done "preset ${preset}"
done
echo "=== preset tsan: configure, build what the threads tests load, test"
rm -rf build/tsan/junit build/tsan/ctest.xml
cmake --preset tsan >/dev/null || exit 1
cmake --build --preset tsan --target _pyasync_tests _pyasync_peer _pyasync_abi_mismatch pyasync_examples pyasync_core \
  pyasync_fixtures_module main_probe_ schedule_probe_ || exit 1
ctest --preset tsan --output-junit ctest.xml || status=1
step_done "preset tsan"
echo "=== preset pydebug: the bridge's Python tests under Debian's debug interpreter (python3-dbg)"
rm -rf build/pydebug/junit build/pydebug/ctest.xml
cmake --preset pydebug >/dev/null || exit 1
cmake --build --preset pydebug || exit 1
ctest --preset pydebug -j2 --output-junit ctest.xml || status=1
step_done "preset pydebug"
# The image's other CPythons (found by version), each a build of its own with the dev preset's
# settings: 3.12 built with Clang 14 (so Clang costs no build of its own), 3.13 with GCC.
for version_and_compiler in 3.12:clang++-14 3.13:g++; do
  version="${version_and_compiler%%:*}"
  compiler="${version_and_compiler##*:}"
  echo "=== CPython ${version} with ${compiler}: configure, build, test (ci/other-python.sh)"
  bash ci/other-python.sh "${version}" "${compiler}" || status=1
  step_done "CPython ${version} with ${compiler}"
done
echo "=== consumers: the quickstart project against an installed prefix, by add_subdirectory and by FetchContent; pip install; the documentation's snippets"
python="$(grep -m1 '^Python3_EXECUTABLE:' build/dev/CMakeCache.txt | cut -d= -f2)"
rm -rf build/consumers
PYASYNC_BUILD_DIR=build/dev "$python" -m pytest ci/consumers/test_consumers.py ci/consumers/test_snippets_tool.py -q -p no:cacheprovider \
  --junitxml=build/consumers/junit/consumers.xml || status=1
step_done "consumers"
echo "=== docs: the site (docs/build.sh: Doxygen, Sphinx with warnings as errors), its references complete, its search in headless Chromium"
rm -rf build/dev/docs-junit
PYASYNC_BUILD_DIR=build/dev "$python" -m pytest docs/test_docs.py -q -p no:cacheprovider \
  --junitxml=build/dev/docs-junit/docs.xml || status=1
step_done "docs"
echo "=== instructions: the instruction-count gate over a release build (tools/bench/instructions.py)"
rm -rf build/release/junit
cmake --preset release >/dev/null || exit 1
cmake --build --preset release --target pyasync_examples pyasync_package bench_runtime_native bench_harness_cases || exit 1
PYASYNC_RELEASE_BUILD=build/release "$python" -m pytest tools/bench/test_instructions.py tools/bench/test_goals.py -q -p no:cacheprovider \
  --junitxml=build/release/junit/test_instructions.xml || status=1
"$python" tools/bench/instructions.py --build-dir build/release --junit build/release/junit/instructions.xml || status=1
step_done "instructions"
echo "=== checks: clang-format and clang-tidy over bridge/, harness/ and boost_test/ (ci/lint.sh)"
rm -rf build/lint/junit
bash ci/lint.sh || status=1
step_done "checks"
python3 tools/count_results.py build/dev/junit build/asan/junit build/tsan/junit build/pydebug/junit build/py3.12/junit \
  build/py3.13/junit build/consumers/junit build/dev/docs-junit build/release/junit build/lint/junit ||
  status=1
exit $status
