"""Fixtures: a fresh store folder per test, and the Rust binaries (see support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import DIRKV_BIN, INTEROP_BIN, new, require


@pytest.fixture
def dirkv_bin() -> Path:
    return require(DIRKV_BIN, "cargo build --features cli")


@pytest.fixture
def interop_bin() -> Path:
    return require(INTEROP_BIN, "cargo build --example python_interop")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A store path that does not exist yet."""
    return tmp_path / "store"


@pytest.fixture
def store(path: Path):
    """A new, empty store (str keys, MessagePack, fast writes), closed after the test."""
    with new(path, mode="error") as s:
        yield s
