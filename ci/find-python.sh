#!/usr/bin/env bash
# Prints the path of a CPython <major.minor> that has its C headers (the newest patch release
# pyenv has, else python<major.minor> on PATH), or prints nothing and exits 1 when this machine
# has none. Found by version, never by a patch release: ci/test.sh and the tests ask for the
# interpreters they need this way.
set -uo pipefail
version="${1:?usage: find-python.sh <major.minor>, e.g. 3.12}"
candidates=()
pyenv_root="${PYENV_ROOT:-}"
if [ -z "$pyenv_root" ] && command -v pyenv >/dev/null; then pyenv_root="$(pyenv root)"; fi
[ -z "$pyenv_root" ] && [ -d "$HOME/.pyenv" ] && pyenv_root="$HOME/.pyenv"
if [ -n "$pyenv_root" ] && [ -d "$pyenv_root/versions" ]; then
  while IFS= read -r directory; do
    candidates+=("$directory/bin/python${version}")
  done < <(find "$pyenv_root/versions" -maxdepth 1 -name "${version}.*" | sort -rV)
fi
command -v "python${version}" >/dev/null && candidates+=("$(command -v "python${version}")")
for candidate in "${candidates[@]}"; do
  if [ -x "$candidate" ] && "$candidate" -c "
import os, sys, sysconfig
assert '%d.%d' % sys.version_info[:2] == '${version}' and sys.implementation.name == 'cpython'
assert os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h'))" 2>/dev/null; then
    echo "$candidate"
    exit 0
  fi
done
exit 1
