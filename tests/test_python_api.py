"""``import seqjobs``: the documented page runs as written, imports nothing heavy, and fails as the CLI does."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import seqjobs
from tests.helpers import REPO

PAGE = REPO / "docs" / "python-api.md"


def code_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.slow
def test_the_python_api_page_runs_as_written(tmp_path: Path, moby_dick: Path) -> None:
    """Its blocks, in order, in one interpreter, from an empty folder (the data cache is the session's)."""
    blocks = code_blocks(PAGE)
    assert len(blocks) >= 4
    script = tmp_path / "page.py"
    script.write_text("\n".join(blocks), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "--order: 'two' is not a valid value (expected int)" in done.stdout
    assert (tmp_path / "runs" / "orders").is_dir() and (tmp_path / "runs" / "one" / "result.json").is_file()


def test_import_seqjobs_loads_nothing_heavy() -> None:
    probe = "import seqjobs, sys, json; print(json.dumps([m for m in ('pandas', 'tensorflow', 'keras', 'submitit', 'typer') if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert json.loads(out.stdout) == []


def test_a_mistake_is_the_clis_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    with pytest.raises(seqjobs.UserError) as api:
        seqjobs.sweep("markov", grid={"order": [1, "x"]}, executor="local")
    command = cli("sweep", "markov", "--grid", "order=1,x", "--executor", "local")
    assert command.exit_code == 2 and command.stderr.strip() == f"error: {api.value}"
    with pytest.raises(seqjobs.UserError, match="unknown option 'colour'"):
        seqjobs.sweep("markov", colour="blue")
    with pytest.raises(seqjobs.UserError, match="unknown task"):
        seqjobs.run("nosuch")
    with pytest.raises(seqjobs.UserError):
        seqjobs.open(tmp_path)  # no run folder there
    assert not (tmp_path / "runs").exists()  # nothing was written by any of them
