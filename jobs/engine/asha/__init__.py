"""Asynchronous successive halving (``seqjobs sweep ... --halving --halving-mode async``): workers that pull work.

- :mod:`~jobs.engine.asha.rule`: the decisions, pure functions over rung records (what is promotable, what a
  closed rung decides, when the search is complete), for tests and simulations;
- :mod:`~jobs.engine.asha.search`: the protocol over the sweep's ``.asha/`` folder
  (:mod:`seqtasks.rundir.ashadir`): take the next piece of work, record its result;
- :mod:`~jobs.engine.asha.worker`: the job each worker runs, training what the search hands it;
- :mod:`~jobs.engine.asha.start`: the sweep command's part: record the plan, create the runs, submit workers.
"""
