"""Where C++ harness binaries enter pytest's collection.

pytest walks the paths it is given and skips ``build`` folders (``norecursedirs``), where
binaries usually are. So a binary is collected:

- by ``pytest_collect_file`` when the walk reaches it, or when it is named on the command line
  (any native executable given as an argument is taken as a harness binary);
- otherwise, after the walk, when pytest runs its default paths (no arguments: ``testpaths`` or
  the current folder), or when the binary lies under a folder given as an argument.

Each binary is collected once, as a ``CppBinary`` node whose id is its path from the rootdir."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import pytest

from pyasync.pytest_plugin._cpp_binaries import Binary, configured_binaries, is_elf_executable
from pyasync.pytest_plugin._cpp_cases import CppBinary
from pyasync.pytest_plugin._state import PluginState


def configure(config: pytest.Config, state: PluginState) -> None:
    config.addinivalue_line("markers", "xdist_group(name): pytest-xdist's --dist loadgroup runs the tests of a "
                            "group on one worker (pyasync puts a C++ binary's cases in one group)")
    state.binaries = configured_binaries(config, state.settings.cpp)


def collect_file(file_path: Path, parent: pytest.Collector, state: PluginState) -> Optional[CppBinary]:
    binary = state.binaries.get(file_path)
    if binary is None and parent.session.isinitpath(file_path) and is_elf_executable(file_path):
        binary = Binary(file_path)
    if binary is None or file_path in state.collected_binaries:
        return None
    state.collected_binaries.add(file_path)
    return CppBinary.from_parent(parent, path=file_path, binary=binary)


def binaries_outside_the_walk(session: pytest.Session, state: PluginState) -> List[CppBinary]:
    config = session.config
    default_paths = config.args_source != pytest.Config.ArgsSource.ARGS
    folders = [Path(config.invocation_params.dir, arg.split("::")[0]).absolute() for arg in config.args]
    folders = [folder for folder in folders if folder.is_dir()]
    found = []
    for path, binary in state.binaries.items():
        if path in state.collected_binaries:
            continue
        if default_paths or any(folder == path or folder in path.parents for folder in folders):
            state.collected_binaries.add(path)
            found.append(CppBinary.from_parent(session, path=path, binary=binary))
    return found
