"""``sweep.json`` of a big sweep still records and reads: at 10,000 runs it outgrows the size limit of a run's records."""

from __future__ import annotations

from pathlib import Path

from seqtasks.config import to_dict
from seqtasks.markov.config import MarkovConfig
from seqtasks.rundir import SweepDir
from seqtasks.rundir.safe import MAX_RECORD_BYTES


def test_the_manifest_of_a_10000_run_sweep_is_recorded_twice_and_read(tmp_path: Path) -> None:
    runs_count = 10_000
    params = to_dict(MarkovConfig(corpus="/data/some/longer/path/to/a/corpus.txt"))
    runs = {f"order={i % 5 + 1}_seed={i}": {**params, "seed": i} for i in range(runs_count)}
    sweep = SweepDir(tmp_path / "big")
    with sweep.locked():
        sweep.record(
            "markov", runs, {name: f"77_{i}" for i, name in enumerate(runs)}, params, {"seeds": runs_count}, {}
        )
    assert (tmp_path / "big" / "sweep.json").stat().st_size > MAX_RECORD_BYTES
    with sweep.locked():  # the same sweep command again: reads the manifest before merging into it
        manifest = sweep.record("markov", runs, {}, params, {"seeds": runs_count}, {})
    assert len(manifest.runs) == runs_count and manifest.runs[-1]["job_id"] == f"77_{runs_count - 1}"
    assert len(manifest.submissions) == 1


def test_a_later_command_keeps_the_options_an_earlier_one_recorded(tmp_path: Path) -> None:
    params = to_dict(MarkovConfig())
    sweep = SweepDir(tmp_path / "search")
    with sweep.locked():
        sweep.record("markov", {"trial=001": params}, {}, params, {"grid": [], "sampler_seed": 42, "trials": 1}, {})
    with sweep.locked():  # a plain grid command on the same folder
        manifest = sweep.record("markov", {"order=2": params}, {}, params, {"grid": ["order=2"], "seeds": 1}, {})
    assert manifest.sweep_options == {"grid": ["order=2"], "sampler_seed": 42, "trials": 1, "seeds": 1}
