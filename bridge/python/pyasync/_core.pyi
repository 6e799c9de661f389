# Type stubs for pyasync._core, the package's native core (bridge/python/core_module.cpp).
from typing import Any, Callable, Coroutine, Optional, TypedDict, TypeVar

_T = TypeVar("_T")

__version__: str
abi_version: int
library_path: str

class CppError(RuntimeError): ...

class coroutine(Coroutine[Any, Any, Any]):
    __name__: str
    __qualname__: str
    cr_await: Any
    cr_running: bool
    cr_suspended: bool
    cr_frame: None
    cr_code: None
    cr_origin: None
    def send(self, value: Any, /) -> Any: ...
    def throw(self, typ: Any, val: Any = ..., tb: Any = ..., /) -> Any: ...
    def close(self) -> None: ...

class async_generator:
    def __aiter__(self) -> async_generator: ...
    async def __anext__(self) -> Any: ...
    async def aclose(self) -> None: ...

class _RuntimeInfo(TypedDict):
    started: bool
    engine: str
    threads: int
    spin_us: int

def pending() -> int: ...
def configure_runtime(*, threads: Optional[int] = ..., spin_us: Optional[int] = ...) -> None: ...
def runtime_info() -> _RuntimeInfo: ...
def resolve_loop_factory(spec: str) -> Optional[Callable[[], Any]]: ...
def run(main: Coroutine[Any, Any, _T], loop_factory: Optional[Callable[[], Any]], debug: Optional[bool]) -> _T: ...
