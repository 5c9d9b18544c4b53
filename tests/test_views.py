"""The read-only views -- ``status``, ``collect``, ``report``, ``--wait`` -- on damaged and hostile folders.

A corrupt-state matrix: a real sweep of completed Markov runs, one run of it
damaged in one way per case; every view must exit 0 and show the other runs;
each view that reads the damaged file names the run and the file in exactly
one warning and counts it ``unreadable``, and a view that does not read it
(``status`` reads an ended run's result and job records only) shows the run
as it ended. Then the truth rules of ``status`` (stuck, cancelled, owned, resubmitted,
pending), the shared waiting rule of ``--wait`` and ``--watch``, the security
rules (no unpickling, no symlink followed out of a run folder) and the
options checked before any run is read. Live and dead owners are real
processes started (and reaped) by the tests.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from jobs.cli import app
from jobs.monitor import status as st
from jobs.monitor import waiting
from jobs.monitor.logs import job_log_line
from seqtasks.markov.config import MarkovConfig
from seqtasks.rundir import RunDir
from seqtasks.rundir.claim import process_start
from seqtasks.rundir.records import JobRecord
from seqtasks.runner import execute
from tests.helpers import REPO, assert_one_line_error, json_lines, small_text, streams

RUNS = ("order=1_seed=0", "order=1_seed=1", "order=2_seed=0")
DAMAGED = RUNS[1]
HERE = os.uname().nodename


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, moby_dick: Path) -> Path:
    """A sweep of three real completed Markov runs, each with a two-row metrics.csv (for --per-epoch)."""
    base = tmp_path_factory.mktemp("pristine")
    text = small_text(base, moby_dick)
    sweep = base / "runs/s"
    for name in RUNS:
        order, seed = (int(part.split("=")[1]) for part in name.split("_"))
        execute("markov", MarkovConfig(corpus=str(text), order=order, seed=seed, length=50), sweep / name)
        for epoch in (1, 2):
            RunDir(sweep / name).append_metrics({"epoch": epoch, "loss": 1.0 / epoch, "seconds": 0.1})
    return sweep


@pytest.fixture
def sweep(pristine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the pristine sweep at ``runs/s``, with the test in ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(pristine, tmp_path / "runs/s", symlinks=True)
    return Path("runs/s")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def stderr_of(result: Result) -> str:
    return streams(result)[1]


def warning_lines(result: Result) -> list[str]:
    return [ln for ln in stderr_of(result).splitlines() if ln.startswith("warning:")]


def assert_clean_exit(result: Result) -> None:
    stdout, stderr = streams(result)
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.exception!r}\n{stdout}\n{stderr}"
    assert "Traceback" not in stdout + stderr


# -- the corrupt-state matrix ---------------------------------------------------------------------


def _write(name: str, data: str | bytes) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        path = run / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")

    return damage


def _edit(name: str, change: Callable[[dict], object]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        obj = json.loads((run / name).read_text(encoding="utf-8"))
        replaced = change(obj)
        (run / name).write_text(json.dumps(obj if replaced is None else replaced), encoding="utf-8")

    return damage


def _directory(name: str) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        (run / name).unlink(missing_ok=True)
        (run / name).mkdir()

    return damage


def _symlink_out(name: str) -> Callable[[Path], None]:
    """Replace ``name`` by a symlink to a well-formed copy outside the run folder."""

    def damage(run: Path) -> None:
        outside = run.parent.parent.parent / f"outside-{name.replace('/', '_')}"
        shutil.copy(run / name, outside)
        (run / name).unlink()
        (run / name).symlink_to(outside.resolve())

    return damage


def _symlink_loop(name: str) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        (run / name).unlink(missing_ok=True)
        (run / name).symlink_to(name)

    return damage


def _remove(name: str) -> Callable[[Path], None]:
    return lambda run: (run / name).unlink()


def _checkpoints_outside(run: Path) -> None:
    outside = run.parent.parent.parent / "elsewhere"
    outside.mkdir()
    (outside / "state.json").write_text('{"epoch": 2, "best_epoch": 1, "best_val_loss": 0.5}')
    (run / "checkpoints").symlink_to(outside.resolve(), target_is_directory=True)


def _run_folder_outside(run: Path) -> None:
    outside = run.parent.parent.parent / "moved-run"
    shutil.move(str(run), outside)
    run.symlink_to(outside.resolve(), target_is_directory=True)


def _without(key: str) -> Callable[[dict], None]:
    return lambda obj: obj.pop(key)


def _set(key: str, value: object) -> Callable[[dict], None]:
    return lambda obj: obj.__setitem__(key, value)


def _job(extra: dict) -> Callable[[Path], None]:
    record = {"job_id": "4242", "executor": "local", "submitted_at": "2026-01-01T00:00:00+00:00", **extra}
    return _write("job.json", json.dumps({k: v for k, v in record.items() if v is not None}))


@dataclass(frozen=True)
class Case:
    """One way to damage a run folder; ``file`` is what the warning must name."""

    id: str
    file: str
    damage: Callable[[Path], None]


CASES = [
    Case("metrics-binary", "metrics.csv", _write("metrics.csv", b"epoch,loss\n1,\x00\x01\x02\n")),
    Case("metrics-not-utf8", "metrics.csv", _write("metrics.csv", b"epoch,loss\n1,0.5\xff\xfe\n")),
    Case("metrics-non-numeric", "metrics.csv", _write("metrics.csv", "epoch,loss,seconds\n1,0.5,0.1\n2,seconds,0.1\n")),
    Case(
        "metrics-double-header",
        "metrics.csv",
        _write("metrics.csv", "epoch,loss,seconds\n1,0.5,0.1\nepoch,loss,seconds\n2,0.4,0.1\n"),
    ),
    Case("metrics-ragged", "metrics.csv", _write("metrics.csv", "epoch,loss,seconds\n1,0.5\n")),
    Case("metrics-directory", "metrics.csv", _directory("metrics.csv")),
    Case("metrics-symlink-loop", "metrics.csv", _symlink_loop("metrics.csv")),
    Case("metrics-symlink-outside", "metrics.csv", _symlink_out("metrics.csv")),
    Case(
        "result-truncated",
        "result.json",
        lambda run: (run / "result.json").write_bytes((run / "result.json").read_bytes()[:40]),
    ),
    Case("result-invalid", "result.json", _write("result.json", "{not json")),
    Case("result-binary", "result.json", _write("result.json", b"\x80\x04\x95PK\x00\x00")),
    Case("result-without-main-metric", "result.json", _edit("result.json", _without("heldout_bits_per_symbol"))),
    Case("result-main-metric-null", "result.json", _edit("result.json", _set("heldout_bits_per_symbol", None))),
    Case("result-nan", "result.json", _write("result.json", '{"status": "completed", "heldout_bits_per_symbol": NaN}')),
    Case("result-list", "result.json", _write("result.json", "[1, 2, 3]")),
    Case("result-unknown-status", "result.json", _edit("result.json", _set("status", "great"))),
    Case("result-symlink-outside", "result.json", _symlink_out("result.json")),
    Case("result-directory", "result.json", _directory("result.json")),
    Case("state-wrong-types", "state.json", _edit("state.json", _set("attempt", "three"))),
    Case("state-unknown-state", "state.json", _edit("state.json", _set("state", "exploded"))),
    Case("state-not-an-object", "state.json", _write("state.json", '"running"')),
    Case("job-without-job-id", "job.json", _job({"job_id": None})),
    Case("job-non-string-job-id", "job.json", _job({"job_id": 4242})),
    Case("job-invalid", "job.json", _write("job.json", "{")),
    Case("config-missing", "config.json", _remove("config.json")),
    Case("config-invalid", "config.json", _write("config.json", '{"task": "markov", ')),
    Case("config-unknown-task", "config.json", _edit("config.json", _set("task", "nope"))),
    Case(
        "config-bad-parameter",
        "config.json",
        _edit("config.json", lambda obj: obj["config"].__setitem__("order", "abc")),
    ),
    Case("config-symlink-outside", "config.json", _symlink_out("config.json")),
    Case("checkpoints-garbage", "checkpoints/state.json", _write("checkpoints/state.json", "garbage")),
    Case(
        "checkpoints-inconsistent",
        "checkpoints/state.json",
        _write("checkpoints/state.json", '{"epoch": 2, "best_epoch": 5, "best_val_loss": 0.5}'),
    ),
    Case("checkpoints-symlink-outside", "checkpoints", _checkpoints_outside),
    Case("claim-garbage", "claim.json", _write("claim.json", '{"host": 1}')),
    Case("run-folder-symlink", "run folder is a symbolic link", _run_folder_outside),
]


def _assert_one_warning(result: Result, case: Case) -> None:
    lines = warning_lines(result)
    assert len(lines) == 1, f"{case.id}: expected one warning, got {lines}\n{stderr_of(result)}"
    assert f"runs/s/{DAMAGED}" in lines[0] and case.file in lines[0], lines[0]
    others = [ln for ln in stderr_of(result).splitlines() if DAMAGED in ln and ln != lines[0]]
    assert not others, f"the damaged run is named again on stderr: {others}"


#: the views, by how much of an ended run each reads (jobs.monitor.status.read_run's depths)
VIEWS = ("status", "collect", "per-epoch", "report")
#: the files of an ended run each view reads: status its result and job records, collect the config too,
#: collect --per-epoch and report every file
READ_BY = {
    "result.json": VIEWS,
    "job.json": VIEWS,
    "run folder is a symbolic link": VIEWS,
    "config.json": ("collect", "per-epoch", "report"),
}


def flagged_by(case: Case) -> tuple[str, ...]:
    """The views that read the damaged file, and so must report it."""
    return READ_BY.get(case.file, ("per-epoch", "report"))


def _assert_flagged_or_shown(result: Result, case: Case, view: str, text: str) -> None:
    """A view that reads the damaged file warns once and counts the run unreadable; any other shows it completed."""
    if view in flagged_by(case):
        _assert_one_warning(result, case)
        assert "3 runs: 2 completed, 1 unreadable" in text
    else:
        assert warning_lines(result) == [], f"{case.id}: {view} does not read {case.file}"
        assert "3 runs: 3 completed" in text


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_one_damaged_run_is_reported_where_read_and_the_rest_shown(sweep: Path, case: Case) -> None:
    case.damage(sweep / DAMAGED)
    healthy = [name for name in RUNS if name != DAMAGED]
    status_flags = "status" in flagged_by(case)

    table = invoke("status", str(sweep))
    assert_clean_exit(table)
    _assert_flagged_or_shown(table, case, "status", table.stdout)
    assert all(name in table.stdout for name in RUNS)

    listed = invoke("status", str(sweep), "--json")
    assert_clean_exit(listed)
    rows = {row["run"]: row for row in json_lines(listed.stdout)}
    assert (
        (rows[DAMAGED]["state"] == "unreadable" and case.file in rows[DAMAGED]["error"])
        if status_flags
        else rows[DAMAGED]["state"] == "completed"
    )
    assert [rows[name]["state"] for name in healthy] == ["completed", "completed"]

    for view, extra in (("collect", []), ("per-epoch", ["--per-epoch"])):
        collected = invoke("collect", str(sweep), "-o", "out/runs.csv", *extra)
        assert_clean_exit(collected)
        _assert_flagged_or_shown(collected, case, view, stderr_of(collected))
        table_rows = list(csv.DictReader(io.StringIO(Path("out/runs.csv").read_text())))
        kept = healthy if view in flagged_by(case) else sorted(RUNS)
        assert sorted(r["run"] for r in table_rows) == kept
        if extra:
            epochs = list(csv.DictReader(io.StringIO(Path("out/runs.epochs.csv").read_text())))
            assert sorted({r["run"] for r in epochs}) == healthy and len(epochs) == 4

    reported = invoke("report", str(sweep), "-o", "report")
    assert_clean_exit(reported)
    _assert_one_warning(reported, case)
    page = Path("report/report.md").read_text(encoding="utf-8")
    assert "3 runs: 2 completed, 1 unreadable" in page and DAMAGED in page.split("## Runs not in this report")[1]


def test_the_matrix_covers_at_least_fifteen_cases() -> None:
    assert len(CASES) >= 15 and len({c.id for c in CASES}) == len(CASES)


def test_nothing_readable_is_one_error_line(sweep: Path) -> None:
    for name in RUNS:
        (sweep / name / "result.json").write_text("{")
    for args in (
        ["status", str(sweep)],
        ["status", str(sweep), "--json"],
        ["collect", str(sweep), "-o", "o.csv"],
        ["collect", str(sweep), "-o", "o.csv", "--per-epoch"],
        ["report", str(sweep), "-o", "rep"],
    ):
        result = invoke(*args)
        assert_one_line_error(result, "nothing readable")
        assert len(warning_lines(result)) == 3
    assert not Path("o.csv").exists() and not Path("rep/report.md").exists()


def test_a_linked_path_given_is_followed(sweep: Path) -> None:
    """Only links found below the path given are refused; the path itself may be a link (runs/latest)."""
    Path("latest").symlink_to((sweep / DAMAGED).resolve(), target_is_directory=True)
    Path("sweep-link").symlink_to(sweep.resolve(), target_is_directory=True)
    assert [r.state for r in st.statuses(Path("latest"))] == ["completed"]
    assert [r.state for r in st.statuses(Path("sweep-link"))] == ["completed"] * 3


def test_a_folder_without_config_is_found_alone(sweep: Path) -> None:
    """find_runs finds a run that lost its config.json, also when it is the path given."""
    (sweep / DAMAGED / "config.json").unlink()
    assert Path(sweep / DAMAGED) in st.find_runs(sweep)
    assert st.find_runs(sweep / DAMAGED) == [sweep / DAMAGED]
    result = invoke("collect", str(sweep / DAMAGED), "-o", "lost.csv")  # status reads no config of an ended run
    assert_one_line_error(result, "nothing readable")
    assert "no config.json, though it holds" in warning_lines(result)[0]
    assert "1 run: 1 completed" in invoke("status", str(sweep / DAMAGED)).stdout


# -- NaN and None figures: a diverged run is still a run to show ------------------------------------


def test_report_on_nan_and_none_figures(sweep: Path) -> None:
    """Non-finite figures are ``null`` (JSON has no NaN); a report on them must not crash."""
    _edit("result.json", _set("fit_seconds", None))(sweep / RUNS[0])
    _edit("result.json", _set("heldout_bits_per_symbol", None))(sweep / RUNS[1])
    (sweep / RUNS[2] / "metrics.csv").write_text("epoch,loss,seconds\n1,nan,0.1\n2,inf,0.1\n")
    result = invoke("report", str(sweep), "-o", "rep")
    assert_clean_exit(result)
    assert "heldout_bits_per_symbol" in warning_lines(result)[0]
    assert "3 runs: 2 completed, 1 unreadable" in Path("rep/report.md").read_text()
    collected = invoke("collect", str(sweep), "-o", "c.csv", "--per-epoch")
    assert_clean_exit(collected)
    for name in RUNS:
        _edit("result.json", _set("heldout_bits_per_symbol", None))(sweep / name)
    assert_one_line_error(invoke("report", str(sweep), "-o", "rep2"), "nothing readable")


# -- security: nothing unpickled, no symlink followed out ------------------------------------------


class Marker:
    """Unpickling this creates a file: proof that someone ran a crafted pickle."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.path,))


def test_a_crafted_result_pickle_is_never_loaded(sweep: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    monkeypatch.setattr(
        st.scheduler, "job_states", lambda ids: {}
    )  # no scheduler needed (a stopped one takes seconds to fail)

    evil, marker = tmp_path / "evil", tmp_path / "PWNED"
    evil.mkdir()
    run = sweep / DAMAGED
    (run / "result.json").unlink()
    _edit("state.json", _set("state", "running"))(run)
    dead = _reaped_pid()
    for job_id in (str(dead), "4242"):
        (evil / f"{job_id}_0_result.pkl").write_bytes(pickle.dumps(("error", Marker(marker))))
    (run / "job.json").write_text(
        json.dumps(
            {
                "job_id": str(dead),
                "executor": "local",
                "submitted_at": "2026-01-01T00:00:00+00:00",
                "submitit_folder": str(evil),
                "stderr": str(evil / "log.err"),
            }
        )
    )
    for args in (
        ["status", str(sweep)],
        ["status", str(sweep), "--json"],
        ["report", str(sweep), "-o", "rep"],
        ["collect", str(sweep), "-o", "c.csv"],
    ):
        assert_clean_exit(invoke(*args))
    _edit("job.json", _set("executor", "slurm"))(run)
    assert_clean_exit(invoke("status", str(sweep)))
    assert not marker.exists(), "a crafted pickle was loaded"
    readers = [
        REPO / "jobs" / name
        for name in ("monitor/status.py", "monitor/collect.py", "monitor/waiting.py", "cli/views.py", "cli/report.py")
    ]
    for source in readers + sorted((REPO / "jobs/report").glob("*.py")):
        assert "import pickle" not in source.read_text(), source


def test_job_logs_are_read_only_inside_the_run_or_its_sweep(sweep: Path, tmp_path: Path) -> None:
    (tmp_path / "runs/s/sweep.json").write_text("{}")
    secret = tmp_path / "secret.txt"
    secret.write_text("the password is hunter2\n")
    inside = tmp_path / "runs/s/.submitit/7/7_0_log.err"
    inside.parent.mkdir(parents=True)
    inside.write_text("Traceback ...\nValueError: the real reason\nsubmitit WARNING (x) - noise\n")
    link = inside.with_name("link.err")
    link.symlink_to(secret)
    files = st.read_run(sweep / DAMAGED)

    def line(stderr: Path) -> str:
        files.job = JobRecord(job_id="7", executor="slurm", submitted_at="x", stderr=str(stderr))
        return job_log_line(files)

    assert line(inside.resolve()) == "ValueError: the real reason"
    assert line(Path("runs/s/.submitit/7/7_0_log.err")) == "ValueError: the real reason"
    assert line(secret) == ""
    assert line(link) == ""
    assert line(tmp_path / "runs/s/.submitit/7/../../../../secret.txt") == ""


# -- status tells the truth -------------------------------------------------------------------------


def _reaped_pid() -> int:
    """The pid of a process that has ended and been reaped: provably dead."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _stamp(seconds_ago: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)).isoformat(timespec="seconds")


def _unfinished(run: Path, state: str, **fields: object) -> None:
    """Make a completed run look like one that stopped in ``state`` (no result.json)."""
    (run / "result.json").unlink(missing_ok=True)
    record = json.loads((run / "state.json").read_text())
    record.update({"state": state, "ended_at": None, **fields})
    (run / "state.json").write_text(json.dumps(record))


def _local_job(run: Path, job_id: int | str, submitted_ago: float = 600) -> None:
    (run / "job.json").write_text(
        json.dumps(
            {
                "job_id": str(job_id),
                "executor": "local",
                "submitted_at": _stamp(submitted_ago),
                "host": HERE,
            }
        )
    )


def _claim(run: Path, pid: int) -> None:
    (run / "claim.json").write_text(
        json.dumps(
            {
                "host": HERE,
                "pid": pid,
                "token": "t",
                "claimed_at": _stamp(5),
                "pid_start": process_start(pid),
            }
        )
    )


def _row(sweep: Path, name: str = DAMAGED) -> st.RunStatus:
    return {r.run: r for r in st.statuses(sweep)}[name]


def test_a_requeued_run_whose_local_job_is_gone_is_stuck(sweep: Path) -> None:
    run = sweep / DAMAGED
    _unfinished(run, "requeued", attempt=6, ended_at=_stamp(60))
    _local_job(run, _reaped_pid())
    row = _row(sweep)
    assert row.state == "stuck"
    assert "nothing will resume it" in row.error and f"seqjobs resubmit --missing {run}" in row.error
    shown = invoke("status", str(sweep))
    assert "1 stuck" in shown.stdout and "seqjobs resubmit --missing" in shown.stdout


def test_a_requeued_run_whose_local_job_lives_is_requeued(sweep: Path, live_process: subprocess.Popen[bytes]) -> None:
    run = sweep / DAMAGED
    _unfinished(run, "requeued", ended_at=_stamp(5))
    _local_job(run, live_process.pid)
    assert _row(sweep).state == "requeued"
    (run / "state.json").unlink()
    assert _row(sweep).state == "pending"  # its worker has not got to it yet


def test_running_means_a_live_owner(sweep: Path) -> None:
    run = sweep / DAMAGED
    _unfinished(run, "running", started_at=_stamp(30))
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        _claim(run, owner.pid)
        row = _row(sweep)
        assert row.state == "running" and row.elapsed_s is not None and row.elapsed_s >= 30
    finally:
        owner.kill()
        owner.wait()
    assert _row(sweep).state == "stuck"  # `seqjobs run` killed: its owner is provably dead, no job will resume it
    _claim(run, _reaped_pid())
    _local_job(run, _reaped_pid())
    row = _row(sweep)
    assert row.state == "stuck" and "has ended" in row.error


def test_a_cancelled_runs_clock_stops(sweep: Path) -> None:
    run = sweep / DAMAGED
    _unfinished(run, "cancelled", started_at=_stamp(500), ended_at=_stamp(458))
    first = _row(sweep)
    assert first.state == "cancelled" and first.elapsed_s == 42
    # cancelled by the scheduler (scancel) without a word in state.json: the clock stops at its last write
    _unfinished(run, "running", started_at=_stamp(500))
    (run / "job.json").write_text(json.dumps({"job_id": "77", "executor": "slurm", "submitted_at": _stamp(600)}))
    written = datetime.now(timezone.utc).timestamp() - 470
    for name in ("state.json", "metrics.csv"):
        os.utime(run / name, (written, written))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            st.scheduler, "job_states", lambda ids: {"77": {"state": "cancelled", "node": "n1", "source": "sacct"}}
        )
        row = _row(sweep)
    assert row.state == "cancelled" and 29 <= (row.elapsed_s or 0) <= 31


@pytest.mark.parametrize(
    ("slurm", "recorded", "shown"),
    [
        ("pending", None, "pending"),  # a pending array element (sacct empty, squeue answered)
        ("pending", "requeued", "requeued"),
        ("running", "requeued", "running"),
        ("completed", "running", "stuck"),  # the job ended, nothing wrote a result
        ("failed", "running", "failed"),
        ("unknown", "running", "unknown"),
    ],
)
def test_slurm_states_map(
    sweep: Path, monkeypatch: pytest.MonkeyPatch, slurm: str, recorded: str | None, shown: str
) -> None:
    run = sweep / DAMAGED
    _unfinished(run, recorded or "running", started_at=_stamp(100))
    if recorded is None:
        (run / "state.json").unlink()
    (run / "job.json").write_text(json.dumps({"job_id": "75_3", "executor": "slurm", "submitted_at": _stamp(200)}))
    monkeypatch.setattr(
        st.scheduler, "job_states", lambda ids: {"75_3": {"state": slurm, "node": "", "source": "squeue"}}
    )
    assert _row(sweep).state == shown


def test_a_run_that_ends_while_the_scheduler_is_asked_is_not_stuck(
    sweep: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folders are read, then sacct answers "completed": a run that wrote its result in between is read again."""
    run = sweep / DAMAGED
    result = (run / "result.json").read_bytes()
    _unfinished(run, "running", started_at=_stamp(100))
    (run / "job.json").write_text(json.dumps({"job_id": "75_3", "executor": "slurm", "submitted_at": _stamp(200)}))

    def job_ends_meanwhile(ids: list[str]) -> dict:
        (run / "result.json").write_bytes(result)  # the run's last act, as its job ends
        return {"75_3": {"state": "completed", "node": "", "source": "sacct"}}

    monkeypatch.setattr(st.scheduler, "job_states", job_ends_meanwhile)
    assert _row(sweep).state == "completed"


def test_a_resubmitted_failed_run_asks_its_new_job(sweep: Path, live_process: subprocess.Popen[bytes]) -> None:
    run = sweep / DAMAGED
    _edit("result.json", lambda r: r.update(status="failed", error="Traceback\nValueError: bad", ended_at=_stamp(100)))(
        run
    )
    _local_job(run, live_process.pid, submitted_ago=10)
    assert _row(sweep).state == "pending"
    _local_job(run, _reaped_pid(), submitted_ago=10)  # the new job went without running it: the failure stands
    row = _row(sweep)
    assert (row.state, row.error) == ("failed", "ValueError: bad")
    _local_job(run, live_process.pid, submitted_ago=200)  # submitted before it failed: not a resubmission
    assert _row(sweep).state == "failed"


def test_never_submitted_is_missing(sweep: Path) -> None:
    run = sweep / DAMAGED
    for name in ("result.json", "state.json"):
        (run / name).unlink()
    assert _row(sweep).state == "missing"


# -- --wait and --watch: one loop, one rule ---------------------------------------------------------


@pytest.fixture
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiting, "PATIENCE", 3)
    monkeypatch.setattr(waiting, "WAIT_INTERVAL", 0.01)


def test_wait_exits_1_with_counts_unless_every_run_completed(
    sweep: Path, quick_polls: None, capsys: pytest.CaptureFixture[str]
) -> None:
    import typer

    waiting.report_end(sweep)  # all completed: returns
    assert "3 runs: 3 completed" in capsys.readouterr().out
    run = sweep / DAMAGED
    _unfinished(run, "requeued", attempt=6, ended_at=_stamp(5))  # its controller is gone: nothing restarts it
    _local_job(run, _reaped_pid())
    with pytest.raises(typer.Exit) as exit_:
        waiting.report_end(sweep)
    assert exit_.value.exit_code == 1
    out, err = capsys.readouterr()
    assert "3 runs: 2 completed, 1 stuck" in out and f"stuck {DAMAGED}: requeued at attempt 6" in err


def test_wait_and_watch_give_up_on_unknown_after_the_same_polls(
    sweep: Path, quick_polls: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = sweep / DAMAGED
    _unfinished(run, "running")
    (run / "job.json").write_text(json.dumps({"job_id": "99", "executor": "slurm", "submitted_at": _stamp(5)}))
    monkeypatch.setattr(st.scheduler, "job_states", lambda ids: {})
    calls: list[int] = []
    real = waiting.statuses
    monkeypatch.setattr(waiting, "statuses", lambda root: calls.append(1) or real(root))
    rows = waiting.wait_for(sweep)
    assert [r.state for r in rows if r.run == DAMAGED] == ["unknown"] and len(calls) == 3
    calls.clear()
    watched = invoke("status", str(sweep), "--watch", "--interval", "0.01", "--json")
    assert_clean_exit(watched)
    assert len(calls) == 3


def test_watch_stops_when_every_run_has_ended(sweep: Path) -> None:
    result = invoke("status", str(sweep), "--watch", "--interval", "0.01")
    assert_clean_exit(result)
    assert result.stdout.count("3 runs: 3 completed") == 1


@pytest.mark.slow
def test_sweep_wait_exits_1_when_a_run_fails(tmp_path: Path, small_text: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers import seqjobs

    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    proc = seqjobs(
        "sweep",
        "markov",
        "--grid",
        f"corpus={small_text},{empty}",
        "--executor",
        "local",
        "--name",
        "w",
        "--wait",
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "2 runs: 1 completed, 1 failed" in proc.stdout


# -- options checked before any run is read ----------------------------------------------------------


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("interval", ["nan", "inf", "-inf", "0", "-1", "1e9"])
def test_bad_watch_interval_is_one_line(sweep: Path, interval: str) -> None:
    assert_one_line_error(invoke("status", str(sweep), "--watch", "--interval", interval), "--interval")
    assert_one_line_error(invoke("status", "nowhere", "--watch", "--interval", interval), "--interval")


@pytest.mark.parametrize(
    ("output", "fragment"),
    [
        ("adir", "is a folder"),
        ("afile/x.csv", "afile is not a folder"),
        ("afile/sub/x.csv", "afile is not a folder"),
        ("x" * 300 + ".csv", "longer than a file name"),
        ("clash.csv", "clash.summary.csv is a folder"),
    ],
)
def test_bad_collect_output_is_one_line_and_writes_nothing(
    sweep: Path, tmp_path: Path, output: str, fragment: str
) -> None:
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("mine")
    (tmp_path / "clash.summary.csv").mkdir()
    before = _tree(tmp_path)
    for extra in ([], ["--per-epoch"]):
        assert_one_line_error(invoke("collect", str(sweep), "-o", output, *extra), fragment)
        assert_one_line_error(invoke("collect", "nowhere", "-o", output, *extra), fragment)  # before reading runs
    assert _tree(tmp_path) == before


def test_collect_epochs_output_clash_is_checked_too(sweep: Path, tmp_path: Path) -> None:
    (tmp_path / "c.epochs.csv").mkdir()
    assert_one_line_error(invoke("collect", str(sweep), "-o", "c.csv", "--per-epoch"), "c.epochs.csv is a folder")
    assert not (tmp_path / "c.csv").exists()
    assert_clean_exit(invoke("collect", str(sweep), "-o", "c.csv"))  # without --per-epoch it is not written


def test_bad_report_output_is_checked_before_reading(sweep: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("mine")
    assert_one_line_error(invoke("report", "nowhere", "-o", "afile"), "afile exists and is not a folder")
    assert_one_line_error(invoke("report", str(sweep), "-o", "afile/sub"), "afile is not a folder")


# -- start-up stays light ----------------------------------------------------------------------------


@pytest.mark.slow
def test_status_and_collect_import_neither_tensorflow_nor_pandas_needlessly(sweep: Path, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from jobs.cli import app\n"
        "r = CliRunner().invoke(app, ['status', 'runs/s'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'pandas' not in sys.modules and 'matplotlib' not in sys.modules, 'status imported pandas'\n"
        "r = CliRunner().invoke(app, ['collect', 'runs/s', '-o', 'x.csv'])\n"
        "assert r.exit_code == 0, r.output\n"
        "bad = [m for m in ('tensorflow', 'keras', 'matplotlib', 'click') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True, timeout=120)
