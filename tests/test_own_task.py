"""A user's own task: found by entry point or as ``module:function``, checked on load, run like a built-in one.

The example package (examples/gru-task) is installed into a fresh virtual
environment, which borrows the test environment's libraries through a
``site.addsitedir`` line: TensorFlow cannot be installed again offline, and
what is under test is the package's entry point, not pip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pytest

from tests import helpers

EXAMPLE = helpers.REPO / "examples" / "gru-task"

TRY = '''
from dataclasses import dataclass
import seqjobs


@dataclass
class Config:
    n: int = 3
    seed: int = 0


@seqjobs.task(main_metric="score", higher_is_better=True)
def run(config: Config, run_dir) -> dict:
    """Score n; no checkpoints."""
    return {"score": config.n * 10 + config.seed}
'''

BROKEN = {
    "imports_nothing": ("import no_such_module_anywhere\n", "cannot import"),
    "one_parameter": (
        "import seqjobs\n@seqjobs.task(main_metric='x', higher_is_better=True)\ndef run(config): return {}\n",
        "must take exactly (config, run_dir)",
    ),
    "dict_config": (
        "import seqjobs\n@seqjobs.task(main_metric='x', higher_is_better=True)\n"
        "def run(config: dict, run_dir): return {}\n",
        "must be annotated with a dataclass",
    ),
    "list_field": (
        "from dataclasses import dataclass, field\nimport seqjobs\n@dataclass\nclass C:\n"
        "    sizes: list[int] = field(default_factory=list)\n"
        "@seqjobs.task(main_metric='x', higher_is_better=True)\ndef run(config: C, run_dir): return {}\n",
        "cannot read from a command line",
    ),
    "no_default": (
        "from dataclasses import dataclass\nimport seqjobs\n@dataclass\nclass C:\n    n: int\n"
        "@seqjobs.task(main_metric='x', higher_is_better=True)\ndef run(config: C, run_dir): return {}\n",
        "needs a default",
    ),
    "undeclared": (
        "from dataclasses import dataclass\n@dataclass\nclass C:\n    n: int = 1\ndef run(config: C, run_dir): return {}\n",
        "does not say which figure ranks its runs",
    ),
    "raises_on_import": ("raise RuntimeError('boom')\n", "importing"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_task_gets_one_line_naming_it(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    module = f"own_task_{name}"
    source, fragment = BROKEN[name]
    (tmp_path / f"{module}.py").write_text(source, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for command in ("run", "submit", "sweep"):
        helpers.assert_one_line_error(cli(command, f"{module}:run"), f"task '{module}:run'", fragment)


def test_a_name_that_is_not_module_function_or_is_seqjobs_own_code_is_refused(cli: Callable[..., Any]) -> None:
    helpers.assert_one_line_error(cli("run", "a-b:run"), "is not module:function")
    helpers.assert_one_line_error(cli("run", "seqtasks.markov.fit:run"), "part of seqjobs")


def test_a_quick_try_takes_options_from_its_dataclass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    (tmp_path / "own_task_options.py").write_text(TRY, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    shown = cli("sweep", "own_task_options:run", "--help")
    assert shown.exit_code == 0 and "--n" in shown.stdout and "Score n" in shown.stdout
    helpers.assert_one_line_error(cli("run", "own_task_options:run", "--n", "x"), "--n", "expected int")
    done = cli("run", "own_task_options:run", "--n", "4", "--out", str(tmp_path / "one"))
    assert done.exit_code == 0, done.output
    result = json.loads((tmp_path / "one" / "result.json").read_text())
    assert result["status"] == "completed" and result["score"] == 40


@pytest.mark.slow
def test_a_quick_try_sweeps_locally_from_its_snapshot_and_read_only_commands_do_not_import_it(tmp_path: Path) -> None:
    (tmp_path / "own_task_sweep.py").write_text(TRY, encoding="utf-8")
    done = helpers.seqjobs(
        "sweep", "own_task_sweep:run", "--grid", "n=1,2,3", "--executor", "local", "--name", "try", "--wait",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    runs = sorted((tmp_path / "runs" / "try").glob("*/result.json"))
    assert sorted(json.loads(p.read_text())["score"] for p in runs) == [10, 20, 30]
    snapshots = list((tmp_path / "runs" / ".seqjobs" / "code").glob("*/own_task_sweep.py"))
    assert len(snapshots) == 1  # the job imported the module from the snapshot (PYTHONSAFEPATH: not from here)
    (tmp_path / "own_task_sweep.py").write_text("raise SystemExit('must not be imported')\n", encoding="utf-8")
    collected = helpers.seqjobs("collect", "runs/try", "-o", str(tmp_path / "t.csv"), cwd=tmp_path)
    assert "quick-try task 'own_task_sweep:run'" in collected.stdout + collected.stderr
    assert "must not be imported" not in collected.stdout + collected.stderr


@pytest.fixture(scope="module")
def example_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the example package installed (non-editable), seqjobs and its libraries borrowed."""
    venv = tmp_path_factory.mktemp("own-task") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site_dir = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    borrowed = sysconfig.get_paths()["purelib"]
    Path(site_dir, "borrowed.pth").write_text(f"import site; site.addsitedir({borrowed!r})\n", encoding="utf-8")
    package = shutil.copytree(EXAMPLE, venv.parent / "gru-task")  # a build writes beside the sources: not in the repo
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", str(package)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    return python


def in_venv(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``seqjobs ARGS`` with the venv's Python, from ``cwd``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [str(python), "-m", "jobs", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


def sweep_collect_report(python: Path, folder: Path, rt_snippets: Path, *executor: str) -> pd.DataFrame:
    """Sweep the example task over two widths, wait, then status, collect and report it: the table."""
    swept = in_venv(
        python, "sweep", "gru", "--data", str(rt_snippets), "--limit", "1200", "--grid", "units=4,8",
        "--name", "gru", "--wait", *executor, cwd=folder,
    )  # fmt: skip
    assert swept.returncode == 0, swept.stdout + swept.stderr
    status = in_venv(python, "status", "runs/gru", "--json", cwd=folder)
    assert status.returncode == 0, status.stderr
    assert [r["state"] for r in helpers.json_lines(status.stdout)] == ["completed", "completed"]
    collected = in_venv(python, "collect", "runs/gru", "-o", "gru.csv", cwd=folder)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    report = in_venv(python, "report", "runs/gru", "-o", "report", cwd=folder)
    assert report.returncode == 0, report.stdout + report.stderr
    assert "## gru:" in (folder / "report" / "report.md").read_text(encoding="utf-8")
    assert (folder / "report" / "gru_curves.png").is_file()  # its learning curves, from its metrics.csv
    return pd.read_csv(folder / "gru.csv")


def check_table(table: pd.DataFrame) -> None:
    """Both widths, ranked best first by the metric the task declared; two epochs committed each."""
    assert sorted(table["units"]) == [4, 8] and set(table["task"]) == {"gru"}
    assert table["test_accuracy"].between(0, 1).all()
    assert list(table["test_accuracy"]) == sorted(table["test_accuracy"], reverse=True)


@pytest.mark.slow
def test_the_example_package_is_swept_collected_and_reported_locally(
    example_venv: Path, tmp_path: Path, rt_snippets: Path
) -> None:
    listed = in_venv(example_venv, "sweep", "--help", cwd=tmp_path)
    assert "gru" in listed.stdout and "Train a GRU sentence classifier" in listed.stdout
    check_table(sweep_collect_report(example_venv, tmp_path, rt_snippets, "--executor", "local"))
    for run in (tmp_path / "runs" / "gru").glob("*/metrics.csv"):
        assert len(pd.read_csv(run)) == 2  # one committed row per epoch (seqjobs.keras_epochs)
    assert list((tmp_path / "runs" / ".seqjobs" / "code").glob("*/gru_task/__init__.py"))  # in the snapshot


@pytest.mark.slow
@pytest.mark.slurm
def test_the_example_package_is_swept_collected_and_reported_on_the_cluster(
    example_venv: Path, tmp_path: Path, rt_snippets: Path
) -> None:
    check_table(sweep_collect_report(example_venv, tmp_path, rt_snippets, "--executor", "slurm", "--partition", "cpu"))
