"""The type stubs (dirkv/__init__.pyi) match the runtime: mypy's stubtest compares every
name, signature and class of the stub with the installed package."""

from __future__ import annotations

import pytest

from support import python


def test_stubs_match_the_runtime(tmp_path):
    pytest.importorskip("mypy.stubtest", reason="mypy is not installed (pip install mypy)")
    out = python("import mypy.stubtest, sys; sys.exit(mypy.stubtest.main())", "dirkv",
                 cwd=tmp_path, check=False, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
