"""Text from folders, records and logs reaches a terminal or a report page as the text it is.

A run folder named with escape sequences (a window title, a clear screen, a
colour, a bell) and rich markup, whose ``result.json`` ``error`` holds the
same, and a job log whose last line does: ``status``, ``status RUN``,
``collect`` and ``report`` print no raw control character, show the name
escaped (still recognisable), never read it as rich markup or as Markdown or
HTML, and ``status --json`` keeps the original text. Real run folders (real
Markov runs), the real CLI, and for the log a real SLURM job.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from jobs.text import is_control, shown
from seqtasks.rundir import now_iso
from tests.helpers import json_lines, wait_until

#: a window title, a bell, a clear screen, a colour; rich markup; Markdown and HTML (a folder name holds no "/")
NAME = "\x1b]0;PWNED\x07\x1b[2J\x1b[31mred[blink]x[link=https:evil]y<img src=x>|[a](b)"
ERROR = "boom \x1b[31mRED\x07 [red]x[/red] [link=http://evil]y[/link] <script>z</script> | cell *em*"
LOG_LINE = "ValueError: \x1b]0;PWNED\x07\x1b[2J[bold red]boom[/bold red]"


def invoke(*args: str) -> Result:
    from jobs.cli import app

    return CliRunner().invoke(app, list(args))


def raw_controls(text: str) -> list[str]:
    """The control characters in ``text`` other than line ends: none may reach a terminal or a page."""
    return sorted({repr(ch) for ch in text if is_control(ch) and ch != "\n"})


@pytest.fixture
def sweep(tmp_path: Path, small_text: Path) -> Path:
    """``runs/sw``: a completed Markov run, and a failed one named :data:`NAME` whose error is :data:`ERROR`."""
    folder = tmp_path / "runs/sw"
    for order, name in ((1, "order=1"), (2, "order=2")):
        made = invoke(
            "run",
            "markov",
            "--corpus",
            str(small_text),
            "--length",
            "20",
            "--order",
            str(order),
            "--out",
            str(folder / name),
        )
        assert made.exit_code == 0, made.output
    result = json.loads((folder / "order=2/result.json").read_text())
    (folder / "order=2/result.json").write_text(json.dumps({**result, "status": "failed", "error": ERROR}))
    (folder / "order=2").rename(folder / NAME)
    return folder


def test_status_prints_names_and_errors_as_escaped_text_and_json_keeps_them(sweep: Path) -> None:
    for path in (sweep, sweep / NAME):  # a sweep, and the run itself
        result = invoke("status", str(path))
        assert result.exit_code == 0, result.output
        assert raw_controls(result.output) == []
        assert shown(NAME) in result.stdout  # the table's cell: escaped, its brackets as they are
        assert f"failed {shown(NAME)}: {shown(ERROR)}" in result.stdout  # rich markup printed literally
    as_json = invoke("status", str(sweep), "--json")
    assert as_json.exit_code == 0 and raw_controls(as_json.stdout) == []  # JSON writes them as \u001b
    failed = next(row for row in json_lines(as_json.stdout) if row["state"] == "failed")
    assert (failed["run"], failed["error"]) == (NAME, ERROR)  # the original text


def test_collect_prints_errors_as_escaped_text(sweep: Path, tmp_path: Path) -> None:
    result = invoke("collect", str(sweep), "-o", str(tmp_path / "out.csv"))
    assert result.exit_code == 0, result.output
    assert raw_controls(result.output) == []
    assert f"left out {shown(str(sweep / NAME))}: failed: {shown(ERROR)}" in result.stderr


@pytest.mark.slow
def test_report_page_shows_names_and_errors_as_text(sweep: Path, tmp_path: Path) -> None:
    result = invoke("report", str(sweep), "-o", str(tmp_path / "rep"))
    assert result.exit_code == 0, result.output
    page = (tmp_path / "rep/report.md").read_text(encoding="utf-8")
    assert raw_controls(page) == []
    row = next(line for line in page.splitlines() if "PWNED" in line)
    assert len(re.findall(r"(?<!\\)\|", row)) == 6, row  # five cells: the names' pipes break none
    assert not re.search(r"(?<!\\)<(img|script)", page), "a name or an error wrote HTML into the page"
    assert not re.search(r"(?<!\\)\[a\\?\]\(b\)", page), "a name wrote a link into the page"
    assert not re.search(r"(?<!\\)\*em", page) and "\\*em\\*" in row  # no emphasis either
    assert "PWNED\\\\x07\\\\x1b\\[2J\\\\x1b\\[31mred\\[blink\\]x" in row  # recognisable: escaped, not dropped
    assert "http\\://evil" in row  # no bare link GitHub would follow


@pytest.mark.slurm
def test_a_log_tail_is_printed_as_escaped_text(sweep: Path) -> None:
    run = sweep / "logged"
    run.mkdir()
    shutil.copy(sweep / "order=1/config.json", run / "config.json")
    log = run / "job.err"
    printf = LOG_LINE.replace("\x1b", "\\033").replace("\x07", "\\007")
    job_id = (
        subprocess.run(
            [
                "sbatch",
                "--parsable",
                "-p",
                "cpu",
                "-o",
                "/dev/null",
                "-e",
                str(log),
                "--wrap",
                f"printf 'Traceback (most recent call last):\\n{printf}\\n' >&2; exit 1",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .split(";")[0]
    )
    (run / "job.json").write_text(
        json.dumps({"job_id": job_id, "executor": "slurm", "submitted_at": now_iso(), "stderr": str(log)})
    )
    wait_until(
        lambda: (
            "FAILED"
            in subprocess.run(
                ["sacct", "-X", "-n", "-P", "-o", "State", "-j", job_id], capture_output=True, text=True, check=False
            ).stdout
        ),
        timeout=120,
        what=f"job {job_id} to fail",
    )
    assert json.loads(invoke("status", str(run), "--json").stdout)["error"] == LOG_LINE
    result = invoke("status", str(sweep))
    assert result.exit_code == 0, result.output
    assert raw_controls(result.output) == []
    assert f"failed logged: {shown(LOG_LINE)}" in result.stdout
