"""Reading what runs are doing: no run or sweep folder is changed from here.

:mod:`~jobs.monitor.finding` finds run folders, :mod:`~jobs.monitor.reading`
reads one strictly into typed records, :mod:`~jobs.monitor.rows` makes its
status row (the state itself is :func:`seqtasks.rundir.states.classify`'s,
asked with what :mod:`jobs.scheduler` says of its job),
:mod:`~jobs.monitor.status` surveys many (through the cache of ended runs,
:mod:`~jobs.monitor.index`), :mod:`~jobs.monitor.spend` prices what each
spent (sacct's allocations, else what its folder measured),
:mod:`~jobs.monitor.logs` reads job log tails,
:mod:`~jobs.monitor.waiting` polls until runs end and
:mod:`~jobs.monitor.collect` turns completed runs into tables. What it
writes is only what it is asked for (``collect``'s tables) and its own cache
(the index, outside any run folder). Nothing here imports the engine, the
CLI or TensorFlow.
"""
