#!/usr/bin/env bash
# Installs what pyasync needs from Debian bookworm packages, only what is missing (fast when
# everything is present). Runs apt-get as root, or through sudo. `--for-tests` adds what the
# test command needs beyond the demo: Clang 14 (a compiler the suite is built with),
# clang-format and clang-tidy (its checks), valgrind (the instruction-count gate), Sphinx with
# MyST and Breathe, Doxygen and Chromium (the documentation site and its browser check).
set -euo pipefail
packages=(g++ cmake ninja-build ccache python3 python3-dev pybind11-dev python3-pybind11
          python3-pytest python3-uvloop libasio-dev nlohmann-json3-dev libboost-test-dev
          python3-pytest-asyncio python3-pytest-xdist python3-dbg python3-pip python3-setuptools python3-wheel
          python3-trio python3-anyio)
if [ "${1:-}" = "--for-tests" ]; then
  packages+=(clang-14 clang-format clang-tidy valgrind
             python3-sphinx python3-myst-parser python3-breathe doxygen chromium)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
