"""``--after JOBID``: a sweep's jobs wait for a job of the user's own, and a wrong id is refused up front.

SLURM takes a dependency on a job it does not know as already met, so a typo
would start the sweep at once: the id is checked before anything is written.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest

from tests import helpers


def test_after_is_refused_off_slurm_and_when_it_is_no_job_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    monkeypatch.chdir(tmp_path)
    helpers.assert_one_line_error(
        cli("sweep", "markov", "--grid", "order=1,2", "--executor", "local", "--after", "12"),
        "--after needs --executor slurm",
    )
    assert not (tmp_path / "runs").exists()


@pytest.mark.slurm
@pytest.mark.slow
def test_a_sweep_after_a_job_waits_for_it_and_an_unknown_job_is_refused(tmp_path: Path, small_text: Path) -> None:
    sweep = ["sweep", "markov", "--corpus", str(small_text), "--length", "10", "--grid", "order=1,2", "--executor", "slurm", "--partition", "cpu"]  # fmt: skip
    for bad, says in (("12x", "is not a SLURM job id"), ("99999999", "SLURM knows no such job")):
        helpers.assert_one_line_error(helpers.seqjobs(*sweep, "--after", bad, "--name", "bad", cwd=tmp_path), says)
    assert not (tmp_path / "runs" / "bad").exists()

    gate = tmp_path / "gate"
    first = subprocess.run(
        ["sbatch", "--parsable", "--partition", "cpu", "--wrap", f"while [ ! -e {gate} ]; do sleep 0.5; done"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    ).stdout.strip()  # fmt: skip
    mail = ["--mail-user", "lab@example.org"]  # and the scheduler holds the mail on the sweep's one array
    helpers.seqjobs(*sweep, "--after", first, *mail, "--name", "after", cwd=tmp_path, check=True)
    run = tmp_path / "runs" / "after" / "order=1"
    job = helpers.json_lines(helpers.seqjobs("status", str(run), "--json", cwd=tmp_path, check=True).stdout)[0]
    shown = subprocess.run(["scontrol", "show", "job", job["job_id"]], capture_output=True, text=True).stdout
    assert re.search(rf"Dependency=afterok:{first}\b", shown), shown
    assert re.search(r"MailUser=lab@example.org MailType=END\b", shown), shown
    assert job["state"] == "pending" and not (run / "result.json").exists()  # held back while the gate is shut
    gate.touch()

    def states() -> set[str]:
        return {r["state"] for r in helpers.json_lines(helpers.seqjobs("status", str(run.parent), "--json").stdout)}

    helpers.wait_until(lambda: states() == {"completed"}, 300, 1.0, lambda: f"the sweep to complete: {states()}")
