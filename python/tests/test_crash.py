"""Crash safety: a writer process killed with SIGKILL at a random moment leaves every entry
whole (the old value or the new one), and the next open sweeps its temp files."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import dirkv
from support import new

WRITER = textwrap.dedent(
    """
    import sys, itertools
    import dirkv
    path, durability = sys.argv[1], sys.argv[2]
    with dirkv.Store(path, durability=durability) as s:
        for i in itertools.count():
            n = i % 40
            # Values of several sizes, each checkable on its own.
            s[f"k{n}"] = {"i": i, "payload": [i] * (50 + 300 * (n % 5))}
            if i % 7 == 0:
                s.modify("counter", lambda old: (old or 0) + 1)
            if i % 11 == 0:
                s.set_many({f"batch{j}": [i, j] for j in range(20)})
            if i == 3:
                print("ready", flush=True)
    """
)


def temp_files(root: str) -> list:
    return [
        os.path.join(d, f)
        for d, _, files in os.walk(root)
        for f in files
        if ".tmp-" in f
    ]


@pytest.mark.parametrize("durability", ["durable", "fast"])
def test_killed_writer_leaves_whole_entries(path, durability):
    new(path, durability=durability).close()
    rng = random.Random(7)
    counters = []
    for round_ in range(5):
        p = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), durability],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert p.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.05, 0.4))
        finally:
            p.send_signal(signal.SIGKILL)
            p.wait(30)
            p.stdout.close()
        assert p.returncode == -signal.SIGKILL
        with new(path, mode="update", durability=durability) as s:
            # The open swept the dead writer's temp files: none is left, none is a key.
            assert temp_files(s.path) == []
            seen = 0
            for key, value in s.items():
                if key.startswith("k"):
                    i = value["i"]
                    assert set(value["payload"]) == {i}, key
                    assert len(value["payload"]) == 50 + 300 * (int(key[1:]) % 5)
                elif key.startswith("batch"):
                    assert value[1] == int(key[5:])
                seen += 1
            assert seen >= 2
            counters.append(s.get("counter", 0))
            assert isinstance(counters[-1], int)
    # Each round added to the counter; none lost an increment already made.
    assert counters == sorted(counters) and counters[-1] >= 5
