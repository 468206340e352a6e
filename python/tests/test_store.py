"""The Store API: open modes, options, the mapping methods, the read-modify-writes, batches,
closing, pickling."""

from __future__ import annotations

import os
import pickle
from collections.abc import MutableMapping

import pytest

import dirkv
from support import new


def test_the_issue_example(tmp_path):
    os.chdir(tmp_path)
    with dirkv.Store("pages", mode="create_or_open") as s:
        s["home"] = {"title": "Home", "words": 120}
        assert s["home"] == {"title": "Home", "words": 120}
        with pytest.raises(KeyError):
            s["about"]
        assert (s.get("about"), len(s), "home" in s) == (None, 1, True)
        assert list(s.items()) == [("home", {"title": "Home", "words": 120})]
        s.set("token", b"abc", ttl=60)
        assert s.modify("counter", lambda old: (old or 0) + 1) == 1
        assert s.modify("counter", lambda old: (old or 0) + 1) == 2
        assert s.set_if_absent("lock-owner", "host-a") is True
        assert s.set_if_absent("lock-owner", "host-b") is False
        assert s.compare_and_swap("lock-owner", "host-a", "host-c") is True
        assert s.get_many(["home", "nope", "counter"]) == [s["home"], None, 2]
        s.set_many([("a", 1), ("b", 2)])
        assert s.purge_expired() == 0
        assert s.evict_to(1000, 10**8).removed == 0
        assert s.path_of("home").startswith(os.path.join(str(tmp_path), "pages", ""))
    fast = dirkv.Store("cache", durability="fast", cache=(10_000, 64 << 20), codec="pickle")
    fast["x"] = {1, 2}
    assert fast["x"] == {1, 2}
    fast.close()


def test_is_a_mutable_mapping_with_dict_behaviour(store):
    assert isinstance(store, MutableMapping)
    assert not store and len(store) == 0
    store.update({"a": 1}, b=2)
    store.update([("c", 3)])
    assert dict(store) == {"a": 1, "b": 2, "c": 3}
    assert store == {"a": 1, "b": 2, "c": 3} and store != {"a": 1}
    assert sorted(store.keys()) == ["a", "b", "c"]
    assert sorted(store.values()) == [1, 2, 3]
    assert ("a", 1) in store.items() and ("a", 2) not in store.items()
    assert "a" in store.keys() and len(store.items()) == 3
    assert store.pop("a") == 1 and store.pop("a", "dflt") == "dflt"
    with pytest.raises(KeyError):
        store.pop("a")
    assert store.setdefault("d", [4]) == [4] and store.setdefault("d", "other") == [4]
    assert store.setdefault("e") is None and store["e"] is None
    key, value = store.popitem()
    assert key not in store
    store["b"] = 2
    del store["b"]
    assert "b" not in store
    with pytest.raises(KeyError):
        del store["zz"]
    assert store.delete("zz") is False
    store["zz"] = 0
    assert store.delete("zz") is True
    store.clear()
    assert len(store) == 0 and list(store) == []
    with pytest.raises(KeyError):
        store.popitem()
    with pytest.raises(TypeError):
        hash(store)


def test_none_is_a_value(store):
    store["n"] = None
    assert "n" in store and store["n"] is None
    assert store.get("n", "default") is None
    assert store.pop("n", "default") is None


def test_open_modes(tmp_path):
    p = tmp_path / "s"
    with pytest.raises(dirkv.StoreNotFoundError) as e:
        new(p, mode="update")
    assert isinstance(e.value, FileNotFoundError) and e.value.path == str(p)
    with new(p, mode="error") as s:
        s["k"] = 1
    with pytest.raises(dirkv.StoreExistsError):
        new(p, mode="error")
    with new(p, mode="update") as s:
        assert s["k"] == 1
    with new(p) as s:
        assert s["k"] == 1
    with new(p, mode="replace", codec="json", key="int") as s:
        assert len(s) == 0 and s.codec == "json" and s.key_type == "int"
    (tmp_path / "empty").mkdir()
    with new(tmp_path / "empty") as s:
        assert s.codec == "msgpack"
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    for mode in ["create_or_open", "error", "replace", "update"]:
        with pytest.raises(dirkv.NotAStoreError):
            new(tmp_path / "foreign", mode=mode)
    assert (tmp_path / "foreign" / "notes.txt").read_text() == "mine"
    with pytest.raises(ValueError, match="mode is"):
        new(p, mode="w")


def test_bad_options_are_value_or_type_errors(path):
    for kw, err in [
        ({"durability": "sometimes"}, ValueError),
        ({"codec": "yaml"}, ValueError),
        ({"cache_mode": "maybe"}, ValueError),
        ({"ttl": -1}, ValueError),
        ({"ttl": "1s"}, TypeError),
        ({"lock_timeout": float("nan")}, ValueError),
        ({"encryption_key": b"short"}, ValueError),
        ({"encryption_key": "not bytes"}, TypeError),
        ({"encryption_key": bytes(32), "passphrase": "p"}, ValueError),
        ({"auto_evict": (1, 1, 0)}, ValueError),
        ({"no_such_option": 1}, TypeError),
    ]:
        with pytest.raises(err):
            new(path, **kw)
    assert not path.exists()


def test_read_only(path):
    with pytest.raises(dirkv.ReadOnlyError):
        new(path, read_only=True)
    with new(path) as s:
        s["k"] = 1
    with new(path, read_only=True) as r:
        assert r.read_only and r["k"] == 1
        for write in [
            lambda: r.__setitem__("k", 2),
            lambda: r.__delitem__("k"),
            lambda: r.set_many({"a": 1}),
            lambda: r.modify("k", lambda v: v),
            lambda: r.clear(),
            lambda: r.purge_expired(),
        ]:
            with pytest.raises(dirkv.ReadOnlyError) as e:
                write()
            assert e.value.kind == "read_only"
        assert r["k"] == 1


def test_close_and_context_manager(path):
    s = new(path)
    s["k"] = 1
    it = iter(s.items())
    with s:
        assert not s.closed
    assert s.closed
    for call in [lambda: s["k"], lambda: len(s), lambda: s.set("k", 2), lambda: iter(s)]:
        with pytest.raises(ValueError, match="closed"):
            call()
    assert list(it) == [("k", 1)]  # an iterator started before close finishes
    s.close()  # twice is fine
    assert "closed" in repr(s)


def test_modify(store):
    assert store.modify("n", lambda old: old + 1, default=10) == 11
    assert store.modify("n", lambda old: old * 2) == 22

    class Boom(Exception):
        pass

    def fail(old):
        raise Boom()

    before = store.metadata("n")
    with pytest.raises(Boom):
        store.modify("n", fail)
    after = store.metadata("n")
    assert store["n"] == 22 and after._replace(accessed=None) == before._replace(accessed=None)
    with pytest.raises(Boom):
        store.modify("absent", fail)
    assert "absent" not in store
    assert store.modify("n", lambda old: dirkv.ABSENT) is dirkv.ABSENT
    assert "n" not in store
    assert store.modify("n", lambda old: None) is None and store["n"] is None
    with pytest.raises(TypeError):
        store.modify("n", 42)  # not callable: raised inside, nothing written
    assert store["n"] is None


def test_modify_refuses_writes_to_its_own_store(store, tmp_path):
    other = new(tmp_path / "other")

    def writes_inside(old):
        other["ok"] = "another store is fine"
        store["k2"] = 1
        return 1

    with pytest.raises(RuntimeError, match="inside its own modify"):
        store.modify("k", writes_inside)
    assert "k" not in store and "k2" not in store
    assert other["ok"] == "another store is fine"
    # Reads are fine inside.
    store["seen"] = 5
    assert store.modify("k", lambda old: store["seen"] + 1) == 6
    store["k3"] = 3  # and writes work again after


def test_compare_and_swap(store):
    A = dirkv.ABSENT
    assert not A and repr(A) == "dirkv.ABSENT"
    assert pickle.loads(pickle.dumps(A)) is A
    assert store.compare_and_swap("k", A, {"v": 1}) is True
    assert store.compare_and_swap("k", A, {"v": 2}) is False
    # Python equality of the decoded value, not bytes: key order does not matter.
    store["k"] = {"a": 1, "b": 2}
    assert store.compare_and_swap("k", {"b": 2, "a": 1}, [1]) is True
    assert store.compare_and_swap("k", [1.0], [2]) is True  # 1 == 1.0
    assert store.compare_and_swap("k", [1], [3]) is False
    assert store["k"] == [2]
    assert store.compare_and_swap("k", [2], A) is True
    assert "k" not in store
    with pytest.raises(TypeError):
        store.compare_and_swap("k", A, {1})
    assert "k" not in store


def test_set_if_absent_keeps_the_first(store):
    assert store.set_if_absent("k", 1) and not store.set_if_absent("k", 2)
    assert store["k"] == 1


def test_batches(store):
    store.set_many({f"k{i}": i for i in range(2500)})
    assert len(store) == 2500
    assert store.get_many(["k1", "nope", "k2499"], default=-1) == [1, -1, 2499]
    assert store.delete_many(["k1", "k2", "nope"]) == 2
    assert len(store) == 2498
    store.set_many([])
    with pytest.raises(TypeError, match="pairs"):
        store.set_many([1, 2])
    with pytest.raises(TypeError):
        store.set_many([("x", 1), (2, 2)])
    assert "x" not in store


def test_metadata_and_times(store):
    assert store.metadata("k") is None
    store["k"] = "v"
    m = store.metadata("k")
    assert isinstance(m, dirkv.EntryMeta)
    assert m.created == m.modified and m.expires is None
    assert m.file_len == os.path.getsize(store.path_of("k"))
    assert not m.compressed and not m.encrypted


def test_cache(tmp_path):
    import time

    with new(tmp_path / "s", cache=(100, 1 << 20)) as s:
        s["k"] = [1, 2]
        time.sleep(0.06)  # a file changed within the last 50 ms is not cached yet
        for _ in range(3):
            assert s["k"] == [1, 2]
        stats = s.cache_stats()
        assert stats["hits"] >= 2 and stats["entries"] == 1
        # Another writer's change is seen (validated mode).
        with new(tmp_path / "s") as other:
            other["k"] = "changed"
        time.sleep(0.06)
        assert s["k"] == "changed"
    with new(tmp_path / "t") as s:
        assert s.cache_stats() is None


def test_encryption(tmp_path):
    key = bytes(range(32))
    with new(tmp_path / "s", encryption_key=key) as s:
        assert s.encrypted
        s["secret"] = "value"
        assert s["secret"] == "value"
        with open(s.path_of("secret"), "rb") as f:
            assert b"secret" not in f.read()
    with pytest.raises(dirkv.WrongKeyError) as e:
        new(tmp_path / "s", encryption_key=bytes(32))
    assert e.value.kind == "wrong_key"
    with pytest.raises(dirkv.WrongKeyError):
        new(tmp_path / "s")
    with new(tmp_path / "p", passphrase="correct horse") as s:
        s["k"] = 1
    with new(tmp_path / "p", passphrase=b"correct horse") as s:
        assert s["k"] == 1
    with pytest.raises(dirkv.WrongKeyError):
        new(tmp_path / "p", passphrase="wrong")
    new(tmp_path / "plain", mode="error").close()
    with pytest.raises(dirkv.IncompatibleFormatError):
        new(tmp_path / "plain", encryption_key=key)


def test_pickling_a_store_reopens_it_by_path(tmp_path):
    with new(tmp_path / "s", key="int", codec="json", cache=(10, 1000)) as s:
        s[1] = "one"
        copy = pickle.loads(pickle.dumps(s))
        assert copy.path == s.path and copy.key_encoding == "i64" and copy.codec == "json"
        assert copy[1] == "one" and copy.cache_stats() is not None
        copy.close()
    with new(tmp_path / "e", encryption_key=bytes(32)) as s:
        with pytest.raises(TypeError, match="encrypted"):
            pickle.dumps(s)


def test_repr_generic_alias_and_properties(store):
    assert repr(store).startswith("<dirkv.Store ") and "key=str codec=msgpack" in repr(store)
    assert dirkv.Store[str, dict] is not None
    assert os.path.isabs(store.path) and store.key_encoding == "utf8"
    assert store.read_only is False and store.encrypted is False


def test_many_values_iterate_in_flat_memory_shape(store):
    store.set_many((f"k{i}", i) for i in range(3000))
    assert sum(1 for _ in store) == 3000
    assert sum(v for v in store.values()) == sum(range(3000))
    assert len(dict(store.items())) == 3000


def test_help_shows_docs():
    assert "persistent dict" in dirkv.Store.__doc__
    assert "Atomically replaces" in dirkv.Store.modify.__doc__
    assert dirkv.Store.get.__text_signature__ is not None
    import inspect

    params = inspect.signature(dirkv.Store).parameters
    assert params["durability"].default == "durable" and params["mode"].default == "create_or_open"
