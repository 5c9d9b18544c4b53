"""Damaged files under every command that reads them: never a hang, never a traceback, nothing changed on disk.

Each row damages the world of ``tests/test_bad_input.py`` (plus ``sw``, a
sweep of three copies of its completed Markov run, with a real manifest) in
one or more ways -- a FIFO, a folder or a 100,000-level nested JSON in a
file's place, a manifest that is not JSON, is a JSON list or is 300 MB --
then runs one real command. A view goes on (exit 0) and names the damage in
one warning; a command that needs the damaged file refuses in one ``error:``
line (exit 2). A FIFO would block a reader that opens it plainly, so those
rows run the command as a process with a timeout: a hang fails the row
instead of the suite. The tree is compared before and after, as in the
original table.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from seqtasks.rundir import SweepDir
from tests.helpers import assert_one_line_error, seqjobs
from tests.test_bad_input import shared, snapshot, world  # noqa: F401 -- shared: the fixture, used by name

#: a command that must not hang gets this long (a real one answers in a few seconds)
TIMEOUT_S = 120
DEEP = "[" * 100_000 + "]" * 100_000
DEEP_TOML = "gpu = " + "[" * 100_000 + "]" * 100_000 + "\n"


@dataclass(frozen=True)
class Row:
    """A command line, the damage done first (``(kind, path)``, paths relative to the case's folder), the answer."""

    args: tuple[str, ...]
    damage: tuple[tuple[str, str], ...]
    code: int
    fragments: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()


def row(
    *args: str,
    damage: tuple[tuple[str, str], ...],
    code: int,
    fragments: tuple[str, ...],
    id: str,
    env: tuple[tuple[str, str], ...] = (),
) -> Any:
    """A table row; one with a FIFO runs as a process (slow tier)."""
    marks = [pytest.mark.slow] if any(kind == "fifo" for kind, _ in damage) else []
    return pytest.param(Row(tuple(args), damage, code, fragments, env), id=id, marks=marks)


MK = ("--corpus", "{corpus}", "--length", "20")
RESWEEP = ("sweep", "markov", *MK, "--grid", "seed=0,1,2", "--executor", "debug", "--name", "sw", "--root", ".")
MANIFEST = "sw/sweep.json"
ENDED_NO_MORE = ("rm", "sw/c/result.json")  # the run has not ended: every file of it is read
UNREADABLE_A = "3 runs: 2 completed, 1 unreadable"

ROWS = [
    # -- status ------------------------------------------------------------------------------------------
    row(
        "status",
        "sw",
        damage=(("fifo", MANIFEST),),
        code=0,
        fragments=("sw/sweep.json: is not a regular file", "3 runs: 3 completed"),
        id="status-manifest-fifo",
    ),
    row(
        "status",
        "sw",
        damage=(("dir", MANIFEST),),
        code=0,
        fragments=("sw/sweep.json: is not a regular file", "3 runs: 3 completed"),
        id="status-manifest-folder",
    ),
    row(
        "status",
        "sw",
        damage=(("deep", MANIFEST),),
        code=0,
        fragments=("sw/sweep.json: nests deeper", "3 runs: 3 completed"),
        id="status-manifest-deep",
    ),
    row(
        "status",
        "sw",
        damage=(("text", MANIFEST),),
        code=0,
        fragments=("sw/sweep.json: is not valid JSON", "3 runs: 3 completed"),
        id="status-manifest-not-json",
    ),
    row(
        "status",
        "sw",
        damage=(("list", MANIFEST),),
        code=0,
        fragments=("sw/sweep.json: holds a JSON list", "3 runs: 3 completed"),
        id="status-manifest-a-list",
    ),
    row(
        "status",
        "sw",
        damage=(("huge", MANIFEST),),
        code=0,
        fragments=("sw/sweep.json: is 314572800 bytes", "3 runs: 3 completed"),
        id="status-manifest-300-mb",
    ),
    row(
        "status",
        "sw/a",
        damage=(("fifo", MANIFEST),),
        code=0,
        fragments=("1 run: 1 completed",),
        id="status-run-of-a-sweep-whose-manifest-is-a-fifo",
    ),
    row(
        "status",
        "sw",
        damage=(("deep", "sw/a/result.json"),),
        code=0,
        fragments=("sw/a: result.json nests deeper", UNREADABLE_A),
        id="status-result-deep",
    ),
    row(
        "status",
        "sw",
        damage=(("deep", "sw/a/job.json"),),
        code=0,
        fragments=("sw/a: job.json nests deeper", UNREADABLE_A),
        id="status-job-deep",
    ),
    row(
        "status",
        "sw",
        damage=(ENDED_NO_MORE, ("deep", "sw/c/state.json")),
        code=0,
        fragments=("sw/c: state.json nests deeper", UNREADABLE_A),
        id="status-state-deep",
    ),
    row(
        "status",
        "sw",
        damage=(ENDED_NO_MORE, ("deep", "sw/c/config.json")),
        code=0,
        fragments=("sw/c: config.json nests deeper", UNREADABLE_A),
        id="status-config-deep",
    ),
    row(
        "status",
        "sw",
        damage=(("rmtree", "sw/b"), ("fifo", "sw/b")),
        code=0,
        fragments=(
            "sw/b: is a special file (FIFO, socket or device) where sweep.json lists a run folder",
            UNREADABLE_A,
        ),
        id="status-run-folder-replaced-by-a-fifo",
    ),
    row(
        "status",
        "sw/a",
        damage=(("deep", "sw/a/result.json"),),
        code=2,
        fragments=("nothing readable",),
        id="status-the-one-run-deep",
    ),
    # -- collect -------------------------------------------------------------------------------------------
    row(
        "collect",
        "sw",
        "-o",
        "../out/x.csv",
        damage=(("fifo", MANIFEST),),
        code=0,
        fragments=("sw/sweep.json: is not a regular file", "3 runs: 3 completed; collected 3 runs"),
        id="collect-manifest-fifo",
    ),
    row(
        "collect",
        "sw",
        "-o",
        "../out/x.csv",
        damage=(("deep", "sw/a/config.json"),),
        code=0,
        fragments=("sw/a: config.json nests deeper", UNREADABLE_A),
        id="collect-config-deep",
    ),
    row(
        "collect",
        "sw",
        "--per-epoch",
        "-o",
        "../out/x.csv",
        damage=(("deep", MANIFEST),),
        code=0,
        fragments=("sw/sweep.json: nests deeper", "collected 3 runs"),
        id="collect-per-epoch-manifest-deep",
    ),
    row(
        "collect",
        "sw",
        "--per-epoch",
        "-o",
        "../out/x.csv",
        damage=(("deep", "sw/a/state.json"),),
        code=0,
        fragments=("sw/a: state.json nests deeper", UNREADABLE_A),
        id="collect-per-epoch-state-deep",
    ),
    # -- report ---------------------------------------------------------------------------------------------
    row(
        "report",
        "sw",
        "-o",
        "../out/rep",
        damage=(("fifo", MANIFEST),),
        code=0,
        fragments=("sw/sweep.json: is not a regular file",),
        id="report-manifest-fifo",
    ),
    row(
        "report",
        "sw",
        "-o",
        "../out/rep",
        damage=(("deep", "sw/b/result.json"),),
        code=0,
        fragments=("sw/b: result.json nests deeper",),
        id="report-result-deep",
    ),
    # -- cancel, resubmit -------------------------------------------------------------------------------------
    row(
        "cancel", "sw", damage=(("fifo", MANIFEST),), code=0, fragments=("cancelled 0 runs",), id="cancel-manifest-fifo"
    ),
    row(
        "cancel",
        "sw/a",
        damage=(("fifo", MANIFEST),),
        code=0,
        fragments=("cancelled 0 runs",),
        id="cancel-run-of-a-sweep-whose-manifest-is-a-fifo",
    ),
    row(
        "cancel",
        "sw",
        damage=(ENDED_NO_MORE, ("deep", "sw/c/job.json")),
        code=2,
        fragments=("cancelled 0 runs", "sw/c/job.json: nests deeper"),
        id="cancel-job-deep",
    ),
    row(
        "resubmit",
        "sw",
        "--failed",
        damage=(("fifo", MANIFEST),),
        code=0,
        fragments=("nothing to resubmit",),
        id="resubmit-manifest-fifo",
    ),
    row(
        "resubmit",
        "sw",
        "--failed",
        damage=(("deep", MANIFEST),),
        code=0,
        fragments=("nothing to resubmit",),
        id="resubmit-manifest-deep",
    ),
    # -- the sweep command again, on a sweep whose manifest or lock is damaged -----------------------------------
    row(
        *RESWEEP,
        damage=(("deep", MANIFEST),),
        code=2,
        fragments=("sweep.json: nests deeper",),
        id="sweep-again-manifest-deep",
    ),
    row(
        *RESWEEP,
        damage=(("fifo", "sw/sweep.lock"),),
        code=2,
        fragments=("sweep.lock: is not a regular file",),
        id="sweep-again-lock-fifo",
    ),
    row(
        *RESWEEP,
        damage=(("dir", "sw/sweep.lock"),),
        code=2,
        fragments=("sweep.lock: is not a regular file",),
        id="sweep-again-lock-folder",
    ),
    # -- predict, generate --------------------------------------------------------------------------------------
    row(
        "predict",
        "sent",
        "a fine film",
        damage=(("fifo", "sent/vocab.json"),),
        code=2,
        fragments=("vocab.json: is not a regular file",),
        id="predict-vocab-fifo",
    ),
    row(
        "predict",
        "sent",
        "a fine film",
        damage=(("deep", "sent/vocab.json"),),
        code=2,
        fragments=("vocab.json: nests deeper",),
        id="predict-vocab-deep",
    ),
    row(
        "predict",
        "sent",
        "a fine film",
        damage=(("fifo", "sent/best.keras"),),
        code=2,
        fragments=("best.keras: is not a regular file",),
        id="predict-model-fifo",
    ),
    row(
        "predict",
        "sent",
        "a fine film",
        damage=(("deep", "sent/config.json"),),
        code=2,
        fragments=("config.json: nests deeper",),
        id="predict-config-deep",
    ),
    row(
        "generate",
        "lm",
        "--seed-text",
        "call me",
        damage=(("fifo", "lm/vocab.json"),),
        code=2,
        fragments=("vocab.json: is not a regular file",),
        id="generate-vocab-fifo",
    ),
    row(
        "generate",
        "lm",
        "--seed-text",
        "call me",
        damage=(("deep", "lm/vocab.json"),),
        code=2,
        fragments=("vocab.json: nests deeper",),
        id="generate-vocab-deep",
    ),
    row(
        "generate",
        "lm",
        "--seed-text",
        "call me",
        damage=(("fifo", "lm/best.keras"),),
        code=2,
        fragments=("best.keras: is not a regular file",),
        id="generate-model-fifo",
    ),
    # -- profiles --------------------------------------------------------------------------------------------
    row(
        "submit",
        "markov",
        *MK,
        "--profile",
        "gpu",
        damage=(("toml", "deep.toml"),),
        code=2,
        fragments=("deep.toml", "nests deeper"),
        env=(("SEQJOBS_PROFILES", "deep.toml"),),
        id="submit-profile-deep",
    ),
    row(
        "submit",
        "markov",
        *MK,
        "--profile",
        "gpu",
        damage=(("fifo", "profiles.toml"),),
        code=2,
        fragments=("profiles.toml is not a regular file",),
        id="submit-profile-fifo",
    ),
]


def damage(here: Path, kind: str, name: str) -> None:
    """Do one kind of damage to ``here / name``."""
    path = here / name
    if kind in ("fifo", "dir", "huge", "deep", "text", "list", "toml"):
        path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dir":
        path.mkdir()
    elif kind == "huge":
        with open(path, "wb") as fh:  # sparse: 300 MB on paper, nothing on disk
            fh.truncate(300 << 20)
    elif kind == "deep":
        path.write_text(DEEP, encoding="utf-8")
    elif kind == "text":
        path.write_text("# my notes\n", encoding="utf-8")
    elif kind == "list":
        path.write_text("[1, 2]\n", encoding="utf-8")
    elif kind == "toml":
        path.write_text(DEEP_TOML, encoding="utf-8")
    elif kind == "rm":
        path.unlink()
    elif kind == "rmtree":
        shutil.rmtree(path)


def sweep_world(here: Path) -> None:
    """``sw``: three copies of the completed Markov run ``mk``, listed in a manifest of their sweep."""
    for name in "abc":
        shutil.copytree(here / "mk", here / "sw" / name)
    sweep = SweepDir(here / "sw")
    with sweep.locked():
        sweep.record("markov", {name: {"seed": i} for i, name in enumerate("abc")}, {}, {}, {}, {})


@pytest.mark.parametrize("bad", ROWS)
def test_damaged_files_are_named_and_nothing_hangs_or_changes(
    bad: Row,
    shared: dict[str, Path],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    here = tmp_path / "cwd"
    here.mkdir()
    (tmp_path / "out").mkdir()  # where collect and report write: outside the compared tree
    world(here, shared)
    sweep_world(here)
    for kind, name in bad.damage:
        damage(here, kind, name)
    monkeypatch.chdir(here)
    monkeypatch.setenv("SEQJOBS_PROFILES", str(here / "profiles.toml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(shared["config_home"]))
    for key, value in bad.env:
        monkeypatch.setenv(key, str(here / value))
    args = [a.replace("{corpus}", str(shared["corpus"])) for a in bad.args]
    before = snapshot(here, shared["root"])

    result: Any
    if any(kind == "fifo" for kind, _ in bad.damage):
        result = seqjobs(*args, cwd=here, timeout=TIMEOUT_S)  # a hang raises TimeoutExpired: the row fails
    else:
        from jobs.cli import app

        result = CliRunner().invoke(app, args)

    if bad.code == 2:
        assert_one_line_error(result, *bad.fragments)
    else:
        output = _output(result)
        assert _code(result) == 0, output
        assert "Traceback" not in output, output
        for fragment in bad.fragments:
            assert fragment in output, f"{fragment!r} not in:\n{output}"
    assert snapshot(here, shared["root"]) == before, "the command changed files on disk"


def _code(result: Any) -> int:
    return getattr(result, "exit_code", getattr(result, "returncode", None))


def _output(result: Any) -> str:
    return (getattr(result, "stdout", None) or "") + (getattr(result, "stderr", None) or "")


def test_every_reading_command_has_rows() -> None:
    commands = {r.values[0].args[0] for r in ROWS}
    assert len(ROWS) >= 20
    assert {"status", "collect", "report", "cancel", "resubmit", "predict", "generate", "sweep"} <= commands
    assert any("--per-epoch" in r.values[0].args for r in ROWS)
    assert any(r.values[0].args[:2] == ("status", "sw/a") for r in ROWS)
