"""A sweep command refuses a folder it must not add to before it writes or submits anything.

The table of ``tests/test_bad_input.py`` (its world, its one-line check, its
before-and-after snapshot of every file), with sweep folders added to the
world to be wrong about: a completed Markov grid sweep (made by the real
command), a char-LSTM grid sweep and a char-LSTM halving sweep (their
manifests written by :class:`~seqtasks.rundir.SweepDir`, as the commands
write them), and a folder holding a run of another task where a halving
sweep's run would go. Every refusal must come before the first write: a run
trained (the debug executor), a job submitted (local), a manifest or run
folder made.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from seqtasks.charlm.config import CharLMConfig
from seqtasks.config import to_dict
from seqtasks.rundir import SweepDir
from seqtasks.rundir.records import HalvingRecord, RungRecord
from tests.helpers import assert_one_line_error
from tests.test_bad_input import Case, case, shared, snapshot, world  # noqa: F401 -- shared: the module fixture

DEBUG = ("--executor", "debug")
MK = ("--corpus", "{corpus}", "--length", "20")
CHARLM = ("--corpus", "{corpus}", "--max-chars", "3000", "--units", "4")
HALVING = ("--halving", "--min-epochs", "1", "--max-epochs", "3")
IN_SWEEPS = ("--root", "sweeps")
HERE = ("--root", ".")

CASES = [
    case(
        "sweep",
        "charlm",
        *CHARLM,
        "--grid",
        "units=4",
        *DEBUG,
        "--name",
        "mk-sweep",
        *IN_SWEEPS,
        fragments=("'markov' sweep, not 'charlm'",),
        id="sweep-other-task-debug-trains-nothing",
    ),
    case(
        "sweep",
        "charlm",
        *CHARLM,
        "--grid",
        "units=4",
        "--executor",
        "local",
        "--name",
        "mk-sweep",
        *IN_SWEEPS,
        fragments=("'markov' sweep, not 'charlm'",),
        id="sweep-other-task-local-submits-nothing",
    ),
    case(
        "sweep",
        "charlm",
        *CHARLM,
        *HALVING,
        "--grid",
        "units=4,8",
        *DEBUG,
        "--name",
        "mk-sweep",
        *IN_SWEEPS,
        fragments=("'markov' sweep, not 'charlm'",),
        id="sweep-halving-other-task",
    ),
    case(
        "sweep",
        "imdb",
        "--dataset",
        "rt-snippets",
        *HALVING,
        "--grid",
        "units=4,8",
        *DEBUG,
        "--name",
        "halved",
        *IN_SWEEPS,
        fragments=("'charlm' sweep, not 'imdb'",),
        id="sweep-halving-other-task-of-a-halving-sweep",
    ),
    case(
        "sweep",
        "markov",
        *MK,
        *DEBUG,
        "--name",
        "mk",
        *HERE,
        fragments=("run folder, not a sweep",),
        id="sweep-name-a-run-folder",
    ),
    case(
        "sweep",
        "markov",
        *MK,
        "--grid",
        "order=1,2",
        *DEBUG,
        "--name",
        "notjson",
        *HERE,
        fragments=("run folder, not a sweep",),
        id="sweep-name-a-folder-with-a-config",
    ),
    case(
        "sweep",
        "markov",
        *MK,
        "--grid",
        "order=1,2",
        *DEBUG,
        "--name",
        "mine",
        *HERE,
        fragments=("not a seqjobs sweep",),
        id="sweep-name-a-users-folder",
    ),
    case(
        "sweep",
        "markov",
        *MK,
        *DEBUG,
        "--name",
        "adir-with-a-file",
        *HERE,
        fragments=("not a seqjobs sweep",),
        id="sweep-name-a-folder-of-files",
    ),
    case(
        "sweep",
        "charlm",
        *CHARLM,
        *HALVING,
        "--grid",
        "units=4,8",
        *DEBUG,
        "--name",
        "taken",
        *IN_SWEEPS,
        fragments=("'markov' run, not 'charlm'",),
        id="sweep-halving-run-folder-of-another-task",
    ),
    case(
        "sweep",
        "charlm",
        *CHARLM,
        *HALVING,
        "--grid",
        "units=4,8",
        *DEBUG,
        "--name",
        "cl-grid",
        *IN_SWEEPS,
        fragments=("is a grid sweep",),
        id="sweep-halving-on-a-grid-sweep",
    ),
    case(
        "sweep",
        "charlm",
        *CHARLM,
        "--grid",
        "units=4,8",
        *DEBUG,
        "--name",
        "halved",
        *IN_SWEEPS,
        fragments=("is a halving sweep",),
        id="sweep-grid-on-a-halving-sweep",
    ),
]


def charlm_params(corpus: Path, units: int) -> dict[str, Any]:
    return to_dict(CharLMConfig(corpus=str(corpus), max_chars=3000, units=units))


@pytest.fixture(scope="module")
def sweeps(shared: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """Made once: the sweep folders every case gets a copy of."""
    root = tmp_path_factory.mktemp("refuse-sweeps") / "sweeps"
    from jobs.cli import app

    corpus = shared["corpus"]
    made = CliRunner().invoke(
        app,
        [
            "sweep",
            "markov",
            "--corpus",
            str(corpus),
            "--length",
            "20",
            "--grid",
            "order=1,2",
            *DEBUG,
            "--name",
            "mk-sweep",
            "--root",
            str(root),
        ],
    )
    assert made.exit_code == 0, made.output
    runs = {f"units={u}": charlm_params(corpus, u) for u in (4, 8)}
    base = charlm_params(corpus, 4)
    with SweepDir(root / "cl-grid").locked():
        SweepDir(root / "cl-grid").record("charlm", runs, {}, base, {"grid": ["units=4,8"]}, {})
    plan = HalvingRecord(
        metric="val_bits_per_char",
        higher_is_better=False,
        min_epochs=1,
        max_epochs=3,
        eta=3,
        epochs=[1, 3],
        rungs=[RungRecord(rung=0, epochs=1, runs=sorted(runs))],
    )
    with SweepDir(root / "halved").locked():
        SweepDir(root / "halved").record("charlm", runs, {}, base, {"grid": ["units=4,8"], "halving": True}, {}, plan)
    shutil.copytree(shared["mk"], root / "taken" / "units=4")  # a Markov run where the halving sweep's run would go
    return root


@pytest.mark.parametrize("bad", CASES)
def test_a_sweep_is_refused_before_anything_is_written(
    bad: Case,
    shared: dict[str, Path],  # noqa: F811
    sweeps: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    here = tmp_path / "cwd"
    here.mkdir()
    world(here, shared)
    shutil.copytree(sweeps, here / "sweeps")
    (here / "adir-with-a-file").mkdir()
    (here / "adir-with-a-file" / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    monkeypatch.chdir(here)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(shared["config_home"]))
    args = [a.replace("{corpus}", str(shared["corpus"])) for a in bad.args]
    before = snapshot(tmp_path, shared["root"])

    from jobs.cli import app

    result = CliRunner().invoke(app, args)

    assert_one_line_error(result, *bad.fragments, only=True)
    assert snapshot(tmp_path, shared["root"]) == before, "the command changed files on disk"
