"""Which C++ harness binaries a session collects, and what each one lists.

Binaries are named by the ``pyasync_binaries`` globs or registered in a ``pyasync_build_dir``
build tree (``<tree>/pyasync-test/*.binary``, written by ``pyasync_add_test_executable``). A
binary is listed with ``--list --format json``, which does not start Python; the listing is kept
in pytest's cache under the binary's path, size and mtime, so a rerun does not list it again."""
from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest

from pyasync.pytest_plugin._harness_child import describe_status
from pyasync.pytest_plugin._settings import CppSettings

MANIFEST_DIR = "pyasync-test"
LISTING_SECONDS = 60.0
LISTING_VERSION = 1  # the "version" of the harness's JSON listing this plugin reads


@dataclasses.dataclass(frozen=True)
class Binary:
    """A harness binary: its absolute path and the environment its CMake target asked for."""

    path: Path
    environment: Dict[str, str] = dataclasses.field(default_factory=dict, hash=False, compare=False)

    def child_environment(self) -> Dict[str, str]:
        environment = dict(os.environ)
        environment.update(self.environment)
        return environment


class ListingError(Exception):
    """A binary that cannot be listed: the message names it, why, and its stderr."""


def read_manifest(manifest: Path) -> Binary:
    """``path=EXE`` then ``env=NAME=VALUE`` lines (see tools/cmake/PyasyncTest.cmake)."""
    executable, environment = None, {}
    for line in manifest.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "path":
            executable = value
        elif key == "env" and "=" in value:
            name, _, setting = value.partition("=")
            environment[name] = setting
    if executable is None:
        raise pytest.UsageError(f"pyasync: {manifest} has no 'path=' line; re-run CMake to regenerate it")
    return Binary(Path(executable), environment)


def configured_binaries(config: pytest.Config, cpp: CppSettings) -> Dict[Path, Binary]:
    """Every binary the ini names, by absolute path, in a stable order. A glob that matches
    nothing is a warning (the binaries may not be built yet); a build tree without registered
    binaries is a usage error."""
    root = config.rootpath
    found: Dict[Path, Binary] = {}
    for pattern in cpp.binaries:
        matches = sorted(glob.glob(str(root / pattern), recursive=True))
        files = [Path(match) for match in matches if not os.path.isdir(match)]
        if not files:
            config.issue_config_time_warning(pytest.PytestConfigWarning(
                f"pyasync: pyasync_binaries = {pattern!r} matches no file under {root}; are the binaries built?"),
                stacklevel=2)
        for path in files:
            found.setdefault(path, Binary(path))
    for tree in cpp.build_dirs:
        directory = root / tree / MANIFEST_DIR
        manifests = sorted(directory.glob("*.binary")) + sorted(directory.glob("*/*.binary"))
        if not manifests:
            raise pytest.UsageError(
                f"pyasync: pyasync_build_dir = {tree!r}: no harness binaries are registered under {directory}; "
                "expected a CMake build tree with pyasync_add_test_executable() targets (built at least once)")
        for manifest in manifests:
            binary = read_manifest(manifest)
            found.setdefault(binary.path, binary)
    return found


def is_elf_executable(path: Path) -> bool:
    """Whether ``path`` looks like a native executable (a binary named on the command line)."""
    try:
        with open(path, "rb") as file:
            return file.read(4) == b"\x7fELF" and os.access(path, os.X_OK)
    except OSError:
        return False


def list_cases(config: pytest.Config, binary: Binary, args: Sequence[str]) -> List[dict]:
    """The cases ``binary`` lists under ``args``, in its order, from pytest's cache when the
    binary has not changed since it was listed. Raises ListingError."""
    path = binary.path
    try:
        status = path.stat()
    except OSError as error:
        raise ListingError(f"{path}: cannot be read ({error.strerror})") from None
    stamp = [str(path), status.st_size, status.st_mtime_ns, list(args), LISTING_VERSION]
    cache = getattr(config, "cache", None)
    key = "pyasync/listing/" + hashlib.sha1(str(path).encode()).hexdigest()[:16]
    if cache is not None:
        cached = cache.get(key, None)
        if isinstance(cached, dict) and cached.get("stamp") == stamp:
            return cached["cases"]
    cases = _run_listing(binary, args)
    if cache is not None:
        cache.set(key, {"stamp": stamp, "cases": cases})
    return cases


def _run_listing(binary: Binary, args: Sequence[str]) -> List[dict]:
    path = binary.path
    if not os.access(path, os.X_OK) or path.is_dir():
        raise ListingError(f"{path}: not an executable file; pyasync_binaries must name C++ harness binaries "
                           "(executables linked with pyasync::harness_main)")
    command = [str(path), "--list", "--format", "json", *args]
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                              env=binary.child_environment(), timeout=LISTING_SECONDS)
    except subprocess.TimeoutExpired:
        raise ListingError(f"{path}: listing its cases (--list --format json) took over {LISTING_SECONDS:g} s; "
                           "it was killed") from None
    except OSError as error:
        raise ListingError(f"{path}: cannot be started: {error}") from None
    stderr = done.stderr.decode(errors="replace").strip()
    stderr_part = f"\n---- its stderr ----\n{stderr}" if stderr else ""
    if done.returncode != 0:
        raise ListingError(f"{path}: listing its cases (--list --format json) failed: it "
                           f"{describe_status(done.returncode)}{stderr_part}")
    listing = _parse_listing(done.stdout)
    if listing is None:
        shown = done.stdout[:200].decode(errors="replace")
        raise ListingError(f"{path}: not a pyasync harness binary: --list --format json printed {shown!r}, "
                           f"expected {{\"version\": {LISTING_VERSION}, \"cases\": [...]}}{stderr_part}")
    return listing


def _parse_listing(output: bytes) -> Optional[List[dict]]:
    try:
        listing = json.loads(output)
    except ValueError:
        return None
    if not isinstance(listing, dict) or listing.get("version") != LISTING_VERSION:
        return None
    cases = listing.get("cases")
    if not isinstance(cases, list) or not all(isinstance(case, dict) and "name" in case for case in cases):
        return None
    return cases
