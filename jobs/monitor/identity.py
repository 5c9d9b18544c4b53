"""What identifies a row of ``collect``'s tables, so that the same run met twice is one row.

A run is the same run when its identity (``run_id``: recorded in its
``config.json`` when it was created, or derived for an older run, see
:func:`run_identity`), its sweep's name and its folder's name agree
(:data:`KEY`). The names are part of the key so that a copy of a run folder
under another name (``cp -r``) stays a row of its own, as it is a folder of
its own; the identity tells apart two runs of the same name made on two
clusters.

Every table ``collect`` writes carries the key and where each row came from
(:data:`SOURCE`), and its format (:data:`FORMAT`, the last column: a row
that lacks it was cut short).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from seqtasks.config import fields_by_name, resumable_fields, with_defaults
from seqtasks.rundir.records import derived_run_id
from seqtasks.tasks import TASKS

#: the column of a run's identity
RUN_ID = "run_id"
#: the column naming where a row came from: the folder or table given to ``collect``
SOURCE = "source"
#: the column of the table's format, written last in every row
FORMAT = "table_format"
#: the format of the tables ``collect`` writes; 1: a table written before tables carried one (no ``table_format``);
#: 3: a per-epoch table keeps every parameter's value (see :data:`EPOCHS_KEEP_PARAMETERS`)
TABLE_FORMAT = 3
#: the first format whose per-epoch tables keep each parameter: older ones put a ``metrics.csv`` column named as
#: a parameter (``lr``, the rate each epoch trained with, which a schedule changes) in the parameter's place
EPOCHS_KEEP_PARAMETERS = 3
#: the columns that say two rows are the same run
KEY = [RUN_ID, "sweep", "run"]


@functools.cache
def _identifying(task: str) -> tuple[tuple[str, Any], ...]:
    """The parameters of ``task`` a derived identity hashes, with their defaults: all but those a resume may change.

    ``epochs`` grows when a run is extended; the extended run is the same
    run (with other figures: a conflict, not a second row).
    """
    cls = TASKS[task].config_cls
    defaults = with_defaults(cls, {})
    skip = resumable_fields(cls)
    return tuple((name, defaults[name]) for name in fields_by_name(cls) if name not in skip)


def run_identity(task: str, sweep: str, run: str, run_id: str | None, params: Mapping[str, Any]) -> str:
    """A row's identity: the recorded ``run_id``, else the one derived from its names and ``params``.

    ``params``: the run's parameters (a config's, or a table row's, typed
    back). Only those that differ from their default are hashed: an option
    added to a task later defaults to what runs did before it existed, so a
    table written before it and the folder read after it derive one identity.
    """
    if run_id:
        return run_id
    defaults = dict(_identifying(task))
    changed = {name: params[name] for name in defaults if name in params and params[name] != defaults[name]}
    return derived_run_id(task, sweep, run, changed)
