"""dirkv against Python's persistent dicts, on the same machine in one run.

    python python/bench.py                 # the full run (a few minutes), store files in target/bench-py
    python python/bench.py --quick         # fewer keys and rounds, to try it out
    python python/bench.py --dir /dev/shm/b  # the same on another file system

Peers, each with its default settings unless said: ``shelve`` over ``dbm.dumb``,
``sqlitedict`` (``autocommit=True``, so a set is committed when it returns),
``diskcache.Cache`` and ``PersistDict`` (LMDB; ``background_thread=False`` so that no
thread runs during the timings). A peer that is not installed is skipped and said so.
Install them with ``pip install sqlitedict diskcache PersistDict``.

Every store holds the same keys (``key000000`` ...) and values (random bytes of 100 B or
4 KiB). Each line is timed in alternating rounds (every store once per round, so that a
change in the machine's load hits all of them alike) and the median round is shown. The
floors are what plain Python does with the same files: ``open().read()`` of an entry, a
temp file written and renamed over it, with and without fsyncs.

Compare ratios, not absolute times: on a shared virtual machine the times move with the
load, the ratios much less. Not run in CI.
"""

from __future__ import annotations

import argparse
import dbm.dumb
import gc
import multiprocessing
import os
import random
import shelve
import shutil
import statistics
import sys
import tempfile
import time

import dirkv

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(os.path.dirname(HERE), "target", "bench-py")


# Stores: each adapter opens one store and says how to get, set, count and iterate.


class Adapter:
    name = "?"
    durable = False

    def __init__(self, path: str, reader: bool = False):
        self.path = path

    def get(self, k):
        return self.s[k]

    def set(self, k, v):
        self.s[k] = v

    def load(self, items):
        for k, v in items:
            self.s[k] = v

    def count(self):
        return len(self.s)

    def iterate(self):
        n = 0
        for _k, _v in self.s.items():
            n += 1
        return n

    def close(self):
        self.s.close()


class Dirkv(Adapter):
    name = "dirkv"
    durable = True
    options: dict = {}

    def __init__(self, path, reader=False):
        super().__init__(path)
        options = dict(self.options)
        if reader:
            options["read_only"] = True
        self.s = dirkv.Store(path, **options)

    def load(self, items):
        self.s.set_many(items)


class DirkvFast(Dirkv):
    name = "dirkv fast"
    durable = False
    options = {"durability": "fast"}


class DirkvCache(Dirkv):
    name = "dirkv fast+cache"
    durable = False
    options = {"durability": "fast", "cache": (10_000, 64 << 20)}


class Shelve(Adapter):
    name = "shelve (dbm.dumb)"

    def __init__(self, path, reader=False):
        super().__init__(path)
        os.makedirs(path, exist_ok=True)
        self.s = shelve.Shelf(dbm.dumb.open(os.path.join(path, "db"), "r" if reader else "c"))


class SqliteDictAdapter(Adapter):
    name = "sqlitedict"
    durable = True

    def __init__(self, path, reader=False):
        super().__init__(path)
        from sqlitedict import SqliteDict

        os.makedirs(path, exist_ok=True)
        self.s = SqliteDict(
            os.path.join(path, "db.sqlite"), flag="r" if reader else "c", autocommit=True
        )

    def load(self, items):
        for k, v in items:
            self.s[k] = v
        self.s.commit()


class DiskCache(Adapter):
    name = "diskcache"

    def __init__(self, path, reader=False):
        super().__init__(path)
        import diskcache

        self.s = diskcache.Cache(path)

    def count(self):
        return len(self.s)

    def iterate(self):
        n = 0
        for k in self.s.iterkeys():
            self.s[k]
            n += 1
        return n


class PersistDictAdapter(Adapter):
    name = "PersistDict"
    durable = True

    def __init__(self, path, reader=False):
        super().__init__(path)
        from PersistDict import PersistDict

        self.s = PersistDict(path, background_thread=False)

    def close(self):
        del self.s


STORES = [Dirkv, DirkvFast, DirkvCache, Shelve, SqliteDictAdapter, DiskCache, PersistDictAdapter]


def available(cls) -> bool:
    module = {SqliteDictAdapter: "sqlitedict", DiskCache: "diskcache", PersistDictAdapter: "PersistDict"}
    name = module.get(cls)
    if name is None:
        return True
    try:
        __import__(name)
        return True
    except ImportError as e:
        print(f"# {cls.name} skipped: {e} (pip install {name})", flush=True)
        return False


# Floors: plain Python on the files of a dirkv store.


class Floor:
    """The plain-Python recipe on files named and laid out as a dirkv store's entries
    (``<2 hex>/<64 hex>.dkv`` under a folder of their own), holding the bare value."""

    def __init__(self, path: str, keys, value: bytes):
        shutil.rmtree(path, ignore_errors=True)
        self.paths = floor_paths(path, keys)
        for p in self.paths.values():
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(value)

    def get(self, k):
        with open(self.paths[k], "rb") as f:
            return f.read()

    def _write(self, k, v, durable):
        p = self.paths[k]
        d = os.path.dirname(p)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
        try:
            os.write(fd, v)
            if durable:
                os.fdatasync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, p)
        if durable:
            dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def set_fast(self, k, v):
        self._write(k, v, False)

    def set_durable(self, k, v):
        self._write(k, v, True)


def floor_paths(path: str, keys) -> dict:
    """The file of each key, named as dirkv names entries, under `path`."""
    import hashlib

    out = {}
    for k in keys:
        h = hashlib.sha256(k.encode()).hexdigest()
        out[k] = os.path.join(path, h[:2], h + ".dkv")
    return out


class FloorReader:
    """Plain Python reading the files of a Floor (for the reader processes)."""

    name = "python floor"

    def __init__(self, path, reader=True):
        self.path = path
        self.paths: dict = {}

    def get(self, k):
        p = self.paths.get(k)
        if p is None:
            p = self.paths[k] = floor_paths(self.path, [k])[k]
        with open(p, "rb") as f:
            return f.read()


# Timing.


def per_op(fn, keys, value=None) -> float:
    """Seconds per call of fn over keys."""
    gc.disable()
    try:
        t0 = time.perf_counter()
        if value is None:
            for k in keys:
                fn(k)
        else:
            for k in keys:
                fn(k, value)
        return (time.perf_counter() - t0) / len(keys)
    finally:
        gc.enable()


def rounds(named_fns, n_rounds):
    """Median per-op seconds of each (name -> thunk returning seconds), in alternating rounds."""
    results = {name: [] for name in named_fns}
    order = list(named_fns)
    for r in range(n_rounds):
        random.Random(r).shuffle(order)
        for name in order:
            results[name].append(named_fns[name]())
    return {name: statistics.median(v) for name, v in results.items()}


def _reader(cls, path, keys, repeat, start, out):
    store = cls(path, reader=True)
    ks = list(keys)
    for k in ks[:50]:
        store.get(k)
    start.wait()
    t0 = time.perf_counter()
    for _ in range(repeat):
        for k in ks:
            store.get(k)
    out.put(time.perf_counter() - t0)


def readers_speedup(cls, path, keys, repeat) -> float:
    """Throughput of 2 reader processes over that of 1 (each reads the keys `repeat` times)."""
    ctx = multiprocessing.get_context("spawn")
    rates = []
    for n in (1, 2):
        start, out = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_reader, args=(cls, path, keys, repeat, start, out)) for _ in range(n)]
        for p in procs:
            p.start()
        time.sleep(0.5 + 0.5 * n)  # let them open the store
        t0 = time.perf_counter()
        start.set()
        elapsed = [out.get(timeout=600) for _ in procs]
        wall = time.perf_counter() - t0
        for p in procs:
            p.join(60)
        rates.append(n * repeat * len(keys) / max(wall, max(elapsed)))
    return rates[1] / rates[0]


def threads_speedup(fn, keys, value=None, n_threads=2, n_rounds=5) -> float:
    """How much faster n threads do the same work (fn over keys, split between them) than
    one thread: what releasing the GIL during I/O buys."""
    import threading

    def work(ks):
        for k in ks:
            fn(k) if value is None else fn(k, value)

    def one():
        t0 = time.perf_counter()
        work(keys)
        return time.perf_counter() - t0

    def many():
        parts = [keys[i::n_threads] for i in range(n_threads)]
        threads = [threading.Thread(target=work, args=(p,)) for p in parts]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - t0

    ratios = []
    for _ in range(n_rounds):
        ratios.append(one() / many())
    return statistics.median(ratios)


def iteration_memory(path: str, n: int) -> str:
    """Builds an n-key dirkv store, then walks it in a fresh process, reporting the peak
    resident memory before, after 10% and after all of the walk."""
    if not os.path.isdir(path) or len(dirkv.Store(path, durability="fast")) != n:
        shutil.rmtree(path, ignore_errors=True)
        with dirkv.Store(path, durability="fast") as s:
            value = os.urandom(100)
            for start in range(0, n, 10_000):
                s.set_many((f"key{i:07d}", value) for i in range(start, min(n, start + 10_000)))
    code = (
        "import sys, time, dirkv\n"
        "def hwm():\n"
        "    # The peak resident memory of this process (VmHWM; ru_maxrss would include\n"
        "    # the parent's, inherited across fork and exec).\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            return int(line.split()[1])\n"
        "s = dirkv.Store(sys.argv[1], read_only=True)\n"
        "before = hwm(); n = 0; t0 = time.perf_counter()\n"
        "for k, v in s.items():\n"
        "    n += 1\n"
        "    if n == len_10: tenth = hwm()\n"
        "t = time.perf_counter() - t0\n"
        "print(n, before, tenth, hwm(), t)\n"
    ).replace("len_10", str(n // 10))
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", code, path], capture_output=True, text=True, check=True, timeout=1800
    ).stdout.split()
    count, before, tenth, after, t = int(out[0]), int(out[1]), int(out[2]), int(out[3]), float(out[4])
    return (
        f"items() over {count:,} keys: {t / count * 1e6:.1f} µs per item; peak resident memory "
        f"{before / 1024:.1f} MiB before, {tenth / 1024:.1f} MiB after {count // 10:,}, "
        f"{after / 1024:.1f} MiB after all"
    )


def fmt(seconds: float) -> str:
    us = seconds * 1e6
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    if us >= 100:
        return f"{us:.0f} µs"
    return f"{us:.1f} µs"


def table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
    print(line(header))
    print("| " + " | ".join("-" * w for w in widths) + " |")
    for r in rows:
        print(line(r))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default=DEFAULT_DIR, help="where the stores go (default target/bench-py)")
    ap.add_argument("--keys", type=int, default=2000, help="keys per store for gets (default 2000)")
    ap.add_argument("--set-keys", type=int, default=300, help="sets per round (default 300)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--iter-keys", type=int, default=100_000, help="keys of the iteration-memory store (0: skip)")
    ap.add_argument("--quick", action="store_true", help="500 keys, 100 sets, 3 rounds, 10,000-key iteration")
    a = ap.parse_args()
    if a.quick:
        a.keys, a.set_keys, a.rounds, a.iter_keys = 500, 100, 3, 10_000
    os.makedirs(a.dir, exist_ok=True)
    print(f"# dirkv {dirkv.__version__}, Python {sys.version.split()[0]}, stores in {a.dir}")
    print(f"# load average before: {os.getloadavg()}")
    classes = [c for c in STORES if available(c)]
    keys = [f"key{i:06d}" for i in range(a.keys)]
    results = {c.name: {} for c in classes}
    results["python floor"] = {}

    for size, label in [(100, "100 B"), (4096, "4 KiB")]:
        value = os.urandom(size)
        opened = {}
        for c in classes:
            path = os.path.join(a.dir, f"{c.__name__}-{size}")
            shutil.rmtree(path, ignore_errors=True)
            s = c(path)
            s.load([(k, value) for k in keys])
            opened[c.name] = s
        floor = Floor(os.path.join(a.dir, f"floor-{size}"), keys, value)
        shuffled = keys[:]
        random.Random(size).shuffle(shuffled)
        for s in opened.values():  # warm the page cache and any internal cache
            for k in shuffled:
                s.get(k)
        time.sleep(0.1)  # (dirkv's cache takes a value once its file is 50 ms old)
        for s in opened.values():
            for k in shuffled:
                s.get(k)
        gets = {name: (lambda s=s: per_op(s.get, shuffled)) for name, s in opened.items()}
        gets["python floor"] = lambda: per_op(floor.get, shuffled)
        for name, t in rounds(gets, a.rounds).items():
            results[name][f"get {label}"] = t
        set_keys = shuffled[: a.set_keys]
        sets = {name: (lambda s=s: per_op(s.set, set_keys, value)) for name, s in opened.items()}
        sets["python floor"] = lambda: per_op(floor.set_fast, set_keys, value)
        sets["python floor, fsync"] = lambda: per_op(floor.set_durable, set_keys[: max(20, a.set_keys // 3)], value)
        for name, t in rounds(sets, max(3, a.rounds // 2)).items():
            results.setdefault(name, {})[f"set {label}"] = t
        if size == 100:
            counts = {name: (lambda s=s: timed(s.count)) for name, s in opened.items()}
            for name, t in rounds(counts, 3).items():
                results[name][f"len ({a.keys:,})"] = t
            iters = {name: (lambda s=s: timed(s.iterate) / a.keys) for name, s in opened.items()}
            for name, t in rounds(iters, 3).items():
                results[name]["iterate, per item"] = t
        for s in opened.values():
            s.close()
        print(f"# {label} done", flush=True)

    value = os.urandom(100)
    threads = {}
    with dirkv.Store(os.path.join(a.dir, "Dirkv-100"), mode="update") as s:
        threads["get 100 B"] = threads_speedup(s.get, keys)
        threads["set 100 B, durable"] = threads_speedup(s.set, keys[: max(40, a.set_keys // 3)], value)
    with dirkv.Store(os.path.join(a.dir, "DirkvFast-100"), mode="update") as s:
        threads["set 100 B, fast"] = threads_speedup(s.set, keys[: a.set_keys], value)
    floor = Floor(os.path.join(a.dir, "floor-threads"), keys, value)
    floor_threads = {
        "get 100 B": threads_speedup(floor.get, keys),
        "set 100 B, durable": threads_speedup(floor.set_durable, keys[: max(40, a.set_keys // 3)], value),
        "set 100 B, fast": threads_speedup(floor.set_fast, keys[: a.set_keys], value),
    }
    print("# threads done", flush=True)

    speedups = {}
    for c in classes:
        if c in (DirkvFast, DirkvCache):
            continue
        path = os.path.join(a.dir, f"{c.__name__}-100")
        speedups[c.name] = readers_speedup(c, path, keys, max(2, 5000 // a.keys))
    speedups["python floor"] = readers_speedup(
        FloorReader, os.path.join(a.dir, "floor-100"), keys, max(2, 5000 // a.keys)
    )
    print(f"# readers done; load average after: {os.getloadavg()}")

    ops = ["get 100 B", "get 4 KiB", "set 100 B", "set 4 KiB", f"len ({a.keys:,})", "iterate, per item"]
    rows = []
    for name, r in results.items():
        rows.append(
            [name + (" (fsyncs)" if any(c.name == name and c.durable for c in classes) else "")]
            + [fmt(r[o]) if o in r else "-" for o in ops]
            + [f"{speedups[name]:.2f}x" if name in speedups else "-"]
        )
    print()
    table(["store"] + ops + ["2 readers"], rows)

    d = results["dirkv"]
    print()
    print("Ratios (peer time / dirkv time; above 1 means dirkv is faster):")
    print()
    ratio_rows = []
    base_for = {
        "get 100 B": "dirkv",
        "get 4 KiB": "dirkv",
        "set 100 B": "dirkv fast",
        "set 4 KiB": "dirkv fast",
    }
    for name in results:
        if name.startswith("dirkv") or name.startswith("python"):
            continue
        row = [name]
        for o, base in base_for.items():
            row.append(f"{results[name][o] / results[base][o]:.2f}")
        row.append(f"{results[name]['set 100 B'] / d['set 100 B']:.2f}")
        ratio_rows.append(row)
    table(
        ["peer", "get 100 B", "get 4 KiB", "set 100 B vs fast", "set 4 KiB vs fast", "set 100 B vs durable"],
        ratio_rows,
    )

    print()
    print("Goals:")
    dc = results.get("diskcache", {}).get("get 100 B")
    sh = results.get("shelve (dbm.dumb)", {}).get("get 100 B")
    g = d["get 100 B"]
    cached = results["dirkv fast+cache"]["get 100 B"]
    if dc:
        print(f"- get 100 B at least 3x faster than diskcache: {dc / g:.2f}x uncached, {dc / cached:.2f}x with the cache")
    if sh:
        print(f"- get 100 B faster than shelve: {sh / g:.2f}x uncached, {sh / cached:.2f}x with the cache")
    peer_sets = {n: r["set 100 B"] for n, r in results.items() if not n.startswith(("dirkv", "python"))}
    if peer_sets:
        fastest = min(peer_sets, key=peer_sets.get)
        print(
            f"- fast set faster than every peer's set: {peer_sets[fastest] / results['dirkv fast']['set 100 B']:.2f}x"
            f" the fastest peer's ({fastest}); the plain-Python floor is "
            f"{results['python floor']['set 100 B'] / results['dirkv fast']['set 100 B']:.2f}x dirkv's"
        )
    if "PersistDict" in results:
        print(f"- durable set faster than PersistDict's: {results['PersistDict']['set 100 B'] / d['set 100 B']:.2f}x")
    print(
        f"- two reader processes scale >= 1.8x: {speedups['dirkv']:.2f}x"
        f" (plain Python's open().read(): {speedups['python floor']:.2f}x)"
    )
    print(
        "- two threads of one process over one thread (the GIL released during I/O): "
        + ", ".join(
            f"{name} {x:.2f}x (plain Python: {floor_threads[name]:.2f}x)" for name, x in threads.items()
        )
    )
    if a.iter_keys:
        print(f"- {iteration_memory(os.path.join(a.dir, 'iteration'), a.iter_keys)}")


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
