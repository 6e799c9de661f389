"""The plugin's state for one session: its settings, the live loops, the item being run, which
loop each async fixture was set up on, and the C++ harness binaries with their serving children."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import pytest

from pyasync.pytest_plugin._cpp_binaries import Binary
from pyasync.pytest_plugin._harness_pool import HarnessPool
from pyasync.pytest_plugin._loops import LoopPool, SharedLoop, scope_node
from pyasync.pytest_plugin import _asyncio_vocabulary as asyncio_vocabulary
from pyasync.pytest_plugin._asyncio_vocabulary import AsyncioSettings
from pyasync.pytest_plugin._settings import LoopChoice, Settings, TestSettings, for_item

_HELD_LOOPS = pytest.StashKey[Set[str]]()
_TEST_SETTINGS = pytest.StashKey[TestSettings]()
# The tests this plugin runs (its marker, its auto mode, or pytest-asyncio's vocabulary).
OWNED = pytest.StashKey[bool]()
# Tests pyasync runs in pytest-asyncio's vocabulary (marked @pytest.mark.asyncio, or asyncio_mode = auto):
# the loop scope their mark gives (read at collection, before the mark is taken off the test).
ASYNCIO_LOOP_SCOPE = pytest.StashKey[str]()


def harness_arguments(settings: Settings) -> Tuple[Tuple[str, ...], Optional[float]]:
    """What every harness binary is given (``pyasync_harness_args``, plus ``--timeout`` from
    ``pyasync_timeout`` unless those name one), and the per-case time limit they set."""
    args = settings.cpp.harness_args
    limit = _timeout_in(args)
    if limit is None and settings.timeout is not None:
        args += ("--timeout", f"{settings.timeout:g}")
        limit = settings.timeout
    if not any(word == "--timeout-grace" or word.startswith("--timeout-grace=") for word in args):
        args += ("--timeout-grace", f"{settings.timeout_grace:g}")
    return args, limit


def _timeout_in(args: Sequence[str]) -> Optional[float]:
    for k, word in enumerate(args):
        value = None
        if word.startswith("--timeout="):
            value = word.partition("=")[2]
        elif word == "--timeout" and k + 1 < len(args):
            value = args[k + 1]
        if value is not None:
            try:
                return float(value)
            except ValueError:
                raise pytest.UsageError(f"pyasync: pyasync_harness_args gives --timeout {value!r}; "
                                        "expected a number of seconds") from None
    return None


class PluginState:
    def __init__(self, settings: Settings, asyncio_vocabulary: Optional[AsyncioSettings] = None) -> None:
        self.settings = settings
        # pytest-asyncio's ini keys, when pyasync speaks its vocabulary (it is not active); else None.
        self.asyncio_vocabulary = asyncio_vocabulary
        self.pool = LoopPool()
        self.current_item: Optional[pytest.Item] = None
        # The requests of the fixtures being set up, innermost last (pytest_fixture_setup): a C++
        # fixture's shim reads its own there, its requested fixtures being set up already.
        self.setting_up: List[Any] = []
        # C++ harness binaries: those the ini names, those collected so far, their children.
        self.binaries: Dict[Path, Binary] = {}
        self.collected_binaries: Set[Path] = set()
        args, self.harness_timeout = harness_arguments(settings)
        # A child's own watchdog ends a case that blocks its loop at the limit plus twice the
        # grace period, with the stacks: the plugin waits that long, and a second more, for them.
        self.harness = HarnessPool(args, reply_margin=2 * settings.timeout_grace + 1)
        self._tag_markers: Set[str] = set()
        # The loop each live async fixture was set up on (by fixture definition).
        self.fixture_loops: Dict[Any, SharedLoop] = {}
        self.fixture_modules: Dict[str, int] = {}
        # Auto mode: the async fixture definitions already looked at.
        self.processed_fixtures: Set[Any] = set()

    def register_tag_marker(self, config: pytest.Config, name: str, tag: str) -> None:
        """Registers the marker a C++ tag becomes, once, before an item carries it."""
        if name not in self._tag_markers:
            self._tag_markers.add(name)
            config.addinivalue_line("markers", f"{name}: C++ harness cases tagged [{tag}] (pyasync)")

    def test_settings(self, item: pytest.Item) -> TestSettings:
        """What ``item`` runs with; for a test in pytest-asyncio's vocabulary, once set-up has begun
        (a suite's own ``event_loop_policy`` fixture picks its loop)."""
        cached = item.stash.get(_TEST_SETTINGS, None)
        if cached is None:
            loop_scope = item.stash.get(ASYNCIO_LOOP_SCOPE, None)
            if loop_scope is not None and self.asyncio_vocabulary is not None:
                cached = asyncio_vocabulary.for_item(self.settings, self.asyncio_vocabulary, loop_scope,
                                                     asyncio_vocabulary.policy_loop(item))
            else:
                cached = for_item(self.settings, item)
            item.stash[_TEST_SETTINGS] = cached
        return cached

    def take_in_asyncio_vocabulary(self, item: pytest.Item) -> None:
        """Marks ``item`` as run in pytest-asyncio's vocabulary, reading its mark's loop scope now
        (a malformed mark is a UsageError at collection)."""
        assert self.asyncio_vocabulary is not None
        item.stash[ASYNCIO_LOOP_SCOPE] = asyncio_vocabulary.mark_loop_scope(
            item, self.asyncio_vocabulary.default_test_loop_scope)

    def item_for(self, what: str) -> pytest.Item:
        if self.current_item is None:
            raise RuntimeError(f"pyasync: {what} ran outside a test's set-up, call or tear-down")
        return self.current_item

    def loop_for(self, item: pytest.Item) -> SharedLoop:
        """The loop ``item`` runs on, with a lease held by the node of its loop scope until that
        node ends (the caller takes its own lease for what it runs)."""
        chosen = self.test_settings(item)
        return self.hold_loop(scope_node(item, chosen.loop_scope), chosen.loop)

    def hold_loop(self, holder: Any, choice: LoopChoice) -> SharedLoop:
        """The live loop of ``choice`` (made if need be), with a lease held by ``holder`` (a node)
        until it ends: the loop lives at least that long."""
        held = holder.stash.setdefault(_HELD_LOOPS, set())
        live = self.pool.live.get(choice.name)
        if live is None or choice.name not in held:
            shared = self.pool.acquire(choice)
            held.add(choice.name)
            holder.addfinalizer(functools.partial(self._drop_holder, holder, shared))
            return shared
        return live

    @staticmethod
    def _drop_holder(holder: Any, shared: SharedLoop) -> None:
        __tracebackhide__ = True
        holder.stash[_HELD_LOOPS].discard(shared.choice.name)
        shared.release()


STATE = pytest.StashKey[PluginState]()
