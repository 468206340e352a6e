"""dirkv: a persistent dict, one file per key.

A :class:`Store` behaves like a ``dict`` that lives in a folder: each key is hashed
(SHA-256) to a file name, each value is stored as MessagePack by default, and each write is
a temp file renamed into place under a file lock, so a reader or a crash sees the old value
or the new one, never a mix. The folders are the stores of the ``dirkv`` Rust crate and
command: Rust programs read what Python wrote and back, ``dirkv get`` shows any value as
JSON, and ``ls``, ``cat`` and ``rsync`` work on them.

>>> import dirkv, os, tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     with dirkv.Store(os.path.join(tmp, "pages")) as s:
...         s["home"] = {"title": "Home", "words": 120}
...         s["home"]["words"]
120

Keys are ``str`` by default (``key="bytes"``, ``"int"`` or ``"msgpack"`` for a new store;
an existing store's manifest decides). Values are MessagePack (``codec="json"``, ``"raw"``
for bytes, ``"pickle"`` for any Python object). See ``help(dirkv.Store)``.
"""

from __future__ import annotations

import functools
import inspect
import os
import types
from collections.abc import ItemsView, MutableMapping, ValuesView
from typing import Any, NamedTuple, Optional

from . import _dirkv
from ._errors import (
    CorruptError,
    DecodeError,
    Error,
    IncompatibleFormatError,
    LockedError,
    NotAStoreError,
    ReadOnlyError,
    StoreExistsError,
    StoreNotFoundError,
    WrongKeyError,
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

__version__ = "0.1.0"

#: "No value": return it from a :meth:`Store.modify` function to remove the key; give it
#: to :meth:`Store.compare_and_swap` as ``old`` ("the key has no value") or ``new``
#: ("remove the key"). It is false in a boolean context.
ABSENT = _dirkv.ABSENT

ManualClock = _dirkv.ManualClock

# A forked child must not use the store handles it inherited (they share the parent's
# lock and writer marker): stores reopen themselves in the child. See handle.rs.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_dirkv.after_fork_in_child)


class EntryMeta(NamedTuple):
    """The header of an entry, from :meth:`Store.metadata`. Times are seconds since the
    Unix epoch (by the store's clock)."""

    created: float
    """When the key was first written."""
    modified: float
    """When this value was written."""
    expires: Optional[float]
    """When the value expires; ``None`` for never."""
    accessed: Optional[float]
    """The file's access time (the last ``get`` with ``track_access=True``)."""
    file_len: int
    """The entry file's length in bytes (header, key and stored value)."""
    compressed: bool
    """Whether the value is stored compressed."""
    encrypted: bool
    """Whether the entry is encrypted."""


class Eviction(NamedTuple):
    """What :meth:`Store.evict_to` did."""

    removed: int
    """Entries removed."""
    removed_bytes: int
    """Disk space of the entries removed, in bytes."""
    entries: int
    """Entries left."""
    bytes: int
    """Disk space of the entries left, in bytes."""


class _ItemsView(ItemsView):
    """``store.items()``: one read per entry, streamed."""

    __slots__ = ()

    def __iter__(self):
        return self._mapping._iter_items()


class _ValuesView(ValuesView):
    """``store.values()``: one read per entry, streamed."""

    __slots__ = ()

    def __iter__(self):
        return self._mapping._iter_values()


class Store(_dirkv.StoreBase, MutableMapping):
    """A persistent dict in the folder ``path``: ``store[key] = value`` writes a file.

    ``mode``: ``"create_or_open"`` (the default: open the store, or create it when the path
    is missing or an empty folder), ``"error"`` (create; fail with
    :class:`StoreExistsError` if a store is there), ``"replace"`` (start empty; only ever
    empties a folder that *is* a dirkv store) or ``"update"`` (open; fail with
    :class:`StoreNotFoundError` if there is none). Anything else at the path (a file, a
    folder with other files) is a :class:`NotAStoreError` and is never touched.

    Keyword options (the Rust ``Options``; all have defaults):

    * ``key``: the key type of a new store: ``"str"`` (default; Rust ``String``),
      ``"bytes"`` (``Vec<u8>``), ``"int"`` (``i64``), a Rust integer type (``"u64"``,
      ``"u8"``, ...) or ``"msgpack"`` (``SerdeKey<T>``: tuples and other hashable values).
      An existing store's manifest decides; naming another one is an
      :class:`IncompatibleFormatError`.
    * ``codec``: the value codec of a new store: ``"msgpack"`` (default), ``"json"``,
      ``"raw"`` (bytes only) or ``"pickle"`` (any picklable object; only Python reads it).
      An existing store's manifest decides, except that a pickle store opens only with
      ``codec="pickle"`` said out loud: unpickling runs code, so open one only if you trust
      everyone who can write to its folder.
    * ``durability``: ``"durable"`` (default: every write is fsynced, file and folder,
      before it returns) or ``"fast"`` (no fsync: still atomic, survives a crash of the
      process but maybe not a power cut; :meth:`sync` makes it durable).
    * ``read_only``: no lock, no temp sweep; writes raise :class:`ReadOnlyError`.
    * ``cache``: ``(max_entries, max_bytes)`` of value bytes kept in memory;
      ``cache_mode``: ``"validated"`` (default: one ``stat`` per hit sees other processes'
      writes) or ``"trusted"`` (no system call; only if this process alone writes).
    * ``ttl``: every value written without its own ``ttl`` expires this long after it is
      written (seconds or a ``timedelta``).
    * ``track_access``: record each read in the file's access time, so that
      :meth:`evict_to` removes the least recently *used* entries.
    * ``compression``: LZ4-compress values of at least this many bytes.
    * ``encryption_key`` (32 bytes) or ``passphrase`` (``str`` or ``bytes``): encrypt keys
      and values; file names are keyed hashes.
    * ``lock_timeout``: how long a write waits for the key's lock before raising
      :class:`LockedError` (default: as long as it takes).
    * ``clock``: a :class:`ManualClock` for tests of expiry.
    * ``file_mode`` (default ``0o666`` less the umask), ``preserve_created``,
      ``sync_interval`` (seconds: fast mode syncs from a background thread),
      ``auto_evict=(max_entries, max_bytes, every_n_writes)``.

    Every write is atomic; in durable mode it is durable when the call returns. Threads
    may share a store (the GIL is released for every file operation); many processes may
    open the same folder. After ``os.fork()`` a store reopens itself in the child.

    Names follow ``dict`` (``get``, ``pop``, ``setdefault``, ``update``, ``keys``,
    ``items``, ``values``, ``clear``). The Rust ``update`` (a read-modify-write) is
    :meth:`modify` here, because ``update`` is the mapping's bulk write.
    """

    # Stores are generic in editors: ``dirkv.Store[str, dict]``.
    __class_getitem__ = classmethod(types.GenericAlias)

    def __init__(self, path: Any, mode: str = "create_or_open", **options: Any) -> None:
        # The store was opened by the native __new__; remember how, for pickling.
        self._options = options

    def items(self) -> ItemsView:
        """A view of the ``(key, value)`` pairs; iterating it streams the store (one file
        read per entry, memory stays flat)."""
        return _ItemsView(self)

    def values(self) -> ValuesView:
        """A view of the values; iterating it streams the store."""
        return _ValuesView(self)

    def popitem(self) -> tuple:
        """Removes some ``(key, value)`` pair and returns it; ``KeyError`` when empty."""
        for key in self:
            try:
                return key, self.pop(key)
            except KeyError:  # removed meanwhile by someone else
                continue
        raise KeyError("popitem(): store is empty")

    def evict_to(self, max_entries: int, max_bytes: int) -> Eviction:
        """Removes the least recently written entries (least recently used with
        ``track_access=True``) until at most ``max_entries`` entries taking at most
        ``max_bytes`` bytes on disk are left."""
        return Eviction(*self._evict_to(max_entries, max_bytes))

    def metadata(self, key: Any) -> Optional[EntryMeta]:
        """The times, size and flags of ``key``'s entry; ``None`` when it has no value."""
        m = self._metadata(key)
        return None if m is None else EntryMeta(*m)

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return (
            f"<dirkv.Store {self.path!r} key={self.key_type}"
            f" codec={self.codec}{state}>"
        )

    def __reduce__(self):
        # Pickled (for another process): reopened there by path, as it is now.
        options = dict(self._options)
        if self.encrypted or options.get("clock") is not None:
            raise TypeError(
                "an encrypted store or one with a ManualClock cannot be pickled: "
                "open it in the other process"
            )
        options.update(key=self.key_encoding, codec=self.codec)
        return (functools.partial(Store, self.path, "update", **options), ())


# help() and editors show the native constructor's keyword options, not **options.
_native = inspect.signature(_dirkv.StoreBase)
Store.__init__.__signature__ = _native.replace(  # type: ignore[attr-defined]
    parameters=[inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    + list(_native.parameters.values()),
    return_annotation=None,
)
del _native

