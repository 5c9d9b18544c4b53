"""The CLI loads a command only when it is used, and its listing says what each command's own help says."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from jobs.cli import COMMANDS, Command, load
from tests.helpers import REPO


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_commands_help_opens_with_its_listing_line_said_once(name: str) -> None:
    own = load(name).help or ""
    assert own.split("\n\n")[0] == COMMANDS[name].help
    assert own.count(COMMANDS[name].help) == 1, "the command's docstring repeats its COMMANDS line"


@pytest.mark.slow
def test_help_and_status_import_no_heavy_library(tmp_path) -> None:  # noqa: ANN001
    probe = (
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from jobs.cli import app\n"
        "r1 = CliRunner().invoke(app, ['--help'])\n"
        "after_help = sorted(m for m in ('submitit', 'pandas', 'tensorflow', 'keras', 'seqtasks.data') if m in sys.modules)\n"
        "r2 = CliRunner().invoke(app, ['status', sys.argv[1]])\n"
        "after_status = sorted(m for m in ('submitit', 'pandas', 'tensorflow', 'keras') if m in sys.modules)\n"
        "print(json.dumps([r1.exit_code, after_help, r2.exit_code, after_status]))\n"
    )
    (tmp_path / "empty").mkdir()
    out = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "empty")], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    help_code, after_help, status_code, after_status = json.loads(out.stdout.strip().splitlines()[-1])
    assert help_code == 0 and after_help == []
    assert status_code == 2 and after_status == []  # an empty folder: one error line, nothing heavy loaded


def test_every_command_has_a_row_in_the_readmes_command_table() -> None:
    rows = [
        line for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines() if line.startswith("| `seqjobs ")
    ]
    for name in COMMANDS:
        assert any(f"`seqjobs {name}" in row for row in rows), name


#: the commands that do not train, as the README lists them: never TensorFlow (a login node may have none)
READ_ONLY = [
    ["status"],
    ["collect", "-o", "table.csv"],
    ["report", "-o", "report"],
    ["logs"],
    ["export", "tensorboard", "-o", "tb"],
    ["cancel"],
]


@pytest.mark.slow
@pytest.mark.parametrize("command", READ_ONLY, ids=[c[0] for c in READ_ONLY])
def test_a_command_that_does_not_train_never_imports_tensorflow(
    command: list[str],
    tmp_path,
    moby_dick,  # noqa: ANN001
) -> None:
    from tests.helpers import completed_markov_run

    run = completed_markov_run(tmp_path, moby_dick)
    args = [*command[:2], str(run), *command[2:]] if command[0] == "export" else [command[0], str(run), *command[1:]]
    probe = (
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from jobs.cli import app\n"
        "r = CliRunner().invoke(app, sys.argv[1:])\n"
        "print(json.dumps([r.exit_code, r.output[-300:], sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    code, output, heavy = json.loads(out.stdout.strip().splitlines()[-1])
    assert code == 0, output  # it did its work (a completed run: cancel has nothing to stop, and says so)
    assert heavy == [], f"seqjobs {' '.join(command)} imported {heavy}"


def all_commands(command: Command) -> list[Command]:
    """``command`` and, for a group, every command under it (Typer's own Click has no public group class)."""
    under: dict[str, Command] = getattr(command, "commands", {})
    return [command, *(c for sub in under.values() for c in all_commands(sub))]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_no_help_text_holds_a_bracketed_word_that_rich_would_swallow(name: str) -> None:
    """Typer renders help through rich, which reads ``[word]`` as a style tag and drops it: an install hint such
    as ``pip install 'seqjobs[bench]'`` would show as ``pip install 'seqjobs'``."""
    texts = [
        text
        for command in all_commands(load(name))
        for text in [command.help or "", *(getattr(p, "help", None) or "" for p in command.params)]
    ]
    swallowed = [text for text in texts if re.search(r"(?<!\\)\[[A-Za-z/][^\]\s]*\]", text)]
    assert swallowed == []
