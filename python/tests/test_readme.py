"""The READMEs' Python examples run as written (python/README.md, and the Python section of
the root README), and the shell lines next to them say what the dirkv command prints."""

from __future__ import annotations

import hashlib
import os
import json
import re

from support import REPO, python, run


def python_blocks(text: str) -> list:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def root_readme_python_section() -> str:
    text = (REPO / "README.md").read_text()
    m = re.search(r"^## Python\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert m, "the root README has a '## Python' section"
    return m.group(1)


def test_package_readme_examples_run(tmp_path):
    blocks = python_blocks((REPO / "python" / "README.md").read_text())
    assert blocks
    for i, code in enumerate(blocks):
        cwd = tmp_path / str(i)
        cwd.mkdir()
        python(code, cwd=cwd)


def test_root_readme_python_examples_run(tmp_path):
    blocks = python_blocks(root_readme_python_section())
    assert blocks
    for code in blocks:
        python(code, cwd=tmp_path)


def test_the_shell_lines_of_the_example(tmp_path, dirkv_bin):
    (code,) = python_blocks((REPO / "python" / "README.md").read_text())[:1]
    out = python(code, cwd=tmp_path).stdout
    assert json.loads(run([dirkv_bin, "get", tmp_path / "pages", "home"]).stdout) == {
        "title": "Home",
        "words": 120,
    }
    digest = hashlib.sha256(b"home").hexdigest()
    assert digest.startswith("4ea1405") and f"{digest[:2]}/{digest}.dkv" in out
    keys = run([dirkv_bin, "ls", tmp_path / "pages"]).stdout.split()
    assert "home" in keys and "counter" in keys


def test_docstring_examples(tmp_path):
    out = python(
        "import doctest, sys, dirkv\n"
        "r = doctest.testmod(dirkv, extraglobs={'dirkv': dirkv})\n"
        "print(r.attempted)\n"
        "sys.exit(1 if r.failed else 0)\n",
        cwd=tmp_path,
        env=dict(os.environ, TMPDIR=str(tmp_path)),
    )
    assert int(out.stdout) >= 5  # the module docstring and ManualClock's
