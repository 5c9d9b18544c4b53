"""Run and sweep folders: the one module that owns every file of a run.

Every file of a run folder and of a sweep folder, its typed record and every
state change (claim, commit an epoch, complete, fail, requeue, cancel,
resubmit) goes through this package; nothing else writes them. The contract
is written down in ``docs/run-folder.md``.

- :mod:`~seqtasks.rundir.folder`: :class:`RunDir`, a run's files and state changes;
- :mod:`~seqtasks.rundir.epochs`: the end-of-epoch commit and the rollback to it;
- :mod:`~seqtasks.rundir.claim`: one writer per run (an owner file that holds across nodes);
- :mod:`~seqtasks.rundir.sweepdir`: the sweep manifest, under the sweep's lock;
- :mod:`~seqtasks.rundir.records`: the typed records, checked when read, each with its format;
- :mod:`~seqtasks.rundir.states`: the states of a run, their groups and transitions;
- :mod:`~seqtasks.rundir.safe`: reading folders we did not write (no symlinks, no pickles).
"""

from seqtasks.rundir.claim import Claimed, owner_alive
from seqtasks.rundir.folder import AttemptClosed, RunDir, disk_full
from seqtasks.rundir.safe import Damaged, read_json
from seqtasks.rundir.sweepdir import SweepDir
from seqtasks.rundir.time import elapsed, now_iso

__all__ = [
    "AttemptClosed",
    "Claimed",
    "Damaged",
    "RunDir",
    "SweepDir",
    "disk_full",
    "elapsed",
    "now_iso",
    "owner_alive",
    "read_json",
]
