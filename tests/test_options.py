"""Executor settings (jobs/engine/options.py): one declaration, one parse, for the CLI, profiles and job.json.

Unit tests: no SLURM, no TensorFlow, no subprocess.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from jobs.engine import options
from seqtasks.errors import UserError
from tests.helpers import REPO, assert_one_line_error


@pytest.mark.parametrize(
    ("name", "raw", "want"),
    [
        ("executor", "local", "local"),
        ("time", "30", 30),
        ("time", 30, 30),
        ("time", " 7 ", 7),
        ("gpus_per_node", "0", 0),
        ("partition", "gpu", "gpu"),
        ("max_stalled", None, None),
        ("mail_type", "END", "END"),
        ("mail_type", "end,FAIL", "end,FAIL"),
        ("mail_user", "lab@example.org", "lab@example.org"),
    ],
)
def test_parse_setting_accepts(name: str, raw: Any, want: Any) -> None:
    assert options.parse_setting(name, raw) == want


@pytest.mark.parametrize(
    ("name", "raw", "fragment"),
    [
        ("executor", "cloud", "--executor: unknown value 'cloud'; use one of auto, slurm, local, debug"),
        ("time", "abc", "--time must be an integer >= 1 (got 'abc')"),
        ("time", "0", "--time must be an integer >= 1"),
        ("time", 1.5, "--time must be an integer >= 1 (got 1.5)"),
        ("time", float("nan"), "--time must be an integer"),
        ("time", "99999999999", f"--time must be <= {options.MAX_INT}"),
        ("gpus_per_node", True, "--gpus-per-node must be an integer >= 0 (got true)"),
        ("gpus_per_node", "-1", "--gpus-per-node must be an integer >= 0"),
        ("partition", 5, "--partition must be text (got 5)"),
        ("partition", " ", "--partition is empty"),
        ("mem", "4G\nrm -rf ~", "--mem '4G\\nrm -rf ~' contains a control character"),
        ("mail_type", "END,SOON", "--mail-type: unknown event 'SOON'; use one or more of NONE, BEGIN, END"),
        ("mail_type", "END,ARRAY_TASKS", "--mail-type ARRAY_TASKS would mail once per array task"),
    ],
)
def test_parse_setting_refuses_with_one_message(name: str, raw: Any, fragment: str) -> None:
    with pytest.raises(UserError) as err:
        options.parse_setting(name, raw)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_every_setting_has_help_and_a_known_type() -> None:
    for name, f in options.FIELDS.items():
        assert f.metadata["help"], name
        assert options.SETTING_TYPES[name] in (int, str) or options.choices(name), name
    assert options.choices("executor") == ("auto", "slurm", "local", "debug")


def profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv(options.PROFILE_ENV, str(path))


def test_a_profile_value_gets_the_command_line_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profiles(tmp_path, monkeypatch, 'bad = { executor = "local", time = "abc" }\n')
    with pytest.raises(UserError) as from_profile:
        options.build({}, "bad")
    with pytest.raises(UserError) as from_cli:
        options.build({"executor": "local", "time": "abc"}, None)
    assert str(from_profile.value).startswith("profile 'bad' in ")
    assert str(from_profile.value).endswith(": " + str(from_cli.value))


def test_command_line_overrides_the_profile_only_where_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profiles(tmp_path, monkeypatch, 'gpu = { executor = "local", partition = "gpu", time = 120 }\n')
    given = {name: None for name in options.FIELDS} | {"time": "30"}  # what the CLI passes: None when not typed
    opts = options.build(given, "gpu")
    assert (opts.executor, opts.partition, opts.time) == ("local", "gpu", 30)


def test_job_json_options_rebuild_the_same_settings() -> None:
    opts = options.build({"executor": "local", "cpus_per_task": "2", "mem": "1G"}, None)
    assert options.build(opts.to_dict(), None) == opts


def test_the_example_profiles_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(options.PROFILE_ENV, str(REPO / "slurm/profiles.example.toml"))
    for name in ("cpu", "gpu", "a100", "laptop"):
        settings = options.load_profile(name)
        assert settings and set(settings) <= set(options.FIELDS)


def test_help_lists_every_setting_under_its_panel(cli: Callable[..., Result]) -> None:
    result = cli("submit", "markov", "--help")
    assert result.exit_code == 0
    assert "Executor options (sbatch names)" in result.stdout
    for name in options.FIELDS:
        assert options.flag(name) in result.stdout, name


def test_bad_executor_value_is_one_line(
    cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(
        cli("submit", "markov", "--executor", "cloud"), "--executor", "cloud", "auto, slurm, local, debug"
    )
    assert not any(tmp_path.iterdir())


def test_mail_goes_only_to_the_job_that_ends_a_sweep() -> None:
    """Settings of seqjobs' own, not sbatch lines of every job: only the sweep's last job gets :meth:`mail`."""
    assert "mail_user" not in options.SLURM_PARAMETERS and "mail_type" not in options.SLURM_PARAMETERS
    assert options.ExecutorOptions().mail() == {}
    given = options.ExecutorOptions(executor="slurm", mail_user="lab@example.org")
    assert given.mail() == {"mail_type": "END", "mail_user": "lab@example.org"}  # END unless told otherwise
    assert options.ExecutorOptions(mail_type="FAIL").mail() == {"mail_type": "FAIL"}  # to the submitting user
    assert given.without_mail().mail() == {} and given.without_mail().executor == "slurm"


def test_mail_off_slurm_is_one_line(
    cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(
        cli("sweep", "markov", "--grid", "order=1,2", "--executor", "local", "--mail-user", "lab@example.org"),
        "--mail-user/--mail-type need --executor slurm (not local)",
    )
    assert not any(tmp_path.iterdir())
