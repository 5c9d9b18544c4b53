"""``seqjobs bench``'s job-overhead items: what submitting, sweeping and collecting cost.

These have absolute targets and no tutorial baseline (the tutorial runs
everything by hand in one session). Each goes through the functions the
commands call (the engine and the monitor, never the CLI):

* a trivial job -- :class:`RunJob` with no runs -- submitted through
  :func:`make_executor` until its result exists, locally and on SLURM (only
  where ``sbatch`` exists and the cluster answers);
* a 100-run Markov sweep on the local executor, expanded and submitted as
  ``seqjobs sweep`` does (:func:`expand`, :func:`launch_sweep`); the cheap
  runs are then waited for, or cancelled (:func:`cancel_runs`), and their
  folder removed;
* :func:`collect` and its files, as ``seqjobs collect`` writes them, over
  1,000 run folders copied from one real completed run (made by a local
  job of seqjobs, as a user's runs are);
* the CPU time of ``seqjobs --help`` and of ``seqjobs status`` on ten runs,
  as whole processes, beside that of ``python -c pass``.
* taking the code snapshot every submission takes, new and already stored
  (:mod:`jobs.bench.snapshot_items`).
"""

from __future__ import annotations

import contextlib
import csv
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, Literal

from jobs.bench.harness import Row, Target, alternate, repeat, timed
from jobs.bench.sizes import Sizes
from jobs.bench.snapshot_items import ITEMS as SNAPSHOT_ITEMS
from jobs.bench.snapshot_items import snapshot_rows
from jobs.bench.standins import stand_in_text
from jobs.engine.control import cancel_runs
from jobs.engine.executors import make_executor
from jobs.engine.jobfn import RunJob
from jobs.engine.launch import launch_sweep
from jobs.engine.options import ExecutorOptions
from jobs.engine.sweep import SweepRequest, expand
from jobs.monitor.collect import Outputs, collect, summarise
from jobs.scheduler import commands
from seqtasks import atomic
from seqtasks.markov.config import MarkovConfig
from seqtasks.rundir import RunDir, read_json
from seqtasks.rundir.states import RunState

ITEMS = ["job_local", "job_slurm", "sweep_submit", "collect_runs", "cli_help", "cli_status", *SNAPSHOT_ITEMS]
CHEAP_TEXT_CHARS = 5_000  # the sweep's Markov runs must be cheap: only the submission is measured
EXIT_WAIT_S = 30  # seconds a sweep's worker may take to exit
JOB_WAIT_S = 120  # seconds a trivial job may take before the cluster counts as busy
POLL_S = 0.02


def cluster_answers() -> bool:
    """True when ``sbatch`` is on the PATH and the controller answers ``sinfo``."""
    if not shutil.which("sbatch"):
        return False
    out = commands.run(["sinfo", "-h", "-o", "%P"], timeout_s=10)
    return bool(out and out.strip())


def trivial_job_row(kind: Literal["local", "slurm"], sizes: Sizes, work: Path) -> Row:
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
    return Row(
        f"job_{kind}",
        title,
        "s",
        None,
        polled,
        target,
        note=f"RunJob with no runs through make_executor, until its result exists; waiting as job.result() "
        f"does (a poll a second): {plain.median:.2f} s ({plain.lo:.2f}-{plain.hi:.2f})",
    )


def cheap_corpus(work: Path) -> Path:
    """A short text file, so the sweep's runs cost next to nothing while it is timed."""
    path = work / "cheap.txt"
    atomic.write_text(path, stand_in_text(CHEAP_TEXT_CHARS))
    return path


def sweep_row(sizes: Sizes, work: Path, corpus: Path) -> Row:
    """A Markov sweep of ``sweep_runs`` seeds on the local executor, as ``seqjobs sweep`` submits it; cleaned up after."""
    n = sizes.sweep_runs
    base = MarkovConfig(corpus=str(corpus), length=10)
    grid = {"seed": list(range(n))}
    opts = ExecutorOptions(executor="local")
    attempt = iter(range(1 << 30))

    def submit_sweep() -> float:
        sweep = work / f"sweep-{next(attempt)}"
        start = time.perf_counter()
        runs = expand(MarkovConfig, base, grid, {}, 1)
        options = {"grid": [f"seed={','.join(map(str, grid['seed']))}"], "zip": [], "seeds": 1}
        done = launch_sweep(SweepRequest("markov", sweep, runs, opts, base, options))
        seconds = time.perf_counter() - start
        cancel_and_remove(sweep)
        if len(done.jobs) != n:
            raise RuntimeError(f"the sweep submitted {len(done.jobs)} of {n} runs")
        return seconds

    return Row(
        "sweep_submit",
        f"{n}-run sweep submitted",
        "s",
        None,
        repeat(submit_sweep, sizes.repeats),
        Target("<= 5 s", max_value=5.0),
        note="what seqjobs sweep markov --grid seed=0..N-1 --executor local does (expand + launch_sweep), "
        "in-process, timed until every job is submitted and recorded; the (cheap) runs are waited for, "
        "cancelled if slow, and removed before the next repeat",
    )


def cancel_and_remove(sweep: Path) -> None:
    """Let the sweep's cheap runs end (cancel what is left after a while, as ``seqjobs cancel``), delete its folder.

    Its worker processes are this process's children: each is waited for, so
    none is left behind, and the folder is removed only once they are gone.
    """
    pids = {
        int(job["job_id"])
        for run in sweep.iterdir()
        if run.is_dir()
        if (job := read_json(run / "job.json")) and str(job.get("job_id", "")).isdigit()
    }
    deadline = time.monotonic() + EXIT_WAIT_S
    while pids and time.monotonic() < deadline:
        pids = {pid for pid in pids if not _reaped(pid)}
        time.sleep(0.05)
    if pids:
        cancel_runs(sweep)
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


def template_run(work: Path, corpus: Path) -> Path:
    """One real completed Markov run at ``work/template``, made as a user's are: ``seqjobs submit`` to a local job.

    Not the debug executor: it runs the job inside the submission, before
    ``job.json`` is written, so its result carries no copy of that file and
    every view would read it -- unlike a real sweep's runs.
    """
    template = work / "template"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "jobs",
            "submit",
            "markov",
            "--corpus",
            str(corpus),
            "--length",
            "100",
            "--executor",
            "local",
            "-o",
            str(template),
            "--wait",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=600,
    )
    result = RunDir(template).result()
    if result is None or result.status != RunState.COMPLETED:
        raise RuntimeError(f"the template Markov run did not complete: {result}")
    return template


def fabricate_runs(work: Path, corpus: Path, count: int) -> Path:
    """``count`` run folders (10 sweeps), byte-for-byte copies of one real completed Markov run.

    Copies, not edits: every record of a run is written by
    :mod:`seqtasks.rundir` alone, and reading the same run a thousand times
    costs what reading a thousand runs does.
    """
    template = template_run(work, corpus)
    root = work / "many"
    for i in range(count):
        shutil.copytree(template, root / f"sweep-{i % 10}" / f"run-{i}", ignore=shutil.ignore_patterns(".submitit"))
    return root


def collect_row(sizes: Sizes, work: Path, corpus: Path) -> Row:
    """What ``seqjobs collect`` does over ``collect_runs`` run folders: read them, summarise, write the files."""
    root = fabricate_runs(work, corpus, sizes.collect_runs)
    out = work / "collected.csv"
    targets = Outputs.beside(out, per_epoch=False)

    def collect_and_write() -> None:
        found = collect([root], per_epoch=False)
        targets.write(found, summarise(found.runs))

    seconds = repeat(timed(collect_and_write), sizes.repeats)
    with out.open(newline="", encoding="utf-8") as fh:
        rows = sum(1 for _ in csv.reader(fh)) - 1
    if rows != sizes.collect_runs:
        raise RuntimeError(f"collect wrote {rows} rows for {sizes.collect_runs} runs")
    return Row(
        "collect_runs",
        f"collect over {sizes.collect_runs:,} run folders",
        "s",
        None,
        seconds,
        Target("<= 2 s", max_value=2.0),
        note="what seqjobs collect does (collect, summarise; CSV, summary, Parquet if pyarrow), in-process, "
        "on copies of a real Markov run",
    )


def cpu_seconds(args: list[str]) -> float:
    """User + system CPU seconds of one whole process (start-up included), run to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cli_rows(sizes: Sizes, work: Path, corpus: Path) -> list[Row]:
    """``seqjobs --help`` and ``seqjobs status`` on ten runs, as whole processes, against ``python -c pass``."""
    runs = fabricate_runs(work / "cli", corpus, 10)
    empty = [sys.executable, "-c", "pass"]
    commands = {
        "cli_help": ("seqjobs --help, CPU", [sys.executable, "-m", "jobs", "--help"]),
        "cli_status": ("seqjobs status on 10 runs, CPU", [sys.executable, "-m", "jobs", "status", str(runs)]),
    }
    rows = []
    for item, (title, args) in commands.items():
        base, ours = alternate(lambda: cpu_seconds(empty), lambda: cpu_seconds(args), sizes.repeats)
        rows.append(
            Row(
                item,
                title,
                "s",
                base,
                ours,
                Target("<= 0.3 s CPU", max_value=0.3),
                note="user + system CPU of the whole process; the left column is python -c pass",
            )
        )
    return rows


@contextlib.contextmanager
def bench_folder() -> Iterator[Path]:
    """A temporary folder under ``runs/`` (visible to SLURM nodes, ignored by git), removed after."""
    runs = Path("runs")
    runs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".bench-", dir=runs) as tmp:
        yield Path(tmp).resolve()


def job_rows(sizes: Sizes) -> list[Row]:
    """Every job-overhead row, in :data:`ITEMS` order; temporary files are removed after."""
    with bench_folder() as work:
        corpus = cheap_corpus(work)
        return [
            trivial_job_row("local", sizes, work),
            trivial_job_row("slurm", sizes, work),
            sweep_row(sizes, work, corpus),
            collect_row(sizes, work, corpus),
            *cli_rows(sizes, work, corpus),
            *snapshot_rows(sizes, work),
        ]


def scale_group_rows(sizes: Sizes) -> list[Row]:
    """``status`` and ``collect`` over the sweeps of :attr:`Sizes.scale_runs` (:mod:`jobs.bench.scale`)."""
    from jobs.bench.scale import scale_rows

    with bench_folder() as work:
        return scale_rows(sizes, work, template_run(work, cheap_corpus(work)))


def packing_group_rows(sizes: Sizes) -> list[Row]:
    """One sweep on SLURM with each ``--runs-per-task`` of :attr:`Sizes.packing_per_task` (:mod:`jobs.bench.packing`)."""
    from jobs.bench.packing import packing_rows

    with bench_folder() as work:
        return packing_rows(sizes, work, cheap_corpus(work), cluster_answers())
