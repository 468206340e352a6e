"""Helpers shared by the tests: stores opened for tests, the Rust binaries of the
cross-language tests, and bounded subprocesses.

The cross-language tests run two Rust programs built from this repository:

* ``DIRKV_BIN``: the ``dirkv`` command (``cargo build --features cli``); default
  ``<target>/debug/dirkv``;
* ``DIRKV_INTEROP_BIN``: the example ``python_interop``
  (``cargo build --example python_interop``); default
  ``<target>/debug/examples/python_interop``;

where ``<target>`` is ``$CARGO_TARGET_DIR`` or the repository's ``target/``. Without them
those tests skip, saying why; with ``DIRKV_REQUIRE_BINARIES=1`` (as ``run-tests.sh`` and CI
set it) a missing binary fails instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import dirkv

REPO = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")


def _binary(env: str, default: Path) -> Path:
    return Path(os.environ.get(env) or default)


DIRKV_BIN = _binary("DIRKV_BIN", TARGET / "debug" / "dirkv")
INTEROP_BIN = _binary(
    "DIRKV_INTEROP_BIN", TARGET / "debug" / "examples" / "python_interop"
)


def require(binary: Path, how: str) -> Path:
    """The binary, or a skip (a failure with DIRKV_REQUIRE_BINARIES=1) saying how to build it."""
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    message = f"{binary} is missing: build it with `{how}`"
    if os.environ.get("DIRKV_REQUIRE_BINARIES") == "1":
        pytest.fail(message)
    pytest.skip(message)


def new(path, mode: str = "create_or_open", **options) -> dirkv.Store:
    """A store for a test: ``durability="fast"`` unless asked otherwise. Durable creation
    fsyncs 256 shard folders (most of a second on a busy disk), and most tests are not
    about durability; those that are ask for it."""
    options.setdefault("durability", "fast")
    return dirkv.Store(path, mode, **options)


def run(args, timeout: float = 60, check: bool = True, **kw) -> subprocess.CompletedProcess:
    """Runs a command with a time limit; its output as text."""
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
        **kw,
    )


def python(code: str, *args, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    """Runs Python code in a new interpreter (this one's), with a time limit."""
    return run([sys.executable, "-c", code, *args], timeout=timeout, **kw)
