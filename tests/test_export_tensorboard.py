"""``seqjobs export tensorboard``: a real sweep's every value, read back by TensorBoard's own readers.

The sweep is two tiny char-LSTM runs (per-epoch metrics, a result) plus a
run killed after its first epoch (exported with what it has committed).
The event files are read with TensorBoard's event accumulator and its
HParams plugin (the code behind the HParams tab), and each value is checked
against the run folders, read here with nothing but ``csv`` and ``json``.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO, assert_one_line_error, kill_after_first_commit, seqjobs

#: every test here trains with TensorFlow or starts the CLI
pytestmark = pytest.mark.slow

pea = pytest.importorskip("tensorboard.backend.event_processing.plugin_event_accumulator")

PATTERN = "the cat sat on the mat; the dog dug in the fog.\n"
TINY = ["--maxlen", "12", "--step", "1", "--batch-size", "64", "--sample-length", "20"]
EVENT_FILE = "events.out.tfevents.seqjobs"
RUNS = {"cl/units=8": "completed", "cl/units=16": "completed", "partial": "not completed"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``runs/`` (a two-run charlm sweep ``cl`` and a killed run ``partial``) exported to ``tb/``."""
    base = tmp_path_factory.mktemp("export")
    corpus = base / "pattern.txt"
    corpus.write_text(PATTERN * 100, encoding="utf-8")
    seqjobs(
        *("sweep", "charlm", "--corpus", str(corpus), "--grid", "units=8,16", "--epochs", "2", *TINY),
        *("--executor", "local", "--name", "cl", "--root", "runs", "--wait"),
        cwd=base,
        timeout=900,
        check=True,
    )
    partial = base / "runs/partial"
    args = ["run", "charlm", "--corpus", str(corpus), "--units", "8", "--epochs", "30", *TINY, "--out", str(partial)]
    assert kill_after_first_commit(args, partial) >= 1
    proc = seqjobs("export", "tensorboard", "runs", "-o", "tb", cwd=base, timeout=300, check=True)
    assert "exported 3 runs to tb (1 not completed" in proc.stderr
    return base


def accumulator(folder: Path) -> pea.EventAccumulator:
    acc = pea.EventAccumulator(str(folder), size_guidance={pea.TENSORS: 0})
    acc.Reload()
    return acc


def scalars(acc: pea.EventAccumulator, tag: str) -> list[tuple[int, float]]:
    from tensorboard.util import tensor_util

    return [(e.step, tensor_util.make_ndarray(e.tensor_proto).item()) for e in acc.Tensors(tag)]


def f32(text: object) -> float:
    """A value as TensorBoard stores every scalar: a float32."""
    return float(np.float32(float(text)))  # type: ignore[arg-type]


def shown_param(value: object) -> object:
    """A config value as the HParams plugin holds it."""
    if isinstance(value, bool) or isinstance(value, str):
        return value
    return float(value) if isinstance(value, (int, float)) else json.dumps(value, sort_keys=True)


def test_one_event_file_per_run_and_the_experiment(exported: Path) -> None:
    files = sorted(p.relative_to(exported / "tb").as_posix() for p in (exported / "tb").rglob("*") if p.is_file())
    assert files == sorted([EVENT_FILE] + [f"{name}/{EVENT_FILE}" for name in RUNS])


def test_every_epoch_and_result_value_reads_back(exported: Path) -> None:
    from tensorboard.plugins.hparams import api_pb2, metadata

    for name, state in RUNS.items():
        run = exported / "runs" / name
        acc = accumulator(exported / "tb" / name)
        with open(run / "metrics.csv", encoding="utf-8") as table:
            rows = list(csv.DictReader(table))
        assert rows and (state == "completed") == (len(rows) == 2)
        expected = {
            column: [(int(row["epoch"]), f32(row[column])) for row in rows] for column in rows[0] if column != "epoch"
        }
        if state == "completed":
            result = json.loads((run / "result.json").read_text())
            named = {"format", "status", "task", "attempt", "epochs_requested", "ended_at", "run_dir", "host"}
            for figure, value in result.items():
                if figure not in named and isinstance(value, (int, float)) and not isinstance(value, bool):
                    expected[f"result/{figure}"] = [(len(rows), f32(value))]
        hparam_tags = {t for t in acc.Tags()["tensors"] if t.startswith("_hparams_/")}
        assert set(acc.Tags()["tensors"]) - hparam_tags == set(expected), name
        for tag, points in expected.items():
            assert scalars(acc, tag) == points, (name, tag)

        content = acc.PluginTagToContent(metadata.PLUGIN_NAME)
        start = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
        config = json.loads((run / "config.json").read_text())
        params = {"task": config["task"], **{k: v for k, v in config["config"].items() if v is not None}}
        got = {k: getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()}
        assert got == {k: shown_param(v) for k, v in params.items()}, name
        assert start.group_name == name
        if state == "completed":
            end = metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG])
            assert end.status == api_pb2.STATUS_SUCCESS
        else:
            assert metadata.SESSION_END_INFO_TAG not in content  # it has not ended: TensorBoard says so


def test_the_hparams_tab_lists_each_run_with_its_final_metrics(exported: Path) -> None:
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups

    logdir = str(exported / "tb")
    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(logdir)
    multiplexer.Reload()
    tb = base_plugin.TBContext(
        logdir=logdir, data_provider=data_provider.MultiplexerDataProvider(multiplexer, logdir), multiplexer=multiplexer
    )
    request = api_pb2.ListSessionGroupsRequest(start_index=0, slice_size=100, allowed_statuses=range(4))
    response = list_session_groups.Handler(context.RequestContext(), backend_context.Context(tb), "", request).run()
    groups = {group.name: group for group in response.session_groups}
    assert set(groups) == set(RUNS)
    for name in RUNS:
        with open(exported / "runs" / name / "metrics.csv", encoding="utf-8") as table:
            last = list(csv.DictReader(table))[-1]
        metrics = {m.name.tag: m.value for m in groups[name].metric_values}
        for column in ("loss", "val_loss", "val_bits_per_char"):
            assert metrics[column] == f32(last[column]), (name, column)
        assert groups[name].hparams["units"].number_value == (16.0 if "16" in name else 8.0)
    completed = json.loads((exported / "runs/cl/units=16/result.json").read_text())
    best = completed["best_val_bits_per_char"]
    assert math.isclose(
        {m.name.tag: m.value for m in groups["cl/units=16"].metric_values}["result/best_val_bits_per_char"],
        best,
        rel_tol=1e-6,
    )


def test_a_second_export_replaces_each_file_with_the_same_bytes(exported: Path) -> None:
    before = {p: p.read_bytes() for p in (exported / "tb").rglob(EVENT_FILE)}
    seqjobs("export", "tensorboard", "runs", "-o", "tb", cwd=exported, timeout=300, check=True)
    assert {p: p.read_bytes() for p in (exported / "tb").rglob(EVENT_FILE)} == before


def test_export_imports_neither_tensorflow_nor_pandas(exported: Path) -> None:
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from jobs.cli import app\n"
        "r = CliRunner().invoke(app, ['export', 'tensorboard', 'runs', '-o', 'tb-probe'])\n"
        "print(r.exit_code, sorted(m for m in ('tensorflow', 'keras', 'pandas', 'submitit') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=exported, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.stdout.strip().splitlines()[-1] == "0 []", out.stdout + out.stderr


def test_without_tensorboard_one_line_says_how_to_install_it(exported: Path) -> None:
    hide = "import sys; sys.modules['tensorboard'] = None; from jobs.cli import main; main()"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", hide, "export", "tensorboard", "runs", "-o", "tb-none"],
        cwd=exported,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert_one_line_error(proc, "pip install 'seqjobs[tensorboard]'", only=True)
    assert not (exported / "tb-none").exists()


def test_an_output_inside_the_sweep_is_refused(exported: Path) -> None:
    proc = seqjobs("export", "tensorboard", "runs/cl", "-o", "runs/cl/tb", cwd=exported, timeout=300)
    assert_one_line_error(proc, "-o runs/cl/tb", "sweep folder", only=True)
    assert not (exported / "runs/cl/tb").exists()
