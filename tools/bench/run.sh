#!/usr/bin/env bash
# One command: build the release preset and run the await benchmark (extra args go to it).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash ci/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target pyasync_examples >/dev/null
python="$(grep -m1 '^Python3_EXECUTABLE:' build/release/CMakeCache.txt | cut -d= -f2)"
PYTHONPATH=build/release/python "$python" tools/bench/bench_await.py "$@"
