#!/usr/bin/env bash
# Installs what is missing, builds, and runs the demo: a C++ application whose main thread
# belongs to asyncio, awaiting Python from C++ and C++ from Python.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev --target pyasync_demo pyasync_examples
./build/dev/fixtures/pyasync_demo
