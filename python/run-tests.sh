#!/usr/bin/env bash
# The Python package's tests, from a fresh clone with only the Rust toolchain and
# Python 3.9+: makes a virtual environment, installs the package into it the way the
# README says (`pip install ./python`, a release build with maturin), builds the two Rust
# programs of the cross-language tests, and runs pytest. CI runs this (see .ci/run).
#
#   python/run-tests.sh              # everything
#   python/run-tests.sh -k interop   # extra arguments go to pytest
#
# Environment: PYTHON (the interpreter for the venv, default python3), CARGO_TARGET_DIR
# (default ./target), DIRKV_VENV (default $CARGO_TARGET_DIR/py-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

target="${CARGO_TARGET_DIR:-$PWD/target}"
venv="${DIRKV_VENV:-$target/py-venv}"
python="${PYTHON:-python3}"

echo "== Python virtual environment: $venv"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "maturin==1.16.0" "pytest==8.4.2"
# For the stub test (mypy's stubtest); best effort: without it that test skips.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "mypy==2.4.1" \
  || echo "mypy could not be installed; tests/test_stubs.py will skip"
# As if activated (the build runs the venv's maturin).
export VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH"

echo "== pip install ./python (maturin, release build)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall \
  --no-deps --no-build-isolation ./python

if [ "${CI:-}" = true ]; then
  # The binding is not a default member, so the root clippy run does not see it.
  echo "== clippy of the binding (CI only)"
  cargo clippy -p dirkv-python -- -D warnings
fi

echo "== the dirkv command and the python_interop example (cross-language tests)"
cargo build --all-features --bin dirkv --example python_interop
export DIRKV_BIN="$target/debug/dirkv"
export DIRKV_INTEROP_BIN="$target/debug/examples/python_interop"
# In CI a missing binary fails the run instead of skipping the tests that need it.
export DIRKV_REQUIRE_BINARIES=1

# Test stores go to a tmpfs when there is one: each test makes a store of 256 shard
# folders, and removing folders is slow on some disks (0.5 s a store on a disk mounted
# with `discard`). The tests that need a real disk (none so far) would say so.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  scratch="$(mktemp -d /dev/shm/dirkv-pytest.XXXXXX)"
else
  mkdir -p "$target/py-tmp"
  scratch="$(mktemp -d "$target/py-tmp/run.XXXXXX")"
fi
trap 'rm -rf "$scratch"' EXIT

echo "== pytest"
cd python
"$venv/bin/python" -m pytest tests -rs -p no:cacheprovider --basetemp="$scratch/t" "$@"
