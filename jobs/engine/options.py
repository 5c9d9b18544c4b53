"""Executor settings: declared once, parsed in one place, from the command line or a profile.

Each setting is a field of :class:`ExecutorOptions` with its help text (field
metadata, as task configs carry theirs): the CLI generates its options from
the fields, and a profile (a named table of the same settings in a TOML file)
is checked against them. Settings are spelled as sbatch spells them
(``--partition``, ``--gpus-per-node``, ``--time`` in minutes...); options
given on the command line override the profile. Every value, typed in or read
from a profile or a run's ``job.json``, goes through :func:`parse_setting`, so
one mistake gets one message wherever it was made.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from jobs.text import refuse_control, shown
from seqtasks.errors import UserError
from seqtasks.rundir.safe import MAX_NESTING, Damaged, check_nesting

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PROFILE_ENV = "SEQJOBS_PROFILES"
#: no scheduler setting is a number this large; bigger ones overflow sbatch's 32-bit fields
MAX_INT = 2**31 - 1


def setting(help: str, *, default: Any = None, minimum: int = 1, slurm: str | None = "") -> Any:
    """An executor setting with its CLI help; ``minimum`` bounds integer settings (GPUs may be 0).

    ``slurm`` names the parameter of submitit's ``SlurmExecutor`` it sets:
    ``""`` for the same name, ``None`` for a setting of seqjobs' own.
    """
    return field(default=default, metadata={"help": help, "minimum": minimum, "slurm": slurm})


@dataclass(frozen=True)
class ExecutorOptions:
    """Where and how jobs run. ``None`` means "not set": the scheduler's default."""

    executor: Literal["auto", "slurm", "local", "debug"] = setting(
        "Where jobs run; auto (the default) is slurm where sbatch exists, else local; debug runs in this process.",
        default="auto",
        slurm=None,
    )
    partition: Optional[str] = setting("SLURM partition.")
    gpus_per_node: Optional[int] = setting("GPUs per node.", minimum=0)
    gres: Optional[str] = setting("Generic resources, e.g. gpu:1.")
    cpus_per_task: Optional[int] = setting("CPU cores per job (TensorFlow's threads follow it).")
    mem: Optional[str] = setting("Memory per node, e.g. 4G.")
    time: Optional[int] = setting("Time limit in minutes (the job checkpoints and requeues when it is reached).")
    qos: Optional[str] = setting("Quality of service.")
    account: Optional[str] = setting("Account to charge.")
    constraint: Optional[str] = setting("Node features required.")
    exclude: Optional[str] = setting("Nodes to avoid.")
    array_parallelism: Optional[int] = setting("Most runs at once (local default: cores / cpus-per-task).")
    signal_delay: Optional[int] = setting(
        "Seconds before the time limit at which the job checkpoints.", slurm="signal_delay_s"
    )
    runs_per_task: Optional[int] = setting(
        "SLURM: runs per array task, run one after another in one process (default 1); "
        "local workers already run many runs each.",
        slurm=None,
    )
    max_submit: Optional[int] = setting(
        "SLURM: most jobs of yours queued at once (default: the limit sacctmgr shows for your association "
        "and QOS); a larger sweep is submitted chunk by chunk from the cluster.",
        slurm=None,
    )
    after: Optional[str] = setting(
        "SLURM: start the jobs only once job AFTER (one of yours, e.g. the data preparation) has completed "
        "successfully (sbatch --dependency=afterok:AFTER).",
        slurm=None,
    )
    mail_user: Optional[str] = setting(
        "SLURM: mail this address when the sweep ends: one mail, from the sweep's last job, not one per array task.",
        slurm=None,
    )
    mail_type: Optional[str] = setting(
        "SLURM: which events of the sweep's last job are mailed, as sbatch --mail-type: END (the default with "
        "--mail-user), FAIL, ALL, or several joined by commas.",
        slurm=None,
    )
    max_stalled: Optional[int] = setting(
        "Fail a run after this many attempts in a row stopped by the time limit before committing an epoch "
        "(default 3; preemptions do not count).",
        slurm=None,
    )

    def mail(self) -> dict[str, str]:
        """The sbatch mail parameters for the sweep's last job; ``{}`` when no mail is asked for.

        Only the job that ends a sweep carries them (the last array of a plain
        sweep, the promotion job behind the last rung, the worker array of an
        asynchronous search): given to every job, a sweep of a thousand runs
        would send a thousand mails.
        """
        if self.mail_user is None and self.mail_type is None:
            return {}
        return {"mail_type": self.mail_type or "END", **({"mail_user": self.mail_user} if self.mail_user else {})}

    def without_mail(self) -> ExecutorOptions:
        """These settings for jobs that do not end the sweep (a halving sweep's rungs)."""
        return dataclasses.replace(self, mail_user=None, mail_type=None)

    def resolved_executor(self) -> str:
        """``auto`` becomes ``slurm`` where ``sbatch`` is on the PATH, else ``local``."""
        if self.executor != "auto":
            return self.executor
        return "slurm" if shutil.which("sbatch") else "local"

    def to_dict(self) -> dict[str, Any]:
        """Only the settings that are set, for manifests."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    def threads(self) -> int | None:
        """TensorFlow's threads in each job: ``--cpus-per-task``; local workers given only ``--array-parallelism``
        get their share of the cores (else each would use every core, and N workers would fight over them)."""
        if self.cpus_per_task or not self.array_parallelism or self.resolved_executor() != "local":
            return self.cpus_per_task
        return max(1, (os.cpu_count() or 1) // self.array_parallelism)

    def parallelism(self) -> int:
        """How many jobs of a sweep may run at once (local: cores / cpus-per-task by default)."""
        if self.array_parallelism:
            return self.array_parallelism
        if self.resolved_executor() == "slurm":
            return 0  # no throttle: the cluster's scheduler decides
        return max(1, (os.cpu_count() or 1) // (self.cpus_per_task or 1))


FIELDS = {f.name: f for f in dataclasses.fields(ExecutorOptions)}
#: setting -> the SlurmExecutor parameter it sets, for the settings that reach sbatch
SLURM_PARAMETERS = {name: f.metadata["slurm"] or name for name, f in FIELDS.items() if f.metadata["slurm"] is not None}
#: each setting's type with ``Optional`` taken off: ``int``, ``str`` or a ``Literal[...]`` of choices
SETTING_TYPES = {
    name: next(a for a in typing.get_args(tp) if a is not type(None)) if typing.get_origin(tp) is typing.Union else tp
    for name, tp in typing.get_type_hints(ExecutorOptions).items()
}


def flag(name: str) -> str:
    """``gpus_per_node`` -> ``--gpus-per-node``: how messages name a setting."""
    return "--" + name.replace("_", "-")


def choices(name: str) -> tuple[str, ...] | None:
    """The values setting ``name`` allows when it is a ``Literal``, else ``None``."""
    tp = SETTING_TYPES[name]
    return tuple(typing.get_args(tp)) if typing.get_origin(tp) is Literal else None


def parse_setting(name: str, raw: Any) -> Any:
    """Setting ``name`` from ``raw``: text from the command line, or a TOML/JSON value; ``None`` stays unset.

    Raises :class:`UserError` naming the option. Strings go into ``#SBATCH``
    lines of a shell script: a newline (or any other control character) would
    start a line of its own, so they are refused here. A TOML ``true`` or
    ``1.5`` is not a number of GPUs; text such as ``"4"`` is (it is what the
    command line gives).
    """
    if raw is None:
        return None
    allowed = choices(name)
    if allowed is not None:
        if raw not in allowed:
            raise UserError(f"{flag(name)}: unknown value {_shown(raw)}; use one of {', '.join(allowed)}")
        return raw
    if SETTING_TYPES[name] is int:
        return _parse_int(name, raw)
    if not isinstance(raw, str):
        raise UserError(f"{flag(name)} must be text (got {_shown(raw)})")
    refuse_control(flag(name), raw)
    if not raw.strip():
        raise UserError(f"{flag(name)} is empty; leave it out to use the scheduler's default")
    if name == "mail_type":
        _check_mail_type(raw)
    return raw


#: sbatch's --mail-type events; ARRAY_TASKS is left out on purpose (one mail per task is what the setting avoids)
MAIL_TYPES = (
    "NONE BEGIN END FAIL REQUEUE ALL INVALID_DEPEND STAGE_OUT TIME_LIMIT TIME_LIMIT_90 TIME_LIMIT_80 TIME_LIMIT_50"
).split()


def _check_mail_type(raw: str) -> None:
    """``--mail-type`` is a comma-separated list of sbatch's events (sbatch itself would refuse others at submission)."""
    for event in raw.split(","):
        if event.strip().upper() == "ARRAY_TASKS":
            raise UserError(
                "--mail-type ARRAY_TASKS would mail once per array task; seqjobs mails once, from the sweep's last job"
            )
        if event.strip().upper() not in MAIL_TYPES:
            raise UserError(f"--mail-type: unknown event {_shown(event)}; use one or more of {', '.join(MAIL_TYPES)}")


def _parse_int(name: str, raw: Any) -> int:
    """An integer setting within ``[minimum, MAX_INT]``, from an int or its decimal text."""
    minimum = FIELDS[name].metadata["minimum"]
    value: Any = raw
    if isinstance(raw, str) and raw.strip().lstrip("+-").isdigit():
        value = int(raw.strip())
    if type(value) is not int or value < minimum:  # not isinstance: bool is an int subclass
        raise UserError(f"{flag(name)} must be an integer >= {minimum} (got {_shown(raw)})")
    if value > MAX_INT:
        raise UserError(f"{flag(name)} must be <= {MAX_INT} (got {value})")
    return value


def _shown(raw: Any) -> str:
    """A value as the user wrote it, on one line: text quoted, TOML's ``true`` as ``true``."""
    if isinstance(raw, str):
        text = shown(raw)
        return f"'{text}'" if len(text) <= 80 else f"'{text[:80]}...'"
    if isinstance(raw, bool):
        return str(raw).lower()
    return repr(raw)


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
    """Settings of profile ``name`` from the first profile file that defines it, parsed."""
    searched = []
    for path in profile_files():
        if not path.exists():
            continue
        searched.append(str(path))
        table = _profile_table(path)
        if name in table:
            return _profile_settings(table[name], f"profile '{name}' in {path}", name)
    where = ", ".join(searched) if searched else "none found; looked for " + ", ".join(map(str, profile_files()))
    raise UserError(
        f"unknown profile '{name}' (profile files: {where}); define it as a TOML table, "
        f"see slurm/profiles.example.toml, or point {PROFILE_ENV} at your file"
    )


def _profile_table(path: Path) -> dict[str, Any]:
    """The TOML tables of a profile file; one line for a file that is not a regular, UTF-8, TOML file of ours.

    Opened only once known to be a regular file (a FIFO would block the
    command); a file nested past :data:`~seqtasks.rundir.safe.MAX_NESTING`
    levels is refused rather than crashing the TOML reader.
    """
    if not path.is_file():
        raise UserError(f"profile file {path} is not a regular file; point {PROFILE_ENV} at a TOML file, or remove it")
    try:
        table: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        check_nesting(table, path)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise UserError(f"cannot read profile file {path}: {err}") from None
    except RecursionError:
        raise UserError(
            f"cannot read profile file {path}: nests deeper than the {MAX_NESTING} levels it can have"
        ) from None
    except Damaged as err:
        raise UserError(f"cannot read profile file {err.path}: {err.reason}") from None
    return table


def _profile_settings(table: Any, where: str, name: str) -> dict[str, Any]:
    """A profile's table, every key a known setting and every value parsed as the command line's would be."""
    if not isinstance(table, dict):
        raise UserError(f'{where} must be a table, e.g. {name} = {{partition = "gpu"}}')
    unknown = sorted(set(table) - set(FIELDS))
    if unknown:
        raise UserError(f"{where} has unknown setting(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    settings = {}
    for key, value in table.items():
        try:
            settings[key] = parse_setting(key, value)
        except UserError as err:
            raise UserError(f"{where}, setting {key}: {err}") from None
    return settings


def build(given: dict[str, Any], profile: Optional[str]) -> ExecutorOptions:
    """Profile settings overridden by the ``given`` ones (command line or ``job.json``; ``None``: not given), validated.

    Raises :class:`UserError` for the first bad value, and for ``--executor
    slurm`` where ``sbatch`` is not on the PATH, before anything is submitted.
    """
    values: dict[str, Any] = load_profile(profile) if profile else {}
    unknown = sorted(set(given) - set(FIELDS))
    if unknown:
        raise UserError(f"unknown executor setting(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    values.update({k: parse_setting(k, v) for k, v in given.items() if v is not None})
    opts = ExecutorOptions(**values)
    if opts.resolved_executor() == "slurm" and not shutil.which("sbatch"):
        raise UserError(
            "--executor slurm: sbatch is not on this machine's PATH; use --executor local, or run on a SLURM login node"
        )
    return opts
