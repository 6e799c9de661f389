"""pyasync: C++20 coroutines as Python coroutines, and the tools that test them.

Importing this package loads the process's one pyasync bridge (``pyasync._core`` and the
``libpyasync`` shared library every pyasync extension module links): one runtime of worker
threads, one coroutine type, one ``CppError``, whatever number of extension modules use it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Coroutine, Optional, TypeVar, Union


def _explain_missing_core(error: ImportError) -> ImportError:
    """The ImportError to raise when the native core does not load: most often the package was
    built for another interpreter (CMake and pip build it for one), so name both."""
    import pathlib
    import sys
    import sysconfig

    here = pathlib.Path(__file__).resolve().parent
    built = sorted(path.name for path in here.glob("_core*.so"))
    this = f"CPython {sys.version.split()[0]} at {sys.executable} (expects {sysconfig.get_config_var('EXT_SUFFIX')})"
    if not built:
        return ImportError(f"pyasync's native core (_core) is missing from {here}: build or install pyasync ({error})")
    return ImportError(
        f"pyasync's native core did not load in {this}: {here} holds {', '.join(built)}. pyasync's native "
        f"parts are built for one interpreter: build or install it with this one (CMake: "
        f"-DPython3_EXECUTABLE={sys.executable}; pip: {sys.executable} -m pip install ...). ({error})"
    )


try:
    from pyasync._core import (
        CppError,
        __version__,
        abi_version,
        async_generator,
        coroutine,
        library_path,
        pending,
        runtime_info,
    )
except ImportError as _error:
    if getattr(_error, "name", None) not in ("pyasync._core", None):
        raise
    raise _explain_missing_core(_error) from _error
from pyasync import _core

__all__ = [
    "CppError",
    "fixture",
    "__version__",
    "abi_version",
    "async_generator",
    "configure_runtime",
    "coroutine",
    "library_path",
    "loop_factory",
    "new_event_loop",
    "pending",
    "run",
    "runtime_info",
]

# `pytest -p pyasync` (from a build tree, where no entry point is installed) loads the plugin.
pytest_plugins = ["pyasync.pytest_plugin"]

_T = TypeVar("_T")
LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def fixture(function=None, **options):  # type: ignore[no-untyped-def]
    """Declares an ``async def`` fixture that pyasync's pytest plugin runs on the test's loop: the
    arguments of ``pytest.fixture`` (see ``pyasync.pytest_plugin``)."""
    from pyasync.pytest_plugin._async_fixtures import fixture as declare

    return declare(function, **options)


def configure_runtime(*, threads: Optional[int] = None, spin_us: Optional[int] = None) -> None:
    """Set how the default runtime (the worker threads C++ work runs on) will be made.

    Call it before any C++ work starts, typically right after import. ``threads`` is 1 to
    1024 (default: ``PYASYNC_THREADS``, else one per core); ``spin_us`` is how long an idle
    worker spins before sleeping, 0 to 100000 (default: ``PYASYNC_SPIN_US``, else 100).
    Raises ``ValueError`` for a value out of range and ``RuntimeError`` once the runtime has
    started, since its threads exist by then.
    """
    for name, value in (("threads", threads), ("spin_us", spin_us)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f"configure_runtime: {name} must be an int or None, not {type(value).__name__}")
    _core.configure_runtime(threads=threads, spin_us=spin_us)


def loop_factory(spec: Union[str, LoopFactory, None]) -> Optional[LoopFactory]:
    """The loop factory that ``spec`` names, as the harness's ``--loop-factory`` reads it.

    ``None`` or ``"asyncio"`` give ``None`` (asyncio's default loop); ``"uvloop"`` gives
    ``uvloop.new_event_loop``; ``"module:callable"`` imports ``module`` and returns the
    callable; a callable is returned as it is. Raises ``ValueError`` for an unknown form and
    ``ImportError`` when the module cannot be imported.
    """
    return _factory_from(spec)


def _factory_from(spec: Union[str, LoopFactory, None]) -> Optional[LoopFactory]:
    if spec is None:
        return None
    if callable(spec):
        return spec
    if not isinstance(spec, str):
        raise TypeError(
            f"loop_factory: expected None, a callable or a string ('asyncio', 'uvloop', "
            f"'module:callable'), got {type(spec).__name__}"
        )
    return _core.resolve_loop_factory(spec)


def new_event_loop(spec: Union[str, LoopFactory, None] = None) -> asyncio.AbstractEventLoop:
    """A new event loop from the factory ``spec`` names (see :func:`loop_factory`)."""
    factory = _factory_from(spec)
    return asyncio.new_event_loop() if factory is None else factory()


def run(
    main: Coroutine[Any, Any, _T],
    *,
    loop_factory: Union[str, LoopFactory, None] = None,
    debug: Optional[bool] = None,
) -> _T:
    """Run ``main`` on a new loop and return its result, as ``asyncio.run`` does.

    The same runner ``pyasync::run`` and ``PYASYNC_MAIN`` use in C++ (an ``asyncio.Runner``):
    leftover tasks are cancelled, async generators and the default executor shut down and the
    loop closed. ``loop_factory`` is anything :func:`loop_factory` accepts.
    """
    return _core.run(main, _factory_from(loop_factory), debug)
