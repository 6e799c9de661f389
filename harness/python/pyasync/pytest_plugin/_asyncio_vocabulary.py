"""pytest-asyncio's vocabulary, spoken by pyasync when pytest-asyncio is not active (not
installed, or disabled with ``-p no:asyncio``), so that a suite written for it switches in one
line: ``@pytest.mark.asyncio`` (``loop_scope=``, and 0.2x's ``scope=``), fixtures decorated with
``pytest_asyncio.fixture``, the ini keys ``asyncio_mode``, ``asyncio_default_test_loop_scope``,
``asyncio_default_fixture_loop_scope`` and ``asyncio_debug``, the ``event_loop_policy`` fixture a
suite overrides to pick its loop, and the ``unused_*_port`` fixtures.

Under these names the defaults are pytest-asyncio's: a test's loop lives for the test (function
loop scope) unless configured, and an error reaching the loop's exception handler is logged by
asyncio, as it would be without a plugin. Under pyasync's own names they stay pyasync's. When
pytest-asyncio is active, none of this applies: each plugin runs the tests marked for it."""
from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import socket
import sys
from typing import Callable, Optional

import pytest

from pyasync.pytest_plugin._settings import LOOP_SCOPES, MODES, LoopChoice, Settings, TestSettings, choose, \
    parse_bool

PYTEST_ASYNCIO = "pytest_asyncio.plugin"


@dataclasses.dataclass(frozen=True)
class AsyncioSettings:
    """The ini keys of pytest-asyncio's vocabulary, validated once."""

    mode: str
    default_test_loop_scope: str
    default_fixture_loop_scope: Optional[str]  # None: the fixture's own scope, as pytest-asyncio does
    debug: bool


def is_active(pluginmanager: pytest.PytestPluginManager) -> bool:
    """Whether pytest-asyncio itself is loaded in this session."""
    return any(getattr(plugin, "__name__", "") == PYTEST_ASYNCIO for plugin in pluginmanager.get_plugins())


def _cannot_load(pluginmanager: pytest.PytestPluginManager) -> bool:
    """Whether pytest-asyncio is sure not to be loaded (blocked, or not installed): only then may
    pyasync add its command-line option, which would clash with pytest-asyncio's own."""
    if is_active(pluginmanager):
        return False
    return pluginmanager.is_blocked("asyncio") or importlib.util.find_spec("pytest_asyncio") is None


def add_options(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """pytest-asyncio's ini keys (a duplicate ini key is harmless, and is read only when
    pytest-asyncio is not active) and, where pytest-asyncio cannot load, ``--asyncio-mode``."""
    keys = [
        ("asyncio_mode", "pytest-asyncio's vocabulary: strict (default): tests marked @pytest.mark.asyncio and "
         "fixtures decorated with pytest_asyncio.fixture; auto: every async test and fixture", "strict"),
        ("asyncio_default_test_loop_scope", "pytest-asyncio's vocabulary: the loop scope of a test whose mark "
         "names none (default: function)", "function"),
        ("asyncio_default_fixture_loop_scope", "pytest-asyncio's vocabulary: the loop scope of an async fixture "
         "that names none (default: its own scope)", ""),
        ("asyncio_debug", "pytest-asyncio's vocabulary: run the tests' loops in asyncio's debug mode", "false"),
    ]
    for name, help_text, default in keys:
        parser.addini(name, help_text, default=default)
    if _cannot_load(pluginmanager):
        parser.getgroup("pyasync").addoption(
            "--asyncio-mode", dest="asyncio_mode", default=None,
            help="pytest-asyncio's vocabulary (pytest-asyncio is not active): strict or auto")


def read_settings(config: pytest.Config) -> AsyncioSettings:
    option = config.getoption("asyncio_mode", None)
    mode = str(option if option is not None else config.getini("asyncio_mode")).strip() or "strict"
    fixture_scope = str(config.getini("asyncio_default_fixture_loop_scope")).strip()
    return AsyncioSettings(
        mode=choose("asyncio_mode", mode, MODES, "asyncio_mode (pytest-asyncio's, read by pyasync)"),
        default_test_loop_scope=choose("asyncio_default_test_loop_scope",
                                       str(config.getini("asyncio_default_test_loop_scope")).strip() or "function",
                                       LOOP_SCOPES, "asyncio_default_test_loop_scope"),
        default_fixture_loop_scope=choose("asyncio_default_fixture_loop_scope", fixture_scope, LOOP_SCOPES,
                                          "asyncio_default_fixture_loop_scope") if fixture_scope else None,
        debug=parse_bool(str(config.getini("asyncio_debug")).strip(), "asyncio_debug"),
    )


def mark_loop_scope(item: pytest.Item, default: str) -> str:
    """The loop scope ``@pytest.mark.asyncio`` gives ``item`` (``loop_scope=``, or 0.2x's
    ``scope=``), or ``default``; a UsageError names what is wrong with the mark."""
    marker = item.get_closest_marker("asyncio")
    if marker is None:
        return default
    where = f"@pytest.mark.asyncio of {item.nodeid}"
    if marker.args:
        raise pytest.UsageError(f"pyasync: {where} takes keyword arguments only (loop_scope=); got positional "
                                f"{marker.args!r}")
    unknown = sorted(set(marker.kwargs) - {"loop_scope", "scope"})
    if unknown:
        raise pytest.UsageError(f"pyasync: {where} has unknown argument(s) {', '.join(unknown)}; expected "
                                "loop_scope= (or scope=, its older name)")
    if "loop_scope" in marker.kwargs and "scope" in marker.kwargs:
        raise pytest.UsageError(f"pyasync: {where} gives both loop_scope= and scope= (its older name): keep "
                                "loop_scope=")
    scope = marker.kwargs.get("loop_scope", marker.kwargs.get("scope", default))
    return choose("loop_scope", scope, LOOP_SCOPES, f"loop_scope= of {where}")


def for_item(settings: Settings, vocabulary: AsyncioSettings, loop_scope: str,
             loop: Optional[LoopChoice] = None) -> TestSettings:
    """What a test in pytest-asyncio's vocabulary runs with: its mark's loop scope (``loop_scope``,
    from ``mark_loop_scope``), the loop of ``event_loop_policy`` when a suite overrides it
    (``loop``), pyasync's timeout, and loop errors logged unless pyasync_loop_errors says otherwise."""
    return TestSettings(loop or settings.loop, loop_scope, settings.timeout, settings.loop_errors or "log",
                        True if vocabulary.debug else None)


# ---- the fixtures pytest-asyncio provides (registered as a plugin when it is not active) ------------------


def _event_loop_policy() -> asyncio.AbstractEventLoopPolicy:
    """The event loop policy whose ``new_event_loop()`` makes the loops of tests in pytest-asyncio's
    vocabulary. Override it (session scope) to run them on another loop, e.g. uvloop's policy."""
    return asyncio.get_event_loop_policy()


event_loop_policy = pytest.fixture(scope="session", name="event_loop_policy")(_event_loop_policy)


@pytest.fixture
def event_loop(request: pytest.FixtureRequest) -> Optional[asyncio.AbstractEventLoop]:
    """The loop the requesting test runs on: pytest-asyncio 0.2x's fixture (1.x removed it), which
    suites still pass to their tests (``event_loop.run_in_executor``). A suite's own ``event_loop``
    fixture overrides it, as it did pytest-asyncio's."""
    from pyasync.pytest_plugin._state import STATE

    return request.config.stash[STATE].loop_for(request.node).loop


def policy_loop(item: pytest.Item) -> Optional[LoopChoice]:
    """The loop a suite's own ``event_loop_policy`` fixture picks for ``item``, or None when the
    suite does not override it. Called during ``item``'s set-up (it may set the fixture up)."""
    manager = item.session._fixturemanager  # type: ignore[attr-defined]
    try:
        definitions = manager.getfixturedefs("event_loop_policy", item.nodeid)
    except TypeError:  # pytest 8 takes the node
        definitions = manager.getfixturedefs("event_loop_policy", item)
    if not definitions or getattr(definitions[-1].func, "__code__", None) is _event_loop_policy.__code__:
        return None  # pyasync's own: the configured loop
    policy = item._request.getfixturevalue("event_loop_policy")  # type: ignore[attr-defined]
    kind = type(policy)
    return LoopChoice(f"event_loop_policy {kind.__module__}.{kind.__qualname__}", policy.new_event_loop)


def _unused_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_factory(kind: int) -> Callable[[], int]:
    given: set = set()

    def factory() -> int:
        port = _unused_port(kind)
        while port in given:
            port = _unused_port(kind)
        given.add(port)
        return port

    return factory


@pytest.fixture
def unused_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that was free when asked for."""
    return _unused_port(socket.SOCK_STREAM)


@pytest.fixture
def unused_udp_port() -> int:
    """A UDP port on 127.0.0.1 that was free when asked for."""
    return _unused_port(socket.SOCK_DGRAM)


@pytest.fixture(scope="session")
def unused_tcp_port_factory() -> Callable[[], int]:
    """A function returning a free TCP port each call, never the same one twice in a session."""
    return _port_factory(socket.SOCK_STREAM)


@pytest.fixture(scope="session")
def unused_udp_port_factory() -> Callable[[], int]:
    """A function returning a free UDP port each call, never the same one twice in a session."""
    return _port_factory(socket.SOCK_DGRAM)


def register_fixtures(config: pytest.Config) -> None:
    """Makes the fixtures above pytest fixtures of this session (only when pytest-asyncio is not
    active: it provides its own)."""
    if not config.pluginmanager.is_registered(sys.modules[__name__]):
        config.pluginmanager.register(sys.modules[__name__], "pyasync-asyncio-vocabulary")

