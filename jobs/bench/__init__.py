"""``seqjobs bench``: seqjobs timed against the tutorial's way, one package.

Task-level items run a baseline written as the tutorial writes it
(:mod:`jobs.bench.tutorial`) and the function the seqjobs task really calls,
alternating, in one process (peak RSS: in fresh child processes,
:mod:`jobs.bench.child`); their groups are :mod:`jobs.bench.markov_items`,
:mod:`jobs.bench.charlm_items` and :mod:`jobs.bench.imdb_items`. Job-overhead
items (submitting, sweeping, collecting) call the engine and the monitor
directly, in :mod:`jobs.bench.overhead`. :mod:`jobs.bench.run` runs a group,
:mod:`jobs.bench.report` writes the table; ``seqjobs bench``
(:mod:`jobs.cli.bench`) is the command. The preemption soak
(:mod:`jobs.bench.preempt`, ``python -m jobs.bench.preempt``) is no timed
item: it counts what preemptions at random moments cost the runs (nothing).
"""
