"""``seqjobs bench``'s job-overhead items: what submitting, sweeping and collecting cost.

These have absolute targets and no tutorial baseline (the tutorial runs
everything by hand in one session). Each goes through seqjobs' real path:

* a trivial job -- :class:`RunJob` with no runs -- submitted through
  :func:`make_executor` until its result exists, locally and on SLURM (only
  where ``sbatch`` exists and the cluster answers);
* a 100-run Markov sweep submitted with ``seqjobs sweep`` on the local
  executor (timed to the end of the command; the cheap runs are then waited
  for, or cancelled, and their folder removed);
* ``seqjobs collect`` over 1,000 run folders copied from one real completed
  run (made with ``seqjobs``' own debug executor).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner

from jobs.executor_opts import ExecutorOptions
from jobs.executors import make_executor
from jobs.jobfn import RunJob, RunSpec
from jobs.submission import submit_runs
from seqtasks import atomic
from seqtasks.bench.harness import Row, Target, alternate, repeat, timed
from seqtasks.bench.sizes import Sizes
from seqtasks.bench.standins import stand_in_text
from seqtasks.rundir import read_json

ITEMS = ["job_local", "job_slurm", "sweep_submit", "collect_runs"]
CHEAP_TEXT_CHARS = 5_000  # the sweep's Markov runs must be cheap: only the submission is measured
EXIT_WAIT_S = 30  # seconds a sweep's worker may take to exit
JOB_WAIT_S = 120  # seconds a trivial job may take before the cluster counts as busy
POLL_S = 0.02


def cluster_answers() -> bool:
    """True when ``sbatch`` is on the PATH and the controller answers ``sinfo``."""
    if not shutil.which("sbatch"):
        return False
    try:
        proc = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and bool(proc.stdout.strip())


def trivial_job_row(kind: str, sizes: Sizes, work: Path) -> Row:
    """Submit -> result of a job that runs nothing, on ``kind`` (local or slurm).

    The figure is the time until the result exists (``job.done()`` polled
    every 20 ms). ``job.result()`` polls once a second
    (``submitit.core.core.Job.wait``); that way is timed too, for the note.
    A job not done within :data:`JOB_WAIT_S` (a full cluster) is cancelled
    and the item reported as skipped.
    """
    title = f"job overhead: trivial job submit -> result, {kind}"
    target = Target("<= 1.5 s", max_value=1.5)
    if kind == "slurm" and not cluster_answers():
        return Row(f"job_{kind}", title, "s", None, None, target, skipped="skipped: no cluster")
    executor = make_executor(ExecutorOptions(executor=kind), work / f"trivial-{kind}")

    def submit_and_wait(poll: float) -> float:
        start = time.perf_counter()
        job = executor.submit(RunJob([]))
        while not job.done():
            if time.perf_counter() - start > JOB_WAIT_S:
                job.cancel()
                raise TimeoutError(f"the trivial {kind} job did not end within {JOB_WAIT_S} s")
            time.sleep(poll)
        if job.result() != []:
            raise RuntimeError(f"trivial {kind} job returned {job.result()!r}")
        return time.perf_counter() - start

    try:
        plain, polled = alternate(lambda: submit_and_wait(1.0), lambda: submit_and_wait(POLL_S), sizes.repeats)
    except TimeoutError as err:
        return Row(f"job_{kind}", title, "s", None, None, target, skipped=f"skipped: {err}")
    return Row(f"job_{kind}", title, "s", None, polled, target,
               note=f"RunJob with no runs through make_executor, until its result exists; waiting as job.result() "
               f"does (a poll a second): {plain.median:.2f} s ({plain.lo:.2f}-{plain.hi:.2f})")


def cheap_corpus(work: Path) -> Path:
    """A short text file, so the sweep's runs cost next to nothing while it is timed."""
    path = work / "cheap.txt"
    atomic.write_text(path, stand_in_text(CHEAP_TEXT_CHARS))
    return path


def sweep_row(sizes: Sizes, work: Path, corpus: Path) -> Row:
    """``seqjobs sweep markov`` of ``sweep_runs`` runs on the local executor; the runs are cleaned up after."""
    from jobs.cli import app

    runner = CliRunner()
    n = sizes.sweep_runs
    seeds = ",".join(map(str, range(n)))
    attempt = iter(range(1 << 30))

    def submit_sweep() -> float:
        name = f"sweep-{next(attempt)}"
        args = ["sweep", "markov", "--corpus", str(corpus), "--length", "10", "--grid", f"seed={seeds}",
                "--executor", "local", "--root", str(work), "--name", name]
        start = time.perf_counter()
        result = runner.invoke(app, args)
        seconds = time.perf_counter() - start
        cancel_and_remove(runner, work / name)
        if result.exit_code != 0:
            raise RuntimeError(f"seqjobs sweep failed ({result.exit_code}): {result.output.strip()[-300:]}")
        return seconds

    return Row("sweep_submit", f"{n}-run sweep submitted", "s", None, repeat(submit_sweep, sizes.repeats),
               Target("<= 5 s", max_value=5.0),
               note="seqjobs sweep markov --grid seed=0..N-1 --executor local, in-process, timed to the command's end; "
               "the (cheap) runs are waited for, cancelled if slow, and removed before the next repeat")


def cancel_and_remove(runner: CliRunner, sweep: Path) -> None:
    """Let the sweep's cheap runs end (``seqjobs cancel`` what is left after a while), delete its folder.

    Its worker processes are this process's children: each is waited for, so
    none is left behind, and the folder is removed only once they are gone.
    """
    from jobs.cli import app

    pids = {int(job["job_id"]) for run in sweep.iterdir() if run.is_dir()
            if (job := read_json(run / "job.json")) and str(job.get("job_id", "")).isdigit()}
    deadline = time.monotonic() + EXIT_WAIT_S
    while pids and time.monotonic() < deadline:
        pids = {pid for pid in pids if not _reaped(pid)}
        time.sleep(0.05)
    if pids:
        runner.invoke(app, ["cancel", str(sweep)])
        deadline = time.monotonic() + EXIT_WAIT_S
        while pids and time.monotonic() < deadline:
            pids = {pid for pid in pids if not _reaped(pid)}
            time.sleep(0.05)
    for pid in pids:  # ignored SIGINT: our own child, stop it
        os.kill(pid, signal.SIGKILL)
        _reaped(pid)
    shutil.rmtree(sweep, ignore_errors=True)


def _reaped(pid: int) -> bool:
    """True once our child ``pid`` has exited (reaping it)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # already reaped (by submitit's Popen)
        return True
    return done == pid


def fabricate_runs(work: Path, corpus: Path, count: int) -> Path:
    """``count`` run folders (10 sweeps) copied from one real completed Markov run."""
    template = work / "template"
    with contextlib.redirect_stdout(io.StringIO()):  # the Markov task prints its sample
        submit_runs([RunSpec("markov", {"corpus": str(corpus), "length": 100}, str(template))],
                    ExecutorOptions(executor="debug"), template)
    config, result = read_json(template / "config.json"), read_json(template / "result.json")
    if not config or not result or result.get("status") != "completed":
        raise RuntimeError(f"the template Markov run did not complete: {result}")
    root = work / "many"
    for i in range(count):
        run = root / f"sweep-{i % 10}" / f"seed={i}"
        shutil.copytree(template, run, ignore=shutil.ignore_patterns(".submitit"))
        config["config"]["seed"] = i
        result["run_dir"] = str(run)
        atomic.write_json(run / "config.json", config)
        atomic.write_json(run / "result.json", result)
    return root


def collect_row(sizes: Sizes, work: Path, corpus: Path) -> Row:
    """``seqjobs collect`` over ``collect_runs`` run folders."""
    from jobs.cli import app

    runner = CliRunner()
    root = fabricate_runs(work, corpus, sizes.collect_runs)
    out = work / "collected.csv"

    def collect() -> None:
        result = runner.invoke(app, ["collect", str(root), "-o", str(out)])
        if result.exit_code != 0:
            raise RuntimeError(f"seqjobs collect failed ({result.exit_code}): {result.output.strip()[-300:]}")

    seconds = repeat(timed(collect), sizes.repeats)
    with out.open(newline="", encoding="utf-8") as fh:
        rows = sum(1 for _ in csv.reader(fh)) - 1
    if rows != sizes.collect_runs:
        raise RuntimeError(f"seqjobs collect wrote {rows} rows for {sizes.collect_runs} runs")
    return Row("collect_runs", f"collect over {sizes.collect_runs:,} run folders", "s", None, seconds,
               Target("<= 2 s", max_value=2.0),
               note="seqjobs collect (CSV, summary, Parquet if pyarrow), in-process, on copies of a real Markov run")


def job_rows(sizes: Sizes) -> list[Row]:
    """Every job-overhead row, in :data:`ITEMS` order; temporary files are removed after."""
    runs = Path("runs")  # where seqjobs keeps run folders: visible to SLURM nodes, ignored by git
    runs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".bench-", dir=runs) as tmp:
        work = Path(tmp).resolve()
        corpus = cheap_corpus(work)
        return [
            trivial_job_row("local", sizes, work),
            trivial_job_row("slurm", sizes, work),
            sweep_row(sizes, work, corpus),
            collect_row(sizes, work, corpus),
        ]
