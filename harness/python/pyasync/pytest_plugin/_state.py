"""The plugin's state for one session: its settings, the live loops, the item being run, and
which loop each async fixture was set up on."""
from __future__ import annotations

import functools
from typing import Any, Dict, Optional, Set

import pytest

from pyasync.pytest_plugin._loops import LoopPool, SharedLoop, scope_node
from pyasync.pytest_plugin._settings import Settings, TestSettings, for_item

_HELD_LOOPS = pytest.StashKey[Set[str]]()
_TEST_SETTINGS = pytest.StashKey[TestSettings]()


class PluginState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool = LoopPool()
        self.current_item: Optional[pytest.Item] = None
        # The loop each live async fixture was set up on (by fixture definition).
        self.fixture_loops: Dict[Any, SharedLoop] = {}
        self.fixture_modules: Dict[str, int] = {}
        # Auto mode: the async fixture definitions already looked at.
        self.processed_fixtures: Set[Any] = set()

    def test_settings(self, item: pytest.Item) -> TestSettings:
        cached = item.stash.get(_TEST_SETTINGS, None)
        if cached is None:
            cached = item.stash[_TEST_SETTINGS] = for_item(self.settings, item)
        return cached

    def item_for(self, what: str) -> pytest.Item:
        if self.current_item is None:
            raise RuntimeError(f"pyasync: {what} ran outside a test's set-up, call or tear-down")
        return self.current_item

    def loop_for(self, item: pytest.Item) -> SharedLoop:
        """The loop ``item`` runs on, with a lease held by the node of its loop scope until that
        node ends (the caller takes its own lease for what it runs)."""
        chosen = self.test_settings(item)
        holder = scope_node(item, chosen.loop_scope)
        held = holder.stash.setdefault(_HELD_LOOPS, set())
        live = self.pool.live.get(chosen.loop.name)
        if live is None or chosen.loop.name not in held:
            shared = self.pool.acquire(chosen.loop)
            held.add(chosen.loop.name)
            holder.addfinalizer(functools.partial(self._drop_holder, holder, shared))
            return shared
        return live

    @staticmethod
    def _drop_holder(holder: Any, shared: SharedLoop) -> None:
        __tracebackhide__ = True
        holder.stash[_HELD_LOOPS].discard(shared.choice.name)
        shared.release()
