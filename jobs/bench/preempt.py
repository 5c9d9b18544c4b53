"""A preemption soak: a sweep of real runs on SLURM, preempted at random moments, must lose nothing.

``python -m jobs.bench.preempt --preemptions 300 --work DIR -o results/soak-preempt`` (only on a
cluster with a partition that preempts the one the runs use by requeueing them -- the test
cluster's ``urgent`` over ``cpu``, see ``docs/test-cluster.md``):

1. The reference: the sweeps (char-LSTM and IMDB, tiny, one run per array task and
   ``--runs-per-task``, dropout on) run once without preemption, which also
   measures how long each sweep's tasks live.
2. The soak: the same sweeps again, while a preemptor picks, for every task
   attempt it sees start, a moment drawn uniformly over that sweep's task life
   (the first seconds included) and, when it comes, submits an ``urgent`` job
   wanting every core, which preempts every running task. Just before, it
   notes each running task's phase (:func:`phase`). A preemption has landed on
   a task when its job was requeued (its restart count grew). The sweeps are
   submitted again, round after round, until the wanted number landed.
3. The report: preemptions by phase; each run's outcome (completed, failed,
   or stuck: not ended when its round did); whether its ``metrics.csv`` rows
   are those of the reference run (timing columns aside), each epoch once.

It urgently needs every core, so it would preempt other users' jobs too: it
holds off while any job it did not submit runs in a preemptible partition.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from jobs.scheduler import commands
from seqtasks.rundir.states import RunState

#: the smallest char-LSTM worth training: epochs of about a second here (the tests use it too)
TINY_CHARLM = [
    "--units",
    "16",
    "--maxlen",
    "10",
    "--sample-length",
    "20",
    "--temperatures",
    "0.5",
    "--batch-size",
    "64",
]
TINY = {
    "charlm": [*TINY_CHARLM, "--epochs", "4"],
    "imdb": [
        "--top-words",
        "200",
        "--embedding-dim",
        "8",
        "--units",
        "8",
        "--batch-size",
        "32",
        "--maxlen",
        "40",
        "--epochs",
        "4",
    ],
}
#: dropout on: a resumed run must draw the masks an uninterrupted one draws (its rows are compared)
DROPOUT = ["--dropout", "0.2", "--recurrent-dropout", "0.2"]
PARTITION, URGENT = "cpu", "urgent"
#: seconds a SLURM tool may take here: as long as any other step of the soak
SLURM_TIMEOUT_S = 600
PREEMPTIBLE = ("cpu", "gpu", "nolimit")
#: phases a preemption can land in, in the order of a task's life
PHASES = ("batch", "import", "data", "training", "checkpoint", "between", "exit")
POLL_S = 0.5
#: how long a round may run on undisturbed after the deadline, so that its runs are judged ended, not stuck
ROUND_GRACE_S = 900


@dataclass(frozen=True)
class SoakSweep:
    """One sweep of the soak: ``seeds`` runs of ``task``, ``per_task`` of them per array task."""

    name: str
    task: str
    seeds: int
    per_task: int


FULL = (
    SoakSweep("charlm-single", "charlm", 10, 1),
    SoakSweep("charlm-packed", "charlm", 12, 4),
    SoakSweep("imdb-single", "imdb", 8, 1),
    SoakSweep("imdb-packed", "imdb", 12, 4),
)
SHORT = (
    SoakSweep("charlm-single", "charlm", 3, 1),
    SoakSweep("charlm-packed", "charlm", 4, 2),
    SoakSweep("imdb-single", "imdb", 2, 1),
    SoakSweep("imdb-packed", "imdb", 4, 2),
)


@dataclass(frozen=True)
class Landed:
    """A preemption that requeued a task: which, in which phase, when (seconds into the soak)."""

    job: str
    sweep: str
    phase: str
    at_s: float


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True, timeout=600).stdout


def _answered(out: str | None) -> str:
    """A SLURM tool's output (:func:`jobs.scheduler.commands.run`): the soak cannot go on without it."""
    if out is None:
        raise RuntimeError("the scheduler did not answer (squeue, sbatch, sinfo or sacct failed); is the cluster up?")
    return out


def seqjobs(args: list[str], cwd: Path) -> str:
    """``seqjobs ARGS`` in a new process, as a user runs it."""
    return _run([sys.executable, "-m", "jobs", *args], cwd)


def prepare_data(work: Path, corpus: Path | None) -> dict[str, list[str]]:
    """The data options of each task: a 20,000-character text and 800 synthetic reviews, in ``work``."""
    from seqtasks.imdb.synthetic import write_csv

    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    text = data / "corpus.txt"
    if corpus is not None:
        text.write_text(corpus.read_text(encoding="utf-8")[:20_000], encoding="utf-8")
    else:
        from jobs.bench.standins import stand_in_text

        text.write_text(stand_in_text(20_000), encoding="utf-8")
    reviews = write_csv(data / "reviews.csv", 800, median_len=12, seed=1, signal=0.4)
    return {"charlm": ["--corpus", str(text)], "imdb": ["--dataset", str(reviews)]}


def submit(work: Path, root: Path, sweeps: tuple[SoakSweep, ...], data: dict[str, list[str]]) -> None:
    """Submit every sweep under ``root`` to the preemptible partition, one core per task, with every default
    (``--max-stalled`` included: about half the attempts are preempted before their first commit)."""
    for sweep in sweeps:
        seqjobs(
            [
                "sweep",
                sweep.task,
                *data[sweep.task],
                *TINY[sweep.task],
                *DROPOUT,
                "--seeds",
                str(sweep.seeds),
                "--runs-per-task",
                str(sweep.per_task),
                "--executor",
                "slurm",
                "--partition",
                PARTITION,
                "--cpus-per-task",
                "1",
                "--root",
                str(root),
                "--name",
                sweep.name,
            ],
            work,
        )


@dataclass(frozen=True)
class QueuedJob:
    job: str
    state: str
    partition: str
    workdir: str


def queue() -> list[QueuedJob]:
    """Every job in the queue, one line per array element."""
    out = _answered(commands.run(["squeue", "-h", "-r", "-o", "%i|%T|%P|%Z"], SLURM_TIMEOUT_S))
    return [QueuedJob(*line.split("|", 3)) for line in out.splitlines() if line.count("|") >= 3]


def restarts(job: str) -> int:
    """How many times SLURM has requeued ``job`` (``-1``: it has left the controller's memory)."""
    out = commands.run(["scontrol", "-o", "show", "job", job]) or ""
    field = next((f for f in out.split() if f.startswith("Restarts=")), None)
    return int(field.split("=")[1]) if field else -1


def run_dirs(root: Path) -> dict[str, list[Path]]:
    """Job id -> the run folders it runs (from each run's ``job.json``)."""
    found: dict[str, list[Path]] = {}
    for record in root.glob("*/*/job.json"):
        found.setdefault(json.loads(record.read_text())["job_id"], []).append(record.parent)
    return found


def task_process(job: str) -> psutil.Process | None:
    """The Python process of ``job``'s current attempt on this host (``None``: not started yet)."""
    for proc in psutil.process_iter(["cmdline", "environ"]):
        cmd, env = proc.info["cmdline"] or [], proc.info["environ"] or {}
        if not cmd or cmd[0] != sys.executable or "submitit.core._submit" not in cmd:
            continue
        array = env.get("SLURM_ARRAY_JOB_ID")
        if (f"{array}_{env.get('SLURM_ARRAY_TASK_ID')}" if array else env.get("SLURM_JOB_ID")) == job:
            return proc
    return None


def phase(job: str, runs: list[Path]) -> str:
    """Where ``job``'s attempt is now: the first of :data:`PHASES` that fits.

    ``batch``: no Python yet (SLURM drops a signal sent now; the preemption
    then waits out GraceTime and SLURM requeues the job itself); ``import``:
    TensorFlow is not loaded yet (Python's start, submitit, the claim);
    ``checkpoint``: a temporary file of an epoch commit is in a run folder;
    ``data``: the run began this attempt but has not written this attempt's
    ``vocab.json`` yet; ``training``: it has; ``between``: no run of the task
    is running (a packed task between two runs); ``exit``: every run has ended.
    """
    proc = task_process(job)
    if proc is None:
        return "batch"
    try:
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
    except OSError:
        return "exit"
    if "_pywrap_tensorflow_internal" not in maps:
        return "import"
    if any(any(run.glob(".*.tmp*")) or any(run.glob("*/.*.tmp*")) for run in runs):
        return "checkpoint"
    for run in runs:
        state = _json(run / "state.json")
        if state.get("state") == RunState.RUNNING and state.get("pid") == proc.pid:
            vocab = run / "vocab.json"
            began = proc.create_time()
            return "training" if vocab.exists() and vocab.stat().st_mtime >= began else "data"
    return "exit" if all((run / "result.json").exists() for run in runs) else "between"


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def preempt_all(cores: str) -> None:
    """Submit an urgent job wanting every core, and wait until it has run: it preempts every running task."""
    job = _answered(
        commands.run(
            [
                "sbatch",
                "--parsable",
                "-p",
                URGENT,
                "-c",
                cores,
                "--mem",
                "100M",
                "-o",
                "/dev/null",
                "--wrap",
                "sleep 1",
            ],
            SLURM_TIMEOUT_S,
        )
    ).strip()
    while any(q.job == job for q in queue()):
        time.sleep(POLL_S)


def sweep_of(runs: list[Path]) -> str:
    return runs[0].parent.name


def foreign_running(ours: dict[str, list[Path]]) -> bool:
    """Does a job this soak did not submit run in a partition the urgent job would preempt?"""
    return any(q.state == "RUNNING" and q.partition in PREEMPTIBLE and q.job not in ours for q in queue())


def preempt_round(
    root: Path, lives: dict[str, float], wanted: int, rng: random.Random, started: float, deadline: float
) -> list[Landed]:
    """Preempt the tasks of the sweeps under ``root`` until none is queued; the preemptions that landed.

    Each task attempt, once seen running, gets a moment drawn uniformly over
    its sweep's task life; the first moment that comes preempts every running
    task (at most ``wanted`` landings are sought; after that the round runs out
    undisturbed).
    """
    cores = _answered(commands.run(["sinfo", "-h", "-N", "-p", PARTITION, "-o", "%c"], SLURM_TIMEOUT_S)).split()[0]
    landed: list[Landed] = []
    due: dict[tuple[str, int], float] = {}
    while time.time() < deadline:
        ours = run_dirs(root)
        mine = [q for q in queue() if q.job in ours]
        if not mine:
            break
        running = {q.job: restarts(q.job) for q in mine if q.state == "RUNNING"}
        now = time.time()
        for job, count in running.items():
            due.setdefault((job, count), now + rng.uniform(0, lives[sweep_of(ours[job])]))
        come = any(due[key] <= now for key in running.items())
        if running and come and len(landed) < wanted and not foreign_running(ours):
            before = {job: (count, phase(job, ours[job])) for job, count in running.items()}
            preempt_all(cores)
            landed += [
                Landed(job, sweep_of(ours[job]), where, round(now - started, 1))
                for job, (count, where) in before.items()
                if restarts(job) > count
            ]
        time.sleep(POLL_S)
    return landed


def wait_round(root: Path, deadline: float) -> None:
    """Wait until no job of the sweeps under ``root`` is queued (or the deadline)."""
    while time.time() < deadline and any(q.job in run_dirs(root) for q in queue()):
        time.sleep(2 * POLL_S)


def task_lives(root: Path) -> dict[str, float]:
    """Each sweep's median task life in seconds (``sacct``'s Elapsed of its jobs), at least 5 s."""
    jobs = run_dirs(root)
    out = _answered(
        commands.run(["sacct", "-X", "-n", "-P", "-o", "JobID,ElapsedRaw", "-j", ",".join(jobs)], SLURM_TIMEOUT_S)
    )
    elapsed = {jid: float(raw) for jid, raw in (line.split("|") for line in out.splitlines()) if raw.isdigit()}
    by_sweep: dict[str, list[float]] = {}
    for job, runs in jobs.items():
        if job in elapsed:
            by_sweep.setdefault(sweep_of(runs), []).append(elapsed[job])
    return {sweep: max(5.0, statistics.median(values)) for sweep, values in by_sweep.items()}


def rows(run: Path) -> list[list[str]]:
    """``metrics.csv`` without its timing columns (``seconds``...), header first; ``[]`` if missing."""
    path = run / "metrics.csv"
    if not path.exists():
        return []
    table = list(csv.reader(path.read_text().splitlines()))
    keep = [i for i, name in enumerate(table[0]) if "seconds" not in name]
    return [[line[i] for i in keep] for line in table]


def judge(run: Path, reference: Path) -> dict[str, object]:
    """One run of the soak against the same run uninterrupted."""
    result, state = _json(run / "result.json"), _json(run / "state.json")
    mine, theirs = rows(run), rows(reference)
    epochs = [line[0] for line in mine[1:]]
    return {
        "sweep": run.parent.parent.name + "/" + run.parent.name,
        "run": run.name,
        "status": result.get("status", RunState.STUCK.value),
        "attempts": state.get("attempt", 0),
        "requeues": state.get("requeues", 0),
        "epochs": len(epochs),
        "identical_rows": bool(mine) and mine == theirs,
        "each_epoch_once": epochs == [str(i) for i in range(1, len(epochs) + 1)],
        "error": result.get("error") or "",
    }


def soak(
    work: Path, sweeps: tuple[SoakSweep, ...], preemptions: int, hours: float, corpus: Path | None = None, seed: int = 0
) -> tuple[list[Landed], list[dict[str, object]], dict[str, float]]:
    """Reference, then rounds of the sweeps under preemption until ``preemptions`` landed; what came of it."""
    started = time.time()
    deadline = started + hours * 3600
    data = prepare_data(work, corpus)
    reference = work / "reference"
    submit(work, reference, sweeps, data)
    wait_round(reference, deadline)
    lives = task_lives(reference)
    landed: list[Landed] = []
    judged: list[dict[str, object]] = []
    rng, rounds = random.Random(seed), 0
    while len(landed) < preemptions and time.time() < deadline:
        rounds += 1
        root = work / "soak" / f"round-{rounds}"
        submit(work, root, sweeps, data)
        landed += preempt_round(root, lives, preemptions - len(landed), rng, started, deadline)
        wait_round(root, deadline + ROUND_GRACE_S)
        judged += [
            judge(config.parent, reference / config.parent.parent.name / config.parent.name)
            for config in sorted(root.glob("*/*/config.json"))
        ]
    info = {"rounds": rounds, "minutes": round((time.time() - started) / 60, 1)}
    return landed, judged, {**info, **lives}


def write_report(
    out: Path, command: str, landed: list[Landed], judged: list[dict[str, object]], info: dict[str, float]
) -> None:
    """``OUT.csv`` (one row per run) and ``OUT.md`` (the summary, then the preemptions by phase)."""
    from seqtasks import atomic

    out.parent.mkdir(parents=True, exist_ok=True)

    if judged:
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=list(judged[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(judged)
        atomic.write_text(out.with_suffix(".csv"), table.getvalue())
    statuses = Counter(str(j["status"]) for j in judged)
    phases = Counter(landing.phase for landing in landed)
    completed = [j for j in judged if j["status"] == RunState.COMPLETED]
    lines = [
        "# Preemption soak",
        "",
        f"Command: `{command}`",
        "",
        f"{len(landed)} preemptions landed over {int(info['rounds'])} rounds in {info['minutes']} minutes; "
        f"{len(judged)} runs: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) + ".",
        f"Runs whose metrics rows equal the uninterrupted run's (timing columns aside): "
        f"{sum(bool(j['identical_rows']) for j in completed)} of {len(completed)} completed; "
        f"each epoch committed once: {sum(bool(j['each_epoch_once']) for j in judged)} of {len(judged)}.",
        "",
        "| phase | preemptions landed |",
        "|---|---|",
        *(f"| {p} | {phases.get(p, 0)} |" for p in PHASES),
        "",
        "| sweep | task life (s, median, uninterrupted) |",
        "|---|---|",
        *(f"| {k} | {v:.1f} |" for k, v in info.items() if k not in ("rounds", "minutes")),
        "",
        "Runs not completed, or whose rows differ:",
        "",
        *(
            f"- {j['sweep']}/{j['run']}: {j['status']}, identical rows {j['identical_rows']}, {j['error']}"
            for j in judged
            if j["status"] != RunState.COMPLETED or not j["identical_rows"]
        ),
    ]
    atomic.write_text(out.with_suffix(".md"), "\n".join(lines) + "\n")
    atomic.write_text(out.with_name(out.name + "-landed.json"), json.dumps([asdict(x) for x in landed], indent=1))


def main(argv: list[str] | None = None) -> None:
    """``python -m jobs.bench.preempt``: run the soak and write its report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preemptions", type=int, default=300, help="preemptions to land (default 300)")
    parser.add_argument("--work", type=Path, required=True, help="a new folder for the data and the sweeps")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("results/soak-preempt"),
        help="report prefix: .csv and .md are written (default results/soak-preempt)",
    )
    parser.add_argument("--short", action="store_true", help="small sweeps (13 runs in 9 tasks) instead of 42 runs")
    parser.add_argument("--hours", type=float, default=3.0, help="stop preempting after this long (default 3)")
    parser.add_argument("--corpus", type=Path, help="the text for char-LSTM (default: the Moby-Dick stand-in)")
    parser.add_argument("--seed", type=int, default=0, help="of the preemption moments")
    args = parser.parse_args(argv)
    if args.work.exists() and any(args.work.iterdir()):
        parser.error(f"--work {args.work} is not empty; give a new folder")
    command = "python -m jobs.bench.preempt " + " ".join(sys.argv[1:] if argv is None else argv)
    landed, judged, info = soak(
        args.work.resolve(), SHORT if args.short else FULL, args.preemptions, args.hours, args.corpus, args.seed
    )
    write_report(args.output, command, landed, judged, info)
    print(args.output.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
