"""Submitting runs as jobs: everything between a validated config and a job the scheduler accepted.

:mod:`~jobs.engine.options` (executor settings and profiles),
:mod:`~jobs.engine.sweep` (grid expansion and run names),
:mod:`~jobs.engine.launch` (what to submit, never twice),
:mod:`~jobs.engine.submission` (job arrays, time limits),
:mod:`~jobs.engine.snapshot` (the code a job imports, frozen at submission),
:mod:`~jobs.engine.executors` (submitit executors for SLURM, local and debug),
:mod:`~jobs.engine.local_controller` (the local jobs' controller process),
:mod:`~jobs.engine.jobfn` (the function a job runs) and
:mod:`~jobs.engine.control` (cancel, resubmit). It reads run states through
:mod:`jobs.monitor` and asks SLURM through :mod:`jobs.scheduler`; nothing here imports the CLI.
"""
