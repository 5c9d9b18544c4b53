"""seqjobs as a library: sweeps from Python, and what a user's own task imports.

``seqjobs.sweep(...)``, ``seqjobs.run(...)``, ``seqjobs.open(path)`` and
``seqjobs.collect(paths)`` are the CLI's commands with Python values
(docs/python-api.md); a mistake raises :class:`UserError` with the CLI's
one-line message. A user's task is a function ``run(config, run_dir) -> dict``
whose config is a dataclass; :func:`task` declares which figure ranks its
runs (docs/own-task.md). Importing this package imports neither TensorFlow
nor pandas.
"""

from seqjobs.api import Sweep, collect, open, run, sweep
from seqtasks.errors import UserError
from seqtasks.tasks import task

__all__ = ["Sweep", "UserError", "collect", "open", "run", "sweep", "task"]
