"""Type hints of the dirkv package (the runtime docstrings are in __init__.py and the
native module; `help(dirkv.Store)` shows them)."""

import datetime
import os
from collections.abc import ItemsView, Iterable, Iterator, Mapping, MutableMapping, ValuesView
import types
from typing import Any, Callable, Final, Literal, NamedTuple, Optional, TypeVar, Union, final, overload

from ._errors import (
    CorruptError as CorruptError,
    DecodeError as DecodeError,
    Error as Error,
    IncompatibleFormatError as IncompatibleFormatError,
    LockedError as LockedError,
    NotAStoreError as NotAStoreError,
    ReadOnlyError as ReadOnlyError,
    StoreExistsError as StoreExistsError,
    StoreNotFoundError as StoreNotFoundError,
    WrongKeyError as WrongKeyError,
)

__all__ = [
    "ABSENT",
    "CorruptError",
    "DecodeError",
    "EntryMeta",
    "Error",
    "Eviction",
    "IncompatibleFormatError",
    "LockedError",
    "ManualClock",
    "NotAStoreError",
    "ReadOnlyError",
    "Store",
    "StoreExistsError",
    "StoreNotFoundError",
    "WrongKeyError",
]

__version__: str

_K = TypeVar("_K")
_V = TypeVar("_V")
_T = TypeVar("_T")

_Seconds = Union[int, float, datetime.timedelta]
_Mode = Literal["create_or_open", "error", "replace", "update"]
_KeyOption = Literal[
    "str", "bytes", "int", "msgpack",
    "utf8", "u8", "u16", "u32", "u64", "u128", "usize",
    "i8", "i16", "i32", "i64", "i128", "isize",
]
_CodecOption = Literal["msgpack", "json", "raw", "pickle"]

class _Absent:
    def __bool__(self) -> Literal[False]: ...

ABSENT: Final[_Absent]
""""No value": return it from a modify() function to remove the key; compare_and_swap's
``old`` ("has no value") and ``new`` ("remove the key")."""

@final
class ManualClock:
    """A clock that stands still until it is moved, for tests of expiry."""
    def __new__(cls, start: Optional[float] = None) -> "ManualClock": ...
    def advance(self, seconds: _Seconds) -> None: ...
    def set(self, unix_seconds: float) -> None: ...
    def now(self) -> float: ...

class EntryMeta(NamedTuple):
    created: float
    modified: float
    expires: Optional[float]
    accessed: Optional[float]
    file_len: int
    compressed: bool
    encrypted: bool

class Eviction(NamedTuple):
    removed: int
    removed_bytes: int
    entries: int
    bytes: int

class Store(MutableMapping[_K, _V]):
    """A persistent dict in a folder, one file per key (see help(dirkv.Store))."""

    def __init__(
        self,
        path: Union[str, os.PathLike[str]],
        mode: _Mode = "create_or_open",
        *,
        key: Optional[_KeyOption] = None,
        codec: Optional[_CodecOption] = None,
        durability: Literal["durable", "fast"] = "durable",
        read_only: bool = False,
        cache: Optional[tuple[int, int]] = None,
        cache_mode: Literal["validated", "trusted"] = "validated",
        ttl: Optional[_Seconds] = None,
        track_access: bool = False,
        compression: Optional[int] = None,
        encryption_key: Optional[bytes] = None,
        passphrase: Union[str, bytes, None] = None,
        lock_timeout: Optional[_Seconds] = None,
        clock: Optional[ManualClock] = None,
        file_mode: Optional[int] = None,
        preserve_created: bool = False,
        sync_interval: Optional[_Seconds] = None,
        auto_evict: Optional[tuple[int, int, int]] = None,
    ) -> None: ...

    # Properties.
    @property
    def path(self) -> str: ...
    @property
    def key_type(self) -> Literal["str", "bytes", "int", "msgpack"]: ...
    @property
    def key_encoding(self) -> str: ...
    @property
    def codec(self) -> _CodecOption: ...
    @property
    def read_only(self) -> bool: ...
    @property
    def encrypted(self) -> bool: ...
    @property
    def closed(self) -> bool: ...

    # The mapping.
    def __class_getitem__(cls, item: Any, /) -> types.GenericAlias: ...
    def __getitem__(self, key: _K, /) -> _V: ...
    def __setitem__(self, key: _K, value: _V, /) -> None: ...
    def __delitem__(self, key: _K, /) -> None: ...
    def __contains__(self, key: object, /) -> bool: ...
    def __iter__(self) -> Iterator[_K]: ...
    def __len__(self) -> int: ...
    def __bool__(self) -> bool: ...
    @overload
    def get(self, key: _K, default: None = None) -> Optional[_V]: ...
    @overload
    def get(self, key: _K, default: Union[_V, _T]) -> Union[_V, _T]: ...
    @overload
    def pop(self, key: _K) -> _V: ...
    @overload
    def pop(self, key: _K, default: Union[_V, _T]) -> Union[_V, _T]: ...
    def setdefault(self, key: _K, default: _V = ...) -> _V: ...  # type: ignore[override]
    def popitem(self) -> tuple[_K, _V]: ...
    def clear(self) -> None: ...
    def items(self) -> ItemsView[_K, _V]: ...
    def values(self) -> ValuesView[_V]: ...

    # Beyond the mapping.
    def set(self, key: _K, value: _V, *, ttl: Optional[_Seconds] = None) -> None: ...
    def delete(self, key: _K) -> bool: ...
    def get_many(self, keys: Iterable[_K], default: Any = None) -> list[Any]: ...
    def set_many(self, items: Union[Mapping[_K, _V], Iterable[tuple[_K, _V]]]) -> None: ...
    def delete_many(self, keys: Iterable[_K]) -> int: ...
    def modify(
        self,
        key: _K,
        func: Callable[[Any], Any],
        *,
        default: Any = None,
        ttl: Optional[_Seconds] = None,
    ) -> Any: ...
    def set_if_absent(self, key: _K, value: _V) -> bool: ...
    def compare_and_swap(self, key: _K, old: Union[_V, _Absent], new: Union[_V, _Absent]) -> bool: ...
    def purge_expired(self) -> int: ...
    def evict_to(self, max_entries: int, max_bytes: int) -> Eviction: ...
    def metadata(self, key: _K) -> Optional[EntryMeta]: ...
    def path_of(self, key: _K) -> str: ...
    def sync(self) -> None: ...
    def sweep_temps(self) -> int: ...
    def cache_stats(self) -> Optional[dict[str, int]]: ...
    def close(self) -> None: ...
    def __enter__(self: _T) -> _T: ...
    def __exit__(self, *exc: object) -> Literal[False]: ...
