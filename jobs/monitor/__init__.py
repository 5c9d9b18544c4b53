"""Reading what runs are doing, without changing anything.

:mod:`~jobs.monitor.status` (the state of every run, from its folder first,
then what :mod:`jobs.scheduler` says of its job),
:mod:`~jobs.monitor.waiting` (polling until runs end) and
:mod:`~jobs.monitor.collect` (completed runs as tables). Nothing here imports
the engine, the CLI or TensorFlow.
"""
