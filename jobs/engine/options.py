"""Executor settings: sbatch-named options, profiles from TOML, validation.

Options are spelled as sbatch spells them (``--partition``, ``--gpus-per-node``,
``--time`` in minutes...). A profile is a named table of the same settings in
a TOML file; options given on the command line override it. Everything is
checked here, before anything is submitted.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from jobs.text import refuse_control
from seqtasks.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

EXECUTORS = ("auto", "slurm", "local", "debug")
PROFILE_ENV = "SEQJOBS_PROFILES"


@dataclass(frozen=True)
class ExecutorOptions:
    """Where and how jobs run. ``None`` means "not set": the scheduler's default."""

    executor: str = "auto"
    partition: Optional[str] = None
    gpus_per_node: Optional[int] = None
    gres: Optional[str] = None
    cpus_per_task: Optional[int] = None
    mem: Optional[str] = None
    time: Optional[int] = None
    qos: Optional[str] = None
    account: Optional[str] = None
    constraint: Optional[str] = None
    exclude: Optional[str] = None
    array_parallelism: Optional[int] = None
    signal_delay: Optional[int] = None
    #: attempts in a row that commit no epoch before a run fails (None: jobs.engine.jobfn's default)
    max_stalled: Optional[int] = None

    def resolved_executor(self) -> str:
        """``auto`` becomes ``slurm`` where ``sbatch`` is on the PATH, else ``local``."""
        if self.executor != "auto":
            return self.executor
        return "slurm" if shutil.which("sbatch") else "local"

    def to_dict(self) -> dict[str, Any]:
        """Only the settings that are set, for manifests."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    def parallelism(self) -> int:
        """How many jobs of a sweep may run at once (local: cores / cpus-per-task by default)."""
        if self.array_parallelism:
            return self.array_parallelism
        if self.resolved_executor() == "slurm":
            return 0  # no throttle: the cluster's scheduler decides
        return max(1, (os.cpu_count() or 1) // (self.cpus_per_task or 1))


FIELDS = {f.name: f for f in dataclasses.fields(ExecutorOptions)}
#: each setting's value type (``Optional[int]`` -> ``int``), for checking profile files
FIELD_TYPES = {
    name: int if int in (tp, *typing.get_args(tp)) else str
    for name, tp in typing.get_type_hints(ExecutorOptions).items()
}
#: no scheduler setting is a number this large; bigger ones overflow sbatch's 32-bit fields
MAX_INT = 2**31 - 1


def profile_files() -> list[Path]:
    """Where profiles are looked up, first match wins."""
    files = []
    if os.environ.get(PROFILE_ENV):
        files.append(Path(os.environ[PROFILE_ENV]))
    files.append(Path("seqjobs-profiles.toml"))
    base = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    files.append(base / "seqjobs" / "profiles.toml")
    return files


def load_profile(name: str) -> dict[str, Any]:
    """Settings of profile ``name`` from the first profile file that defines it, each of its setting's type."""
    searched = []
    for path in profile_files():
        if not path.is_file():
            continue
        searched.append(str(path))
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            raise UserError(f"cannot read profile file {path}: {err}") from None
        if name in table:
            settings = table[name]
            if not isinstance(settings, dict):
                raise UserError(f"profile '{name}' in {path} must be a table, e.g. {name} = {{partition = \"gpu\"}}")
            unknown = sorted(set(settings) - set(FIELDS))
            if unknown:
                raise UserError(
                    f"profile '{name}' in {path} has unknown setting(s) {', '.join(unknown)}; "
                    f"known: {', '.join(FIELDS)}"
                )
            for key, value in settings.items():
                _check_type(key, value, f"profile '{name}' in {path}")
            return settings
    where = ", ".join(searched) if searched else "none found; looked for " + ", ".join(map(str, profile_files()))
    raise UserError(
        f"unknown profile '{name}' (profile files: {where}); define it as a TOML table, "
        f"see slurm/profiles.example.toml, or point {PROFILE_ENV} at your file"
    )


def _check_type(key: str, value: Any, where: str) -> None:
    """A profile value has its setting's type: TOML's ``true`` or ``1.5`` is not a number of GPUs."""
    want = FIELD_TYPES[key]
    if type(value) is not want:  # not isinstance: bool is an int subclass
        label = "an integer" if want is int else "a string"
        raise UserError(f"{where}: {key} must be {label} (got {value!r})")


def build(cli: dict[str, Any], profile: Optional[str]) -> ExecutorOptions:
    """Profile settings overridden by the options given on the command line, validated."""
    values: dict[str, Any] = dict(load_profile(profile)) if profile else {}
    values.update({k: v for k, v in cli.items() if v is not None})
    opts = ExecutorOptions(**values)
    check(opts)
    return opts


def check(opts: ExecutorOptions) -> None:
    """Raise :class:`UserError` for settings no scheduler would accept, or that could inject a script line.

    Every string goes into an ``#SBATCH`` line of a shell script: a newline
    (or any other control character) would start a line of its own.
    """
    for name in FIELDS:
        value = getattr(opts, name)
        if isinstance(value, str):
            refuse_control(_flag(name), value)
            if not value.strip():
                raise UserError(f"{_flag(name)} is empty; leave it out to use the scheduler's default")
    if opts.executor not in EXECUTORS:
        raise UserError(f"unknown executor '{opts.executor}'; use one of {', '.join(EXECUTORS)}")
    for name in ("gpus_per_node", "cpus_per_task", "time", "array_parallelism", "signal_delay", "max_stalled"):
        value = getattr(opts, name)
        if value is None:
            continue
        minimum = 0 if name == "gpus_per_node" else 1
        if type(value) is not int or value < minimum:
            raise UserError(f"{_flag(name)} must be an integer >= {minimum} (got {value})")
        if value > MAX_INT:
            raise UserError(f"{_flag(name)} must be <= {MAX_INT} (got {value})")
    if opts.resolved_executor() == "slurm" and not shutil.which("sbatch"):
        raise UserError("--executor slurm: sbatch is not on this machine's PATH; use --executor local, or run on a SLURM login node")


def _flag(name: str) -> str:
    """``gpus_per_node`` -> ``--gpus-per-node``."""
    return "--" + name.replace("_", "-")
