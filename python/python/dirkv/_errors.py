"""The exceptions of dirkv, one class per error a caller acts on.

Every one is a :class:`dirkv.Error`, which is an :class:`OSError`: all of them are about a
store's files. Each carries ``path`` (the file or folder involved, or ``None``), ``kind``
(the Rust ``ErrorKind`` in snake case: ``"corrupt"``, ``"io"``, ...) and, for I/O errors,
``errno``. Mistakes of the caller are the usual built-in exceptions instead: ``KeyError``
for a missing key, ``TypeError`` for a key or value of the wrong type, ``ValueError`` for a
bad argument, ``OverflowError`` for an ``int`` out of range.
"""

from __future__ import annotations

import os
from typing import Optional

__all__ = [
    "Error",
    "CorruptError",
    "DecodeError",
    "IncompatibleFormatError",
    "LockedError",
    "NotAStoreError",
    "ReadOnlyError",
    "StoreExistsError",
    "StoreNotFoundError",
    "WrongKeyError",
]


class Error(OSError):
    """Base class of dirkv's errors (a subclass of :class:`OSError`).

    ``str(e)`` says what dirkv was doing and on which path. Attributes: ``path`` (also
    ``filename``), ``kind``, and ``errno``/``strerror`` when the operating system gave
    an error number (``errno.ENOSPC`` for a full disk, ...).
    """

    path: Optional[str]
    kind: str

    def __init__(
        self,
        message: str = "",
        *,
        path: Optional[str] = None,
        kind: str = "io",
        errno: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.kind = kind
        self.errno = errno
        self.strerror = os.strerror(errno) if errno is not None else None
        self.filename = path

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # type: ignore[override]
        return (_rebuild, (type(self), self.message, self.path, self.kind, self.errno))


def _rebuild(cls, message, path, kind, errno):
    return cls(message, path=path, kind=kind, errno=errno)


class CorruptError(Error):
    """A file of the store is damaged (truncated, bad checksum, a key that does not belong
    under its file name, a link or folder where an entry should be). ``path`` names it;
    ``dirkv verify`` and ``dirkv quarantine`` deal with it from the shell."""


class DecodeError(Error):
    """A stored value or key passed its checksum but cannot be decoded by the store's codec
    (for example a pickle of a class that no longer exists). ``__cause__`` holds the
    codec's own error when it raised one."""


class IncompatibleFormatError(Error):
    """The store was made with another key type or codec than the one asked for, by a newer
    dirkv, or with a key type or codec this package does not know. ``path`` is the
    manifest."""


class LockedError(Error, TimeoutError):
    """The store's write lock was not free within ``lock_timeout``."""


class NotAStoreError(Error):
    """The path holds something that is not a dirkv store (a file, a folder with other
    files). It is never adopted and never deleted."""


class ReadOnlyError(Error):
    """A write to a store opened with ``read_only=True``."""


class StoreExistsError(Error, FileExistsError):
    """``mode="error"`` found a store at the path."""


class StoreNotFoundError(Error, FileNotFoundError):
    """``mode="update"`` found no store at the path."""


class WrongKeyError(Error):
    """The store is encrypted and the key or passphrase given is not its key (or none was
    given)."""
