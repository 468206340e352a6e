"""One store, three languages: Python writes and the Rust crate (examples/python_interop.rs)
and the dirkv command read; the Rust crate and the command write and Python reads."""

from __future__ import annotations

import json
import os

import pytest

import dirkv
from support import new, run

# What examples/python_interop.rs calls home() and about(), as Python values.
HOME = {
    "title": "Home",
    "words": 120,
    "tags": ["a", "b"],
    "ratio": 0.5,
    "parent": None,
    "kind": "Article",
    "meta": {"id": 2**40, "score": -3},
    "counts": {"x": 1},
}
ABOUT = {
    "title": "About ✓",
    "words": 0,
    "tags": [],
    "ratio": -1.25,
    "parent": "home",
    "kind": "Index",
    "meta": {"id": 2**64 - 1, "score": -(2**31)},
    "counts": {},
}


def write_python_side(folder):
    with new(folder / "pages", mode="error", durability="durable") as s:
        s["home"] = HOME
        s["about"] = ABOUT
    with new(folder / "ints", mode="error", key="u64") as s:
        s[1] = -1
        s[2**40] = -(2**63)
    with new(folder / "blobs", mode="error", key="bytes", codec="raw") as s:
        s[b"\x00\xff"] = b"raw bytes"
    with new(folder / "points", mode="error", key="msgpack") as s:
        s[(1, "a")] = "one-a"
    with new(folder / "expiring", mode="error") as s:
        s.set("token", "abc", ttl=3600)


def test_python_writes_rust_reads(tmp_path, interop_bin):
    write_python_side(tmp_path)
    out = run([interop_bin, "read", tmp_path], check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_rust_writes_python_reads(tmp_path, interop_bin):
    run([interop_bin, "write", tmp_path])
    with new(tmp_path / "pages", mode="update") as s:
        assert dict(s) == {"home": HOME, "about": ABOUT}
        # ... and Python's own writes read back in Rust too (same folder, both ways).
        s["home"] = dict(HOME, words=121)
    with new(tmp_path / "ints", mode="update") as s:
        assert (s.key_encoding, dict(s)) == ("u64", {1: -1, 2**40: -(2**63)})
    with new(tmp_path / "blobs", mode="update") as s:
        assert (s.key_type, s.codec, dict(s)) == ("bytes", "raw", {b"\x00\xff": b"raw bytes"})
    with new(tmp_path / "points", mode="update") as s:
        assert dict(s) == {(1, "a"): "one-a"}
    with new(tmp_path / "expiring", mode="update") as s:
        assert s["token"] == "abc" and s.metadata("token").expires is not None
    out = run([interop_bin, "read", tmp_path], check=False)
    assert out.returncode == 1 and "pages/home" in out.stderr and "words: 121" in out.stderr


def cli_json(dirkv_bin, *args):
    return json.loads(run([dirkv_bin, *args]).stdout)


def test_python_writes_the_cli_reads(tmp_path, dirkv_bin):
    write_python_side(tmp_path)
    assert cli_json(dirkv_bin, "get", tmp_path / "pages", "home") == HOME
    assert cli_json(dirkv_bin, "get", tmp_path / "ints", str(2**40)) == -(2**63)
    assert cli_json(dirkv_bin, "get", tmp_path / "blobs", "00ff") == {
        "$bytes": b"raw bytes".hex()
    }
    assert cli_json(dirkv_bin, "get", tmp_path / "points", '[1,"a"]') == "one-a"
    keys = run([dirkv_bin, "ls", tmp_path / "pages"]).stdout.split()
    assert sorted(keys) == ["about", "home"]
    with new(tmp_path / "pages") as s:
        path = run([dirkv_bin, "path", tmp_path / "pages", "home"]).stdout.strip()
        assert path == s.path_of("home")
    verify = run([dirkv_bin, "verify", tmp_path / "pages"], check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_bytes_values_show_as_bytes_json(tmp_path, dirkv_bin):
    with new(tmp_path / "s") as s:
        s["b"] = {"data": b"\x01\x02"}
    assert cli_json(dirkv_bin, "get", tmp_path / "s", "b") == {"data": {"$bytes": "0102"}}


def test_the_cli_writes_python_reads(tmp_path, dirkv_bin):
    run([dirkv_bin, "init", tmp_path / "s"])
    run([dirkv_bin, "set", tmp_path / "s", "home", json.dumps(HOME)])
    run([dirkv_bin, "init", tmp_path / "n", "--key-type", "i32"])
    run([dirkv_bin, "set", tmp_path / "n", "-5", "[1, 2.5, null]"])
    with new(tmp_path / "s", mode="update") as s:
        assert s["home"] == HOME
    with new(tmp_path / "n", mode="update") as s:
        assert (s.key_encoding, s[-5]) == ("i32", [1, 2.5, None])
        with pytest.raises(OverflowError):
            s[2**31] = 1
    rm = run([dirkv_bin, "rm", tmp_path / "s", "home"])
    assert rm.returncode == 0
    with new(tmp_path / "s", mode="update") as s:
        assert "home" not in s


def test_a_pickle_store_is_refused_by_rust(tmp_path, interop_bin):
    with new(tmp_path / "p", codec="pickle") as s:
        s["home"] = {1, 2}
    out = run([interop_bin, "refuse", tmp_path / "p"])
    assert "refused" in out.stdout and "pickle" in out.stdout


def test_the_cli_refuses_a_pickle_store(tmp_path, dirkv_bin):
    with new(tmp_path / "p", codec="pickle") as s:
        s["home"] = {1, 2}
    for args in [["get", tmp_path / "p", "home"], ["set", tmp_path / "p", "x", '"a"']]:
        out = run([dirkv_bin, *args], check=False)
        assert out.returncode != 0 and "pickle" in out.stderr, out
    with new(tmp_path / "p", codec="pickle") as s:
        assert dict(s) == {"home": {1, 2}}


def test_an_encrypted_store_opens_in_the_cli_with_its_key(tmp_path, dirkv_bin):
    key = os.urandom(32)
    with new(tmp_path / "e", encryption_key=key) as s:
        s["secret"] = {"v": 1}
    env = dict(os.environ, DIRKV_KEY=key.hex())
    out = run([dirkv_bin, "get", tmp_path / "e", "secret"], env=env)
    assert json.loads(out.stdout) == {"v": 1}
    run([dirkv_bin, "set", tmp_path / "e", "other", '"from the cli"'], env=env)
    with new(tmp_path / "e", encryption_key=key) as s:
        assert s["other"] == "from the cli"
