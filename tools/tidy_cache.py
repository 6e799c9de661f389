#!/usr/bin/env python3
"""clang-tidy's cache: which translation units a clean clang-tidy run already checked, so that
ci/lint.sh runs clang-tidy only over what changed (as ccache does for the compiler).

A unit's key hashes what clang-tidy's verdict depends on: its preprocessed text (its own source
and every header it includes, pyasync's and the system's), its compile command, .clang-tidy and
clang-tidy's version, with the checkout's own path left out. A unit is marked clean only after a
run with no findings.

    tidy_cache.py stale <compile_commands.json> <unit>...   prints the units to check
    tidy_cache.py clean <compile_commands.json> <unit>...   marks them clean
"""
import concurrent.futures
import hashlib
import json
import os
import pathlib
import shlex
import subprocess
import sys

CACHE = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "pyasync" / "clang-tidy"
ROOT = pathlib.Path(__file__).resolve().parent.parent


def key(entry, config, version):
    arguments = shlex.split(entry["command"])
    # The same command, preprocessing only: drop the output file and -c, print to stdout.
    preprocess, skip = [], False
    for argument in arguments:
        if skip:
            skip = False
        elif argument == "-o":
            skip = True
        elif argument != "-c":
            preprocess.append(argument)
    text = subprocess.run(preprocess + ["-E", "-P"], cwd=entry["directory"], capture_output=True, check=True).stdout
    # Where the checkout lies changes no verdict: a fresh clone elsewhere reuses the markers.
    root = str(ROOT).encode()
    text, command = text.replace(root, b"<root>"), entry["command"].encode().replace(root, b"<root>")
    digest = hashlib.sha256()
    for part in (text, command, config, version):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def main(action, commands, units):
    entries = {str(pathlib.Path(e["file"]).resolve()): e for e in json.loads(pathlib.Path(commands).read_text())}
    config = (ROOT / ".clang-tidy").read_bytes()
    version = subprocess.run(["clang-tidy", "--version"], capture_output=True, check=True).stdout
    CACHE.mkdir(parents=True, exist_ok=True)

    def marker(unit):
        entry = entries.get(str(pathlib.Path(unit).resolve()))
        return None if entry is None else CACHE / key(entry, config, version)

    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
        markers = list(pool.map(marker, units))
    for unit, found in zip(units, markers):
        if action == "stale" and (found is None or not found.exists()):  # no compile command: always checked
            print(unit)
        elif action == "clean" and found is not None:
            found.touch()
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("stale", "clean"):
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
