"""Keys: str, bytes and int keys hash exactly as the Rust key types do (the file is
``<2 hex>/<sha256 of the key bytes>.dkv``, so ``printf %s KEY | sha256sum`` finds it),
msgpack keys as ``SerdeKey<T>``, and the manifest records the key type."""

from __future__ import annotations

import hashlib
import os

import pytest

import dirkv
from support import new, run


def entry_file(store: dirkv.Store, key_bytes: bytes) -> str:
    h = hashlib.sha256(key_bytes).hexdigest()
    return os.path.join(store.path, h[:2], h + ".dkv")


def manifest(store: dirkv.Store) -> dict:
    with open(os.path.join(store.path, "DIRKV")) as f:
        lines = [l.split(" = ", 1) for l in f.read().splitlines() if " = " in l]
    return {k: v for k, v in lines}


@pytest.mark.parametrize(
    "key_option,manifest_key,key,key_bytes",
    [
        (None, "utf8", "home", b"home"),
        ("str", "utf8", "héllo ✓", "héllo ✓".encode()),
        ("str", "utf8", "", b""),
        ("bytes", "bytes", b"\x00\xff", b"\x00\xff"),
        ("int", "i64", 42, b"42"),
        ("int", "i64", -7, b"-7"),
        ("int", "i64", 0, b"0"),
        ("u64", "u64", 2**64 - 1, str(2**64 - 1).encode()),
        ("u8", "u8", 255, b"255"),
        ("i128", "i128", -(2**127), str(-(2**127)).encode()),
        ("msgpack", "msgpack", (1, "a"), b"\x92\x01\xa1a"),
        ("msgpack", "msgpack", "text", b"\xa4text"),
    ],
)
def test_keys_hash_as_the_rust_key_types(tmp_path, key_option, manifest_key, key, key_bytes):
    options = {} if key_option is None else {"key": key_option}
    with new(tmp_path / "s", **options) as s:
        s[key] = "v"
        assert manifest(s)["key"] == manifest_key
        assert s.key_encoding == manifest_key
        assert s.path_of(key) == entry_file(s, key_bytes)
        assert os.path.isfile(s.path_of(key))
        assert list(s) == [key]
        (got,) = list(s)
        assert type(got) is type(key)
        with open(s.path_of(key), "rb") as f:
            assert key_bytes + b"\xa1v" in f.read()


def test_printf_sha256sum_finds_the_file(store):
    store["home"] = 1
    out = run(["sh", "-c", "printf %s home | sha256sum"]).stdout.split()[0]
    assert store.path_of("home").endswith(f"{out[:2]}/{out}.dkv")


def test_key_type_names(tmp_path):
    for option, name in [("str", "str"), ("bytes", "bytes"), ("int", "int"), ("u16", "int"), ("msgpack", "msgpack")]:
        with new(tmp_path / option, key=option) as s:
            assert s.key_type == name


def test_wrong_key_types_raise_type_error(tmp_path):
    with new(tmp_path / "s") as s:
        for bad in [b"bytes", 1, None, ("t",)]:
            with pytest.raises(TypeError, match="keys of this store are str"):
                s[bad] = 1
            with pytest.raises(TypeError):
                s[bad]
            with pytest.raises(TypeError):
                bad in s
    with new(tmp_path / "b", key="bytes") as s:
        s[bytearray(b"ba")] = 1
        s[memoryview(b"mv")] = 2
        assert s[b"ba"] == 1 and s[b"mv"] == 2
        with pytest.raises(TypeError, match="keys of this store are bytes, not 'str'"):
            s["text"] = 1
    with new(tmp_path / "i", key="int") as s:
        with pytest.raises(TypeError, match="not 'float'"):
            s[1.0] = 1
        with pytest.raises(TypeError):
            s["1"] = 1
        s[True] = "bool is an int"
        assert s[1] == "bool is an int"


def test_int_keys_out_of_range_overflow(tmp_path):
    with new(tmp_path / "u8", key="u8") as s:
        for bad in [256, -1]:
            with pytest.raises(OverflowError, match="0 ..= 255"):
                s[bad] = 1
        s[255] = 1
    with new(tmp_path / "i64", key="int") as s:
        with pytest.raises(OverflowError):
            s[2**63] = 1
        s[2**63 - 1] = 1
        s[-(2**63)] = 2
        assert sorted(s) == [-(2**63), 2**63 - 1]
    with new(tmp_path / "u128", key="u128") as s:
        s[2**128 - 1] = 1
        assert list(s) == [2**128 - 1]
        with pytest.raises(OverflowError):
            s[2**128] = 1


def test_msgpack_keys_are_hashable_values(tmp_path):
    with new(tmp_path / "s", key="msgpack") as s:
        keys = [(1, "a"), "text", 7, (1, (2, 3)), b"raw", None]
        for i, k in enumerate(keys):
            s[k] = i
        assert {k: s[k] for k in keys} == {k: i for i, k in enumerate(keys)}
        assert set(s) == set(keys)
        # An int and a float key are different files in Rust, as here.
        s[1.0] = "float"
        assert s.path_of(1.0) != s.path_of(1)
        with pytest.raises(TypeError):
            s[{1}] = 1


def test_unknown_key_type_option(tmp_path):
    with pytest.raises(ValueError, match="key is 'str'"):
        new(tmp_path / "s", key="float")
    assert not (tmp_path / "s").exists()


def test_existing_store_manifest_decides_the_key_type(tmp_path):
    with new(tmp_path / "s", key="u32") as s:
        s[7] = "seven"
    with new(tmp_path / "s") as s:  # no key= : as found
        assert s.key_type == "int" and s.key_encoding == "u32"
        assert s[7] == "seven"
    with pytest.raises(dirkv.IncompatibleFormatError, match="key type is `u32`") as e:
        new(tmp_path / "s", key="str")
    assert e.value.path.endswith("DIRKV")
    with new(tmp_path / "s", key="u32") as s:
        assert s[7] == "seven"


def test_keys_of_a_damaged_entry_file_are_reported_on_iteration(tmp_path):
    with new(tmp_path / "s") as s:
        s["good"] = 1
        s["bad"] = 2
        bad = s.path_of("bad")
    with open(bad, "r+b") as f:
        f.seek(20)
        f.write(b"\xff\xff\xff\xff")
    with new(tmp_path / "s") as s:
        it = iter(s)
        seen, errors = [], []
        while True:
            try:
                seen.append(next(it))
            except StopIteration:
                break
            except dirkv.CorruptError as e:
                errors.append(e.path)
        assert seen == ["good"]
        assert errors == [bad]
