"""Errors: one dirkv.Error base (an OSError) with a class per ErrorKind users act on, each
carrying path and kind; KeyError, TypeError and ValueError where Python habits want them."""

from __future__ import annotations

import errno
import fcntl
import os
import pickle
import threading

import pytest

import dirkv
from support import new


def test_hierarchy():
    for cls in [
        dirkv.CorruptError,
        dirkv.DecodeError,
        dirkv.IncompatibleFormatError,
        dirkv.LockedError,
        dirkv.NotAStoreError,
        dirkv.ReadOnlyError,
        dirkv.StoreExistsError,
        dirkv.StoreNotFoundError,
        dirkv.WrongKeyError,
    ]:
        assert issubclass(cls, dirkv.Error) and issubclass(cls, OSError), cls
        assert cls.__doc__
    assert issubclass(dirkv.LockedError, TimeoutError)
    assert issubclass(dirkv.StoreNotFoundError, FileNotFoundError)
    assert issubclass(dirkv.StoreExistsError, FileExistsError)


def test_errors_pickle_with_their_attributes():
    e = dirkv.CorruptError("bad checksum: /s/ab/x.dkv", path="/s/ab/x.dkv", kind="corrupt")
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is dirkv.CorruptError
    assert (str(back), back.path, back.kind, back.filename) == (
        "bad checksum: /s/ab/x.dkv",
        "/s/ab/x.dkv",
        "corrupt",
        "/s/ab/x.dkv",
    )
    io = dirkv.Error("cannot write entry: /x", path="/x", errno=errno.ENOSPC)
    assert io.errno == errno.ENOSPC and io.strerror == os.strerror(errno.ENOSPC)
    assert str(io) == "cannot write entry: /x"


def damage(path: str, offset: int = 20) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))


def test_a_damaged_entry_is_a_corrupt_error_naming_its_file(store):
    store["k"] = {"v": 1}
    store["ok"] = 2
    damage(store.path_of("k"), offset=-3 % os.path.getsize(store.path_of("k")))
    with pytest.raises(dirkv.CorruptError) as e:
        store["k"]
    assert e.value.path == store.path_of("k") and e.value.kind == "corrupt"
    assert store.path_of("k") in str(e.value)
    with pytest.raises(dirkv.CorruptError):
        store.get("k")
    with pytest.raises(dirkv.CorruptError):
        store.modify("k", lambda v: v)
    # Items of a damaged entry raise when reached, and the walk goes on after.
    it = iter(store.items())
    got, errors = [], 0
    for _ in range(3):
        try:
            got.append(next(it))
        except dirkv.CorruptError:
            errors += 1
        except StopIteration:
            break
    assert got == [("ok", 2)] and errors == 1
    assert store["ok"] == 2
    # A damaged entry can be replaced or removed.
    store["k"] = "fixed"
    assert store["k"] == "fixed"


def test_truncated_file(store):
    store["k"] = "x" * 100
    with open(store.path_of("k"), "r+b") as f:
        f.truncate(30)
    with pytest.raises(dirkv.CorruptError):
        store["k"]
    assert store.delete("k")


def test_not_a_store(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(dirkv.NotAStoreError) as e:
        new(tmp_path / "file")
    assert e.value.path == str(tmp_path / "file") and e.value.kind == "not_a_store"
    assert (tmp_path / "file").read_text() == "x"


def test_incompatible_codec(tmp_path):
    new(tmp_path / "s", codec="json").close()
    with pytest.raises(dirkv.IncompatibleFormatError, match="codec is `json`"):
        new(tmp_path / "s", codec="msgpack")


def test_unknown_codec_and_key_type_from_rust(tmp_path):
    new(tmp_path / "s").close()
    manifest = tmp_path / "s" / "DIRKV"
    text = manifest.read_text()
    manifest.write_text(text.replace("codec = msgpack", "codec = u64le"))
    with pytest.raises(dirkv.IncompatibleFormatError, match="codec `u64le`"):
        new(tmp_path / "s")
    manifest.write_text(text.replace("key = utf8", "key = uuid"))
    with pytest.raises(dirkv.IncompatibleFormatError, match="key type `uuid`"):
        new(tmp_path / "s")


def test_newer_format_is_incompatible(tmp_path):
    new(tmp_path / "s").close()
    manifest = tmp_path / "s" / "DIRKV"
    manifest.write_text(manifest.read_text().replace("format = 1", "format = 99"))
    with pytest.raises(dirkv.IncompatibleFormatError):
        new(tmp_path / "s")


def test_locked_error_after_lock_timeout(store):
    # Another process (here: this one, through another open file) holds the lock of the
    # key's shard folder.
    fd = os.open(os.path.dirname(store.path_of("k")), os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with new(store.path, lock_timeout=0.2) as s:
            with pytest.raises(dirkv.LockedError) as e:
                s["k"] = 1
            assert isinstance(e.value, TimeoutError) and e.value.kind == "locked"
            assert s.get("k") is None  # reads take no lock
    finally:
        os.close(fd)
    store["k"] = 1


def test_lock_timeout_with_a_modify_in_another_thread(store, tmp_path):
    inside, release = threading.Event(), threading.Event()

    def slow(old):
        inside.set()
        release.wait(10)
        return 1

    t = threading.Thread(target=store.modify, args=("k", slow))
    t.start()
    try:
        assert inside.wait(10)
        with new(store.path, lock_timeout=0.1) as other:
            with pytest.raises(dirkv.LockedError):
                other["k"] = 2  # the same key (shard) as the modify
    finally:
        release.set()
        t.join(10)
    assert store["k"] == 1


def test_decode_error_carries_the_codec_error(tmp_path):
    import types

    mod = types.ModuleType("vanishing")
    exec("class Thing:\n    pass\n", mod.__dict__)
    import sys

    sys.modules["vanishing"] = mod
    try:
        with new(tmp_path / "s", codec="pickle") as s:
            s["k"] = mod.Thing()
    finally:
        del sys.modules["vanishing"]
    with new(tmp_path / "s", codec="pickle") as s:
        with pytest.raises(dirkv.DecodeError) as e:
            s["k"]
        assert isinstance(e.value.__cause__, ImportError)
        assert e.value.path == s.path_of("k") and e.value.kind == "decode"


def test_json_store_with_bad_text_is_a_decode_error(tmp_path):
    with new(tmp_path / "s", codec="raw") as s:
        s["k"] = b"{not json"
    manifest = tmp_path / "s" / "DIRKV"
    manifest.write_text(manifest.read_text().replace("codec = raw", "codec = json"))
    with new(tmp_path / "s") as s:
        with pytest.raises(dirkv.DecodeError):
            s["k"]


def test_io_error_carries_errno(tmp_path):
    # A shard folder replaced by a file: the write fails with the OS's error number.
    with new(tmp_path / "s") as s:
        s["k"] = 1
        shard = os.path.dirname(s.path_of("other-key"))
    for name in os.listdir(shard):
        os.unlink(os.path.join(shard, name))
    os.rmdir(shard)
    with open(shard, "w") as f:
        f.write("not a folder")
    with new(tmp_path / "s") as s:
        with pytest.raises(dirkv.Error) as e:
            s["other-key"] = 1
    assert isinstance(e.value, OSError)
    assert e.value.path is not None
