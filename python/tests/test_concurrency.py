"""Threads and processes sharing a store: exact counters through modify, readers that never
see half a value, the GIL released while a call waits, and stores across fork()."""

from __future__ import annotations

import multiprocessing
import os
import textwrap
import threading

import pytest

import dirkv
from support import new, python

SPAWN = multiprocessing.get_context("spawn")


def join_all(procs, timeout=120):
    """Joins the processes, killing any still running after `timeout` seconds."""
    try:
        for p in procs:
            p.join(timeout)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(5)
    return [p.exitcode for p in procs]


def _count(path: str, n: int) -> None:
    with dirkv.Store(path, mode="update", durability="fast") as s:
        for _ in range(n):
            s.modify("counter", lambda old: (old or 0) + 1)


def test_four_processes_modify_to_the_exact_total(path):
    new(path).close()
    procs = [SPAWN.Process(target=_count, args=(str(path), 250)) for _ in range(4)]
    for p in procs:
        p.start()
    assert join_all(procs) == [0, 0, 0, 0]
    with new(path) as s:
        assert s["counter"] == 1000


def _durable_count(path: str, n: int) -> None:
    with dirkv.Store(path, mode="update") as s:
        for _ in range(n):
            s.modify("counter", lambda old: (old or 0) + 1)


def test_four_processes_durable(path):
    new(path).close()
    procs = [SPAWN.Process(target=_durable_count, args=(str(path), 25)) for _ in range(4)]
    for p in procs:
        p.start()
    assert join_all(procs) == [0, 0, 0, 0]
    with new(path) as s:
        assert s["counter"] == 100


def test_threads_modify_to_the_exact_total(store, path):
    other = new(path)  # a second handle on the same folder, in the same process
    errors = []

    def work(s):
        try:
            for _ in range(200):
                s.modify("counter", lambda old: (old or 0) + 1)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(s,)) for s in [store, store, other, other]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and not any(t.is_alive() for t in threads)
    assert store["counter"] == 800
    other.close()


def test_compare_and_swap_and_set_if_absent_across_threads(store):
    winners = []

    def claim(name):
        if store.set_if_absent("owner", name):
            winners.append(name)

    threads = [threading.Thread(target=claim, args=(f"t{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(winners) == 1 and store["owner"] == winners[0]

    store["n"] = 0

    def cas_increment():
        for _ in range(50):
            while True:
                n = store["n"]
                if store.compare_and_swap("n", n, n + 1):
                    break

    threads = [threading.Thread(target=cas_increment) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert store["n"] == 200


def test_readers_never_see_half_a_value(store):
    stop = threading.Event()
    bad = []

    def write():
        i = 0
        while not stop.is_set():
            store["v"] = [i] * 2000
            i += 1

    def read():
        while not stop.is_set():
            v = store.get("v")
            if v is not None and (len(v) != 2000 or len(set(v)) != 1):
                bad.append(v[:3])

    store["v"] = [0] * 2000
    threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    threading.Event().wait(1.5)
    stop.set()
    for t in threads:
        t.join(30)
    assert not bad


def test_the_gil_is_released_while_a_write_waits_for_the_lock(path):
    # Thread A holds the key's lock inside modify() until the main thread lets it go;
    # thread B's write of the same key waits for that lock. If B held the GIL while waiting, the main
    # thread could never run again: a deadlock, which the subprocess's time limit turns
    # into a failure.
    new(path).close()
    code = textwrap.dedent(
        """
        import sys, threading, time
        import dirkv
        s = dirkv.Store(sys.argv[1], durability="fast")
        inside, release = threading.Event(), threading.Event()
        def hold(old):
            inside.set()
            release.wait()
            return "a"
        a = threading.Thread(target=s.modify, args=("k", hold))
        a.start()
        inside.wait()
        b = threading.Thread(target=s.set, args=("k", "b"))
        b.start()
        time.sleep(0.3)
        assert b.is_alive(), "b should be waiting for the lock"
        spins = sum(1 for _ in range(100000))   # the main thread runs Python meanwhile
        release.set()
        a.join(); b.join()
        assert (s["k"], spins) == ("b", 100000)   # b's write came after a's
        print("ok")
        """
    )
    assert python(code, str(path), timeout=60).stdout.strip() == "ok"


def test_io_runs_without_the_gil(path):
    # While one thread writes and reads large values (file I/O and checksums over 32 MiB,
    # slow on any file system), another thread runs Python code: it gets far more turns
    # than the switch interval alone would give it.
    code = textwrap.dedent(
        """
        import sys, threading, time
        import dirkv
        sys.setswitchinterval(1.0)     # a thread holding the GIL keeps it for 1 s
        s = dirkv.Store(sys.argv[1], codec="raw", durability="fast")
        big = b"x" * (32 << 20)
        done = threading.Event()
        def worker():
            for i in range(4):
                s["big"] = big
                assert len(s["big"]) == len(big)
            done.set()
        t = threading.Thread(target=worker)
        t.start()
        ticks = 0
        while not done.is_set():
            ticks += 1
            time.sleep(0)           # hands the GIL over, if the worker wants it
        t.join()
        # Holding the GIL through each call would leave the main thread about one turn
        # per call: ~8 ticks.
        print(ticks)
        assert ticks > 200, ticks
        print("ok")
        """
    )
    assert python(code, str(path), timeout=120).stdout.strip().endswith("ok")


def _forked_child_counts(store: dirkv.Store, n: int) -> None:
    for _ in range(n):
        store.modify("counter", lambda old: (old or 0) + 1)
    store["child-path"] = store.path


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
def test_a_forked_child_reopens_the_store_and_leaves_the_parents_alone(path):
    fork = multiprocessing.get_context("fork")
    with new(path) as s:
        s["counter"] = 0
        markers = set(os.listdir(os.path.join(s.path, "tmp")))
        assert len(markers) == 1
        child = fork.Process(target=_forked_child_counts, args=(s, 300))
        child.start()
        for _ in range(300):
            s.modify("counter", lambda old: old + 1)
        assert join_all([child]) == [0]
        # Parent and child excluded each other (separate locks), and the child did not
        # delete or unlock the parent's writer marker.
        assert s["counter"] == 600 and s["child-path"] == s.path
        assert markers <= set(os.listdir(os.path.join(s.path, "tmp")))
        s["after"] = 1
    with new(path) as s:
        assert s["after"] == 1


def _read_many(path: str, keys: int, rounds: int, q) -> None:
    with dirkv.Store(path, mode="update", read_only=True) as s:
        total = 0
        for _ in range(rounds):
            for i in range(keys):
                total += s[f"k{i}"]
    q.put(total)


def test_reader_processes_share_a_store(path):
    with new(path) as s:
        s.set_many({f"k{i}": i for i in range(200)})
    q = SPAWN.Queue()
    procs = [SPAWN.Process(target=_read_many, args=(str(path), 200, 5, q)) for _ in range(2)]
    for p in procs:
        p.start()
    assert join_all(procs) == [0, 0]
    assert [q.get(timeout=10), q.get(timeout=10)] == [5 * sum(range(200))] * 2
