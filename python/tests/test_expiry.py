"""Expiry and eviction with a controllable clock (dirkv.ManualClock): no test sleeps."""

from __future__ import annotations

import datetime

import pytest

import dirkv
from support import new


@pytest.fixture
def clock():
    return dirkv.ManualClock()


def test_manual_clock(clock):
    assert clock.now() == 1_000_000_000.0
    clock.advance(1.5)
    clock.advance(datetime.timedelta(minutes=1))
    assert clock.now() == 1_000_000_061.5
    clock.set(10)
    assert clock.now() == 10.0
    assert dirkv.ManualClock(start=123).now() == 123.0
    assert repr(clock) == "dirkv.ManualClock(10.0)"
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.set(float("nan"))


def test_set_with_ttl_expires_by_the_clock(path, clock):
    with new(path, clock=clock) as s:
        s.set("token", b"abc", ttl=60)
        s.set("forever", 1)
        s.set("short", 2, ttl=datetime.timedelta(seconds=1))
        assert s.metadata("token").expires == clock.now() + 60
        clock.advance(59)
        assert s["token"] == b"abc" and "token" in s
        clock.advance(1)
        assert "token" not in s and s.get("token") is None
        with pytest.raises(KeyError):
            s["token"]
        assert s.get_many(["token", "forever"]) == [None, 1]
        assert list(s) == ["forever"] and dict(s.items()) == {"forever": 1}
        assert s.metadata("token") is None
        # The get removed "token"; "short" was never read since it expired.
        assert len(s) == 2 and s.purge_expired() == 1
        assert len(s) == 1


def test_len_counts_expired_until_purged(path, clock):
    with new(path, clock=clock) as s:
        s.set_many({f"k{i}": i for i in range(10)})
        for i in range(5):
            s.set(f"t{i}", i, ttl=10)
        clock.advance(11)
        assert len(s) == 15  # a listing: no file is opened
        assert s.purge_expired() == 5
        assert len(s) == 10


def test_default_ttl_and_what_each_write_does_to_expiry(path, clock):
    with new(path, clock=clock, ttl=100) as s:
        s["a"] = 1
        assert s.metadata("a").expires == clock.now() + 100
        clock.advance(50)
        # modify keeps the entry's expiry (as Redis INCR keeps a TTL) ...
        s.modify("a", lambda v: v + 1)
        assert s.metadata("a").expires == clock.now() + 50
        # ... unless given a new one.
        s.modify("a", lambda v: v + 1, ttl=10)
        assert s.metadata("a").expires == clock.now() + 10
        # compare_and_swap keeps it too; set starts afresh with the default.
        assert s.compare_and_swap("a", 3, 4)
        assert s.metadata("a").expires == clock.now() + 10
        s["a"] = 5
        assert s.metadata("a").expires == clock.now() + 100
        # set_if_absent and setdefault write with the default TTL.
        s.set_if_absent("b", 1)
        s.setdefault("c", 1)
        assert s.metadata("b").expires == s.metadata("c").expires == clock.now() + 100
        clock.advance(101)
        assert len(list(s)) == 0
        # An expired value counts as absent for the read-modify-writes.
        assert s.set_if_absent("a", "new")
        assert s.modify("b", lambda old: old, default="dflt") == "dflt"


def test_evict_to_removes_the_oldest_written(path, clock):
    with new(path, clock=clock) as s:
        for i in range(10):
            s[f"k{i}"] = i
            clock.advance(1)
        e = s.evict_to(4, 10**9)
        assert isinstance(e, dirkv.Eviction)
        assert (e.removed, e.entries) == (6, 4)
        assert sorted(s) == ["k6", "k7", "k8", "k9"]
        assert s.evict_to(10, 0).entries == 0


def test_track_access_makes_eviction_least_recently_used(path, clock):
    with new(path, clock=clock, track_access=True) as s:
        for i in range(4):
            s[f"k{i}"] = i
            clock.advance(1)
        clock.advance(1)
        s["k0"]  # read the oldest: now the most recently used
        s.evict_to(2, 10**9)
        assert sorted(s) == ["k0", "k3"]


def test_auto_evict_keeps_the_store_bounded(path, clock):
    with new(path, clock=clock, auto_evict=(20, 10**9, 5)) as s:
        for i in range(100):
            s[f"k{i}"] = i
            clock.advance(1)
        assert len(s) <= 20
        assert "k99" in s
