#!/usr/bin/env bash
# One command: build the release preset and run the benchmarks: the await benchmark
# (bench_await.py), the runtime benchmark (bench_runtime.py), pyasync under trio (bench_trio.py),
# the harness benchmark (bench_harness.py, with GoogleTest as its floor), the pytest plugin
# benchmark (bench_plugin.py),
# C++ cases run through pytest (bench_cpp_cases.py), the Boost.Test adapter (bench_boost.py), and
# the instruction counts against their baseline (instructions.py, the gate the test command runs).
# Each prints its figures with their live goals (goals.py) and the floors they are measured against.
# Extra args go to the first.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash ci/install-deps.sh --for-tests  # valgrind for instructions.py, with the test command's other tools
# GoogleTest is the harness benchmark's floor only (never a dependency of pyasync).
if ! dpkg-query -W -f='${Status}' libgtest-dev 2>/dev/null | grep -q "install ok installed"; then
  sudo=""; if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libgtest-dev >/dev/null
fi
cmake --preset release >/dev/null
# pyasync_fixtures_module: the plugin loads the default C++ fixtures module (pyasync_fixtures).
cmake --build --preset release --target pyasync_examples pyasync_core pyasync_package pyasync_fixtures_module \
  bench_runtime_native bench_harness_cases bench_boost_cases bench_boost_floor bench_gtest_floor >/dev/null
python="$(grep -m1 '^Python3_EXECUTABLE:' build/release/CMakeCache.txt | cut -d= -f2)"
PYTHONPATH=build/release/python "$python" tools/bench/bench_await.py "$@"
PYTHONPATH=build/release/python "$python" tools/bench/bench_runtime.py
PYTHONPATH=build/release/python "$python" tools/bench/bench_trio.py
"$python" tools/bench/bench_harness.py build/release/tools/bench/bench_harness_cases \
  --gtest-floor build/release/tools/bench/bench_gtest_floor
PYTHONPATH=build/release/python "$python" tools/bench/bench_plugin.py
PYTHONPATH=build/release/python "$python" tools/bench/bench_cpp_cases.py build/release/tools/bench/bench_harness_cases
"$python" tools/bench/bench_boost.py build/release/tools/bench/bench_harness_cases \
  build/release/tools/bench/bench_boost_cases build/release/tools/bench/bench_boost_floor
"$python" tools/bench/instructions.py --build-dir build/release
