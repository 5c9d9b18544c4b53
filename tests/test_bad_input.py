"""Bad input, command by command: one ``error:`` line, exit 2, no traceback, nothing on disk changed.

Every case runs the real CLI in-process (Typer's CliRunner keeps stderr apart)
with the current folder set to the case's own temporary folder, which holds a
small world to be wrong about: a text file, a plain file, an empty folder, a
completed Markov run, fake charlm and imdb run folders with damaged files,
profile files. The tree (paths, sizes and mtimes of every file; every folder's
path) is compared before and after. Every case must fail before a task starts:
no training, no submission.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from seqtasks.charlm.config import CharLMConfig
from seqtasks.config import to_dict
from seqtasks.imdb.config import ImdbConfig
from tests.helpers import assert_one_line_error

PROFILES = """\
gpu = { executor = "local", partition = "gpu", time = 60 }
badtime = { executor = "local", time = "abc" }
boolgpus = { executor = "local", gpus_per_node = true }
nantime = { executor = "local", time = nan }
floattime = { executor = "local", time = 1.5 }
inject = { executor = "local", mem = "4G\\nrm -rf ~ #" }
tabbed = { executor = "local", qos = "normal\\tx" }
unknown = { executor = "local", colour = "red" }
number = 3
intpartition = { executor = "local", partition = 5 }
"""


@dataclass(frozen=True)
class Case:
    """One bad command line. Paths are relative to the case's folder (see :func:`world`); ``{corpus}``
    is the shared small text the completed Markov run ``mk`` was made from. ``env`` values are paths
    in the case's folder too."""

    args: tuple[str, ...]
    fragments: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


def case(*args: str, fragments: tuple[str, ...] = (), env: dict[str, str] | None = None, id: str) -> Any:  # noqa: A002 -- pytest's own name
    """A table row."""
    return pytest.param(Case(tuple(args), fragments, env or {}), id=id)


LOCAL = ("--executor", "local")
MK = ("--corpus", "{corpus}", "--length", "20")  # the options the completed Markov run was made with
LONG = "a" * 300

CASES = [
    # -- run: values ------------------------------------------------------------------------------
    case("run", "markov", "--smoothing", "nan", fragments=("--smoothing", "nan"), id="run-smoothing-nan"),
    case("run", "markov", "--smoothing", "inf", fragments=("--smoothing",), id="run-smoothing-inf"),
    case("run", "markov", "--smoothing", "-inf", fragments=("--smoothing",), id="run-smoothing-minus-inf"),
    case("run", "markov", "--smoothing", "0", fragments=("--smoothing must be > 0",), id="run-smoothing-zero"),
    case("run", "markov", "--val-fraction", "nan", fragments=("--val-fraction",), id="run-val-fraction-nan"),
    case("run", "markov", "--val-fraction", "1", fragments=("--val-fraction",), id="run-val-fraction-one"),
    case("run", "markov", "--seed", "-1", *MK, fragments=("--seed must be >= 0",), id="run-markov-seed-negative"),
    case("run", "charlm", "--seed", "-1", fragments=("--seed must be >= 0",), id="run-charlm-seed-negative"),
    case("run", "imdb", "--seed", "-1", fragments=("--seed must be >= 0",), id="run-imdb-seed-negative"),
    case("run", "markov", "--seed", "4294967296", fragments=("--seed must be <=",), id="run-seed-too-big"),
    case("run", "markov", "--length", "100000000000", fragments=("--length must be <=",), id="run-length-huge"),
    case("run", "markov", "--length", "-1", fragments=("--length must be >= 0",), id="run-length-negative"),
    case("run", "markov", "--order", "abc", fragments=("--order", "'abc'", "expected int"), id="run-order-abc"),
    case("run", "markov", "--order", "0", fragments=("--order must be >= 1",), id="run-order-zero"),
    case("run", "markov", "--order", "1.5", fragments=("--order",), id="run-order-float"),
    case("run", "markov", "--order", "9" * 5000, fragments=("--order",), id="run-order-5000-digits"),
    case("run", "markov", "--level", "sentence", fragments=("--level", "char|word"), id="run-level-unknown"),
    case("run", "markov", "--keep-case=3", fragments=("--keep-case",), id="run-flag-with-value"),
    case("run", "markov", "--colour", "red", fragments=("--colour",), id="run-unknown-option"),
    case("run", "dance", fragments=("dance",), id="run-unknown-task"),
    case("run", "charlm", "--lr", "nan", fragments=("--lr",), id="run-charlm-lr-nan"),
    case("run", "charlm", "--lr", "0", fragments=("--lr must be > 0",), id="run-charlm-lr-zero"),
    case("run", "charlm", "--temperatures", "0.5,nan", fragments=("--temperatures",), id="run-charlm-temperature-nan"),
    case("run", "charlm", "--temperatures", "0.5,0", fragments=("--temperatures",), id="run-charlm-temperature-zero"),
    case("run", "charlm", "--temperatures", ",", fragments=("--temperatures",), id="run-charlm-no-temperature"),
    case("run", "charlm", "--units", "0", fragments=("--units must be >= 1",), id="run-charlm-units-zero"),
    case("run", "charlm", "--units", "1000000000000", fragments=("--units must be <=",), id="run-charlm-units-huge"),
    case("run", "charlm", "--max-chars", "-1", fragments=("--max-chars",), id="run-charlm-max-chars-negative"),
    case("run", "charlm", "--sampler", "beam", fragments=("--sampler",), id="run-charlm-sampler-unknown"),
    case("run", "imdb", "--dropout", "nan", fragments=("--dropout",), id="run-imdb-dropout-nan"),
    case("run", "imdb", "--dropout", "1", fragments=("--dropout",), id="run-imdb-dropout-one"),
    case("run", "imdb", "--lr", "inf", fragments=("--lr",), id="run-imdb-lr-inf"),
    case("run", "imdb", "--top-words", "3", fragments=("--top-words must be >= 4",), id="run-imdb-top-words"),
    case("run", "imdb", "--skip-top", "6000", fragments=("--skip-top",), id="run-imdb-skip-top-all"),
    case("run", "imdb", "--test-fraction", "0", fragments=("--test-fraction",), id="run-imdb-test-fraction-zero"),
    # -- run: data and folders -------------------------------------------------------------------------
    case("run", "markov", "--corpus", "nosuch.txt", fragments=("nosuch.txt",), id="run-corpus-missing"),
    case("run", "markov", "--corpus", "adir", fragments=("folder",), id="run-corpus-folder"),
    case("run", "markov", "--corpus", "imdb", fragments=("imdb",), id="run-corpus-labelled-dataset"),
    case("run", "charlm", "--corpus", "nosuch.txt", fragments=("nosuch.txt",), id="run-charlm-corpus-missing"),
    case("run", "imdb", "--dataset", "nosuch.csv", fragments=("nosuch.csv",), id="run-imdb-dataset-missing"),
    case("run", "imdb", "--dataset", "moby-dick", fragments=("moby-dick",), id="run-imdb-dataset-text"),
    case("run", "imdb", "--dataset", "adir", fragments=("adir",), id="run-imdb-dataset-empty-folder"),
    case("run", "markov", *MK, "--out", "afile/sub", fragments=("afile",), id="run-out-below-a-file"),
    case("run", "markov", *MK, "--out", "afile", fragments=("afile",), id="run-out-a-file"),
    case("run", "markov", *MK, "--out", "x\ny", fragments=("--out",), id="run-out-newline"),
    case("run", "markov", *MK, "--out", LONG, fragments=("--out",), id="run-out-name-too-long"),
    case(
        "run",
        "markov",
        "--corpus",
        "{corpus}",
        "--order",
        "2",
        "--out",
        "mk",
        fragments=("different config",),
        id="run-out-other-config",
    ),
    case("run", "charlm", "--corpus", "{corpus}", "--out", "mk", fragments=("markov",), id="run-out-other-task"),
    case("run", "markov", *MK, "--out", "mine", id="run-out-user-folder"),
    case("run", "markov", *MK, "--out", "notjson", id="run-out-user-config-not-json"),
    case("run", "charlm", "--corpus", "{corpus}", "--out", "claimed", id="run-charlm-out-claimed"),
    case("run", "markov", *MK, "--out", "claimed", id="run-markov-out-claimed"),
    # -- submit ----------------------------------------------------------------------------------------
    case(
        "submit",
        "markov",
        *MK,
        *LOCAL,
        "--mem",
        "4G\nrm -rf ~ #",
        fragments=("--mem", "control character"),
        id="submit-mem-newline",
    ),
    case("submit", "markov", *MK, *LOCAL, "--partition", "gpu\r", fragments=("--partition",), id="submit-partition-cr"),
    case("submit", "markov", *MK, *LOCAL, "--account", "a\x00b", fragments=("--account",), id="submit-account-nul"),
    case(
        "submit", "markov", *MK, *LOCAL, "--constraint", "a\tb", fragments=("--constraint",), id="submit-constraint-tab"
    ),
    case("submit", "markov", *MK, *LOCAL, "--qos", "a\u2028b", fragments=("--qos",), id="submit-qos-line-separator"),
    case("submit", "markov", *MK, *LOCAL, "--partition", "", fragments=("--partition",), id="submit-partition-empty"),
    case(
        "submit",
        "markov",
        *MK,
        *LOCAL,
        "--time",
        "0",
        fragments=("--time must be an integer >= 1",),
        id="submit-time-zero",
    ),
    case("submit", "markov", *MK, *LOCAL, "--time", "abc", fragments=("--time",), id="submit-time-abc"),
    case("submit", "markov", *MK, *LOCAL, "--time", "99999999999", fragments=("--time",), id="submit-time-huge"),
    case(
        "submit",
        "markov",
        *MK,
        *LOCAL,
        "--gpus-per-node",
        "-1",
        fragments=("--gpus-per-node",),
        id="submit-gpus-negative",
    ),
    case(
        "submit",
        "markov",
        *MK,
        *LOCAL,
        "--runs-per-task",
        "0",
        fragments=("--runs-per-task must be an integer >= 1",),
        id="submit-runs-per-task-zero",
    ),
    case(
        "submit", "markov", *MK, *LOCAL, "--max-submit", "x", fragments=("--max-submit",), id="submit-max-submit-text"
    ),
    case("submit", "markov", *MK, "--executor", "cloud", fragments=("cloud",), id="submit-executor-unknown"),
    case("submit", "markov", *MK, "--profile", "nope", fragments=("nope",), id="submit-profile-unknown"),
    case("submit", "markov", *MK, "--profile", "badtime", fragments=("time", "badtime"), id="submit-profile-time-abc"),
    case("submit", "markov", *MK, "--profile", "boolgpus", fragments=("gpus_per_node",), id="submit-profile-gpus-bool"),
    case("submit", "markov", *MK, "--profile", "nantime", fragments=("time",), id="submit-profile-time-nan"),
    case("submit", "markov", *MK, "--profile", "floattime", fragments=("time",), id="submit-profile-time-float"),
    case(
        "submit",
        "markov",
        *MK,
        "--profile",
        "inject",
        fragments=("--mem", "control character"),
        id="submit-profile-mem-newline",
    ),
    case("submit", "markov", *MK, "--profile", "tabbed", fragments=("--qos",), id="submit-profile-qos-tab"),
    case("submit", "markov", *MK, "--profile", "unknown", fragments=("colour",), id="submit-profile-unknown-key"),
    case("submit", "markov", *MK, "--profile", "number", fragments=("table",), id="submit-profile-not-a-table"),
    case(
        "submit",
        "markov",
        *MK,
        "--profile",
        "intpartition",
        fragments=("partition",),
        id="submit-profile-partition-int",
    ),
    case(
        "submit",
        "markov",
        *MK,
        "--profile",
        "gpu",
        fragments=("profile",),
        env={"SEQJOBS_PROFILES": "latin1.toml"},
        id="submit-profile-not-utf8",
    ),
    case(
        "submit",
        "markov",
        *MK,
        "--profile",
        "gpu",
        fragments=("profile",),
        env={"SEQJOBS_PROFILES": "broken.toml"},
        id="submit-profile-not-toml",
    ),
    case("submit", "markov", "--corpus", "nosuch.txt", *LOCAL, fragments=("nosuch.txt",), id="submit-corpus-missing"),
    case("submit", "imdb", "--dataset", "nosuch.csv", *LOCAL, fragments=("nosuch.csv",), id="submit-dataset-missing"),
    case("submit", "markov", *MK, *LOCAL, "--out", "afile/sub", fragments=("afile",), id="submit-out-below-a-file"),
    case("submit", "markov", *MK, *LOCAL, "--out", "a\nb", fragments=("--out",), id="submit-out-newline"),
    case("submit", "markov", *MK, *LOCAL, "--smoothing", "nan", fragments=("--smoothing",), id="submit-smoothing-nan"),
    case("submit", "charlm", *LOCAL, "--seed", "-1", fragments=("--seed",), id="submit-charlm-seed-negative"),
    # -- sweep -----------------------------------------------------------------------------------------
    case(
        "sweep",
        "markov",
        *MK,
        *LOCAL,
        "--grid",
        "smoothing=1,nan",
        fragments=("--smoothing", "nan"),
        id="sweep-grid-nan",
    ),
    case(
        "sweep",
        "markov",
        *MK,
        *LOCAL,
        "--zip",
        "smoothing=1,inf",
        "--zip",
        "order=1,2",
        fragments=("--smoothing",),
        id="sweep-zip-inf",
    ),
    case(
        "sweep",
        "markov",
        *MK,
        *LOCAL,
        "--grid",
        "order=abc",
        fragments=("--order", "'abc'", "expected int"),
        id="sweep-grid-order-abc",
    ),
    case(
        "sweep",
        "markov",
        *MK,
        *LOCAL,
        "--grid",
        "level=sentence",
        fragments=("--level", "char|word"),
        id="sweep-grid-level-unknown",
    ),
    case("sweep", "markov", *MK, *LOCAL, "--grid", "seed=-1,0", fragments=("--seed",), id="sweep-grid-seed-negative"),
    case(
        "sweep",
        "markov",
        *MK,
        *LOCAL,
        "--seed",
        "4294967295",
        "--seeds",
        "2",
        fragments=("--seed",),
        id="sweep-seeds-past-the-largest-seed",
    ),
    case("sweep", "markov", *MK, *LOCAL, "--seeds", "1000000000", fragments=("runs",), id="sweep-seeds-huge"),
    case("sweep", "markov", *MK, *LOCAL, "--seeds", "0", fragments=("--seeds",), id="sweep-seeds-zero"),
    case("sweep", "markov", *MK, *LOCAL, "--grid", "order=1,1", fragments=("repeats",), id="sweep-grid-duplicate"),
    case("sweep", "markov", *MK, *LOCAL, "--grid", "colour=red", fragments=("colour",), id="sweep-grid-unknown"),
    case("sweep", "markov", *MK, *LOCAL, "--grid", "order", fragments=("NAME=V1,V2",), id="sweep-grid-no-equals"),
    case(
        "sweep",
        "markov",
        *MK,
        *LOCAL,
        "--grid",
        "order=1",
        "--zip",
        "order=2",
        fragments=("both",),
        id="sweep-grid-and-zip",
    ),
    case(
        "sweep", "markov", *MK, *LOCAL, "--grid", f"start={LONG}", fragments=("start", "255"), id="sweep-value-too-long"
    ),
    case("sweep", "markov", *MK, *LOCAL, "--grid", "start=a\nb", fragments=("start",), id="sweep-value-newline"),
    case(
        "sweep",
        "markov",
        *MK,
        *LOCAL,
        "--grid",
        "corpus={corpus},nosuch.txt",
        fragments=("nosuch.txt",),
        id="sweep-grid-corpus-missing",
    ),
    case("sweep", "markov", *MK, *LOCAL, "--name", "../../x", fragments=("--name",), id="sweep-name-dotdot-path"),
    case("sweep", "markov", *MK, *LOCAL, "--name", "/tmp/x", fragments=("--name",), id="sweep-name-absolute"),
    case("sweep", "markov", *MK, *LOCAL, "--name", ".", fragments=("--name",), id="sweep-name-dot"),
    case("sweep", "markov", *MK, *LOCAL, "--name", "..", fragments=("--name",), id="sweep-name-dotdot"),
    case("sweep", "markov", *MK, *LOCAL, "--name", "a/b", fragments=("--name",), id="sweep-name-slash"),
    case("sweep", "markov", *MK, *LOCAL, "--name", "", fragments=("--name",), id="sweep-name-empty"),
    case("sweep", "markov", *MK, *LOCAL, "--name", "a\nb", fragments=("--name",), id="sweep-name-newline"),
    case("sweep", "markov", *MK, *LOCAL, "--name", "x" * 201, fragments=("--name",), id="sweep-name-too-long"),
    case("sweep", "markov", *MK, *LOCAL, "--root", "afile", fragments=("--root",), id="sweep-root-a-file"),
    case("sweep", "markov", *MK, *LOCAL, "--root", "afile/runs", fragments=("--root",), id="sweep-root-below-a-file"),
    case("sweep", "markov", *MK, *LOCAL, "--root", "r\nr", fragments=("--root",), id="sweep-root-newline"),
    case("sweep", "markov", *MK, *LOCAL, "--mem", "4G\nrm -rf ~ #", fragments=("--mem",), id="sweep-mem-newline"),
    case("sweep", "imdb", *LOCAL, "--grid", "dropout=0.1,nan", fragments=("--dropout",), id="sweep-imdb-dropout-nan"),
    # -- status, collect, report -------------------------------------------------------------------
    case("status", "nosuch", fragments=("nosuch",), id="status-missing"),
    case("status", "adir", fragments=("no run folders",), id="status-no-runs"),
    case("status", "mk", "--interval", "0", fragments=("--interval",), id="status-interval-zero"),
    case("status", "mk", "--interval", "abc", fragments=("--interval",), id="status-interval-abc"),
    case("status", "mk", "--watch", "--interval", "nan", fragments=("--interval",), id="status-interval-nan"),
    case("status", "mk", "--watch", "--interval", "inf", fragments=("--interval",), id="status-interval-inf"),
    case("collect", "nosuch", fragments=("nosuch",), id="collect-missing"),
    case("collect", "adir", fragments=("no run folders",), id="collect-no-runs"),
    case("collect", "mk", "-o", "adir", id="collect-output-a-folder"),
    case("collect", "mk", "-o", "afile/x.csv", id="collect-output-below-a-file"),
    case("report", "nosuch", fragments=("nosuch",), id="report-missing"),
    case("report", "mk", "-o", "afile", id="report-output-a-file"),
    # -- cancel, resubmit ------------------------------------------------------------------------------
    case("cancel", "nosuch", fragments=("nosuch",), id="cancel-missing"),
    case("cancel", "adir", fragments=("no run folders",), id="cancel-no-runs"),
    case("cancel", "nojobid", id="cancel-job-json-without-job-id"),
    case("resubmit", "nosuch", fragments=("nosuch",), id="resubmit-missing"),
    case("resubmit", "adir", fragments=("no run folders",), id="resubmit-no-runs"),
    # -- generate, eval, predict ------------------------------------------------------------------------
    case("generate", "lm", "--temperature", "nan", fragments=("--temperature",), id="generate-temperature-nan"),
    case("generate", "lm", "--temperature", "inf", fragments=("--temperature",), id="generate-temperature-inf"),
    case("generate", "lm", "--temperature", "0", fragments=("--temperature",), id="generate-temperature-zero"),
    case("generate", "lm", "--length", "0", fragments=("--length",), id="generate-length-zero"),
    case("generate", "lm", "--seed", "-1", fragments=("--seed",), id="generate-seed-negative"),
    case("generate", "lm", "--sampler", "beam", fragments=("--sampler",), id="generate-sampler-unknown"),
    case("generate", "nosuch", fragments=("nosuch",), id="generate-not-a-run"),
    case("generate", "mk", fragments=("markov",), id="generate-markov-run"),
    case("generate", "lm", "--seed-text", "call me", fragments=("best.keras",), id="generate-truncated-model"),
    case("generate", "lm-badvocab", "--seed-text", "call me", fragments=("vocab.json",), id="generate-corrupt-vocab"),
    case("eval", "nosuch", fragments=("nosuch",), id="eval-not-a-run"),
    case("eval", "mk", fragments=("markov",), id="eval-markov-run"),
    case("eval", "sent", fragments=("best.keras",), id="eval-truncated-model"),
    case("predict", "sent", "a fine film", fragments=("best.keras",), id="predict-truncated-model"),
    case("predict", "sent-badvocab", "a fine film", fragments=("vocab.json",), id="predict-corrupt-vocab"),
    case("predict", "lm", "a fine film", fragments=("charlm",), id="predict-charlm-run"),
    # -- data, bench, the root -------------------------------------------------------------------
    case("data", "fetch", "nosuch", fragments=("nosuch",), id="data-fetch-unknown"),
    case("data", "path", "nosuch", fragments=("nosuch",), id="data-path-unknown"),
    case("data", "path", "nietzsche", fragments=("seqjobs data fetch nietzsche",), id="data-path-not-cached"),
    case("data", "fetch", "moby-dick", "nietzsche", "--from", "afile", fragments=("--from",), id="data-from-two-names"),
    case("data", "fetch", "moby-dick", "--from", "nosuch", fragments=("nosuch",), id="data-from-missing-file"),
    case("data", "shred", fragments=("shred",), id="data-unknown-subcommand"),
    case("bench", "-o", "adir", fragments=("-o",), id="bench-output-a-folder"),
    case("bench", "-o", "afile/x.csv", fragments=("afile",), id="bench-output-below-a-file"),
    case("bench", "-o", "a\nb.csv", fragments=("-o",), id="bench-output-newline"),
    case("bench", "--only", "gpu", fragments=("gpu",), id="bench-only-unknown"),
    case("dance", fragments=("dance",), id="unknown-command"),
]


# -- the world each case is wrong about ------------------------------------------------------------
def config_record(task: str, config: dict[str, Any]) -> dict[str, Any]:
    """A complete ``config.json`` record, as a run would write it."""
    return {
        "task": task,
        "config": config,
        "seed": config.get("seed"),
        "data": None,
        "seqjobs_version": "0",
        "git_commit": None,
        "host": socket.gethostname(),
        "python": "3",
        "libraries": {},
        "created_at": "2026-01-01T00:00:00+00:00",
    }


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, moby_dick: Path) -> dict[str, Path]:
    """Made once: a small text and a completed Markov run on it (every case gets a copy of the run)."""
    root = tmp_path_factory.mktemp("bad-input-shared")
    corpus = root / "small.txt"
    corpus.write_text(moby_dick.read_text(encoding="utf-8")[:20_000], encoding="utf-8")
    from jobs.cli import app

    made = CliRunner().invoke(
        app, ["run", "markov", "--corpus", str(corpus), "--length", "20", "--out", str(root / "mk")]
    )
    assert made.exit_code == 0, made.output
    return {"root": root, "corpus": corpus, "mk": root / "mk", "config_home": tmp_path_factory.mktemp("config-home")}


def world(here: Path, shared: dict[str, Path]) -> None:
    """Fill the case's folder with everything the cases refer to by relative path."""
    (here / "afile").write_text("just a file\n", encoding="utf-8")
    (here / "adir").mkdir()
    shutil.copytree(shared["mk"], here / "mk")
    (here / "mine").mkdir()  # a user's own folder: not a run
    (here / "mine/metrics.csv").write_text("week,sales\n1,20\n", encoding="utf-8")
    (here / "mine/notes.txt").write_text("mine, not seqjobs'\n", encoding="utf-8")
    (here / "notjson").mkdir()
    (here / "notjson/config.json").write_text("# my own config, not JSON\nrate = 3\n", encoding="utf-8")
    (here / "notjson/result.json").write_text("# my results\n", encoding="utf-8")
    shutil.copytree(shared["mk"], here / "claimed")
    write_json(
        here / "claimed/claim.json",
        {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "job_id": None,
            "attempt": 1,
            "claimed_at": "2026-01-01T00:00:00+00:00",
            "token": "x",
        },
    )
    shutil.copytree(shared["mk"], here / "nojobid")  # running on another node, by a job whose id is lost
    (here / "nojobid/result.json").unlink()
    write_json(
        here / "nojobid/state.json",
        {
            "state": "running",
            "attempt": 1,
            "host": "other-node.invalid",
            "pid": 12345,
            "started_at": "2026-01-01T00:00:00+00:00",
        },
    )
    write_json(
        here / "nojobid/job.json",
        {"executor": "local", "submitted_at": "2026-01-01T00:00:00+00:00", "options": {"executor": "local"}},
    )
    fake_run(
        here / "lm", "charlm", to_dict(CharLMConfig(corpus=str(shared["corpus"]), maxlen=10)), {"chars": list("\n abc")}
    )
    fake_run(here / "lm-badvocab", "charlm", to_dict(CharLMConfig(corpus=str(shared["corpus"]), maxlen=10)), None)
    fake_run(here / "sent", "imdb", to_dict(ImdbConfig()), {"word_index": {"fine": 1, "film": 2}, "punctuation": True})
    fake_run(here / "sent-badvocab", "imdb", to_dict(ImdbConfig()), None)
    (here / "profiles.toml").write_text(PROFILES, encoding="utf-8")
    (here / "latin1.toml").write_bytes('gpu = { partition = "caf\xe9" }\n'.encode("latin-1"))
    (here / "broken.toml").write_text("gpu = { partition = \n", encoding="utf-8")


def fake_run(folder: Path, task: str, config: dict[str, Any], vocab: dict[str, Any] | None) -> None:
    """A trained-looking run folder whose ``best.keras`` is cut short (and ``vocab.json`` damaged when ``None``)."""
    write_json(folder / "config.json", config_record(task, config))
    if vocab is None:
        (folder / "vocab.json").write_text('{"chars": ["a", ', encoding="utf-8")
    else:
        write_json(folder / "vocab.json", vocab)
    (folder / "best.keras").write_bytes(b"PK\x03\x04" + b"\x00" * 60)  # the start of a zip, and nothing more


def snapshot(*roots: Path) -> dict[str, tuple[int, int | None, int | None]]:
    """Every path under ``roots``: its kind, and for files and links their size and mtime."""
    seen: dict[str, tuple[int, int | None, int | None]] = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                path = Path(folder, name)
                st = os.lstat(path)
                kind = stat.S_IFMT(st.st_mode)
                seen[str(path)] = (kind, None, None) if stat.S_ISDIR(st.st_mode) else (kind, st.st_size, st.st_mtime_ns)
    return seen


@pytest.mark.parametrize("bad", CASES)
def test_bad_input_is_one_line_and_changes_nothing(
    bad: Case, shared: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_case(bad, shared, tmp_path, monkeypatch, world)


def check_case(
    bad: Case,
    shared: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    build: Callable[[Path, dict[str, Path]], None],
) -> None:
    """Run one case in a folder ``build`` filled (:func:`world`, or more): one error line, nothing changed on disk."""
    here = tmp_path / "cwd"
    here.mkdir()
    build(here, shared)
    monkeypatch.chdir(here)
    monkeypatch.setenv("SEQJOBS_PROFILES", str(here / "profiles.toml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(shared["config_home"]))  # no user profile file; outside the snapshot
    for key, value in bad.env.items():
        monkeypatch.setenv(key, str(here / value))
    args = [a.replace("{corpus}", str(shared["corpus"])) for a in bad.args]
    before = snapshot(tmp_path, shared["root"])

    from jobs.cli import app

    result = CliRunner().invoke(app, args)

    assert_one_line_error(result, *bad.fragments, only=True)
    assert snapshot(tmp_path, shared["root"]) == before, "the command changed files on disk"


def test_there_are_at_least_sixty_cases_over_every_command() -> None:
    commands = {c.values[0].args[0] for c in CASES}
    assert len(CASES) >= 60
    assert {
        "run",
        "submit",
        "sweep",
        "status",
        "collect",
        "report",
        "cancel",
        "resubmit",
        "generate",
        "eval",
        "predict",
        "data",
        "bench",
    } <= commands
