"""Provenance of a run's code: the commit it ran from, and whether the checkout was edited."""

from __future__ import annotations

import subprocess
from pathlib import Path

from seqtasks.version import checkout_state


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_a_folder_outside_git_has_no_commit_and_no_dirty_flag(tmp_path: Path) -> None:
    assert checkout_state(tmp_path) == (None, None)


def test_edited_or_new_code_marks_the_checkout_dirty_and_results_do_not(tmp_path: Path) -> None:
    code = tmp_path / "seqtasks"
    code.mkdir()
    (code / "task.py").write_text("EPOCHS = 1\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "table.csv").write_text("best\n0.75\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "first")
    head = _git(tmp_path, "rev-parse", "HEAD")

    (tmp_path / "results" / "table.csv").write_text("best\n0.76\n")  # a re-collected table, not code
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "metrics.csv").write_text("epoch\n1\n")
    assert checkout_state(tmp_path) == (head, False)

    (code / "extra.py").write_text("X = 1\n")  # a new module the task may import
    assert checkout_state(tmp_path) == (head, True)
    (code / "extra.py").unlink()
    (code / "task.py").write_text("EPOCHS = 2\n")
    assert checkout_state(tmp_path) == (head, True)


def test_a_folder_inside_another_checkout_records_no_commit(tmp_path: Path) -> None:
    """seqjobs installed into a venv inside a user's project must not record the project's commit."""
    (tmp_path / "notes.txt").write_text("a project\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "first")
    installed = tmp_path / ".venv" / "lib" / "site-packages"
    installed.mkdir(parents=True)
    assert checkout_state(installed) == (None, None)
    assert checkout_state(tmp_path)[0] == _git(tmp_path, "rev-parse", "HEAD")
