"""``seqjobs bench``'s task-level items: the tutorial's way against seqjobs' own code paths.

Each item runs a baseline written as the tutorial writes it
(:mod:`seqtasks.bench.tutorial`) and the function the seqjobs task really
calls, alternating, in one process (peak RSS: in fresh child processes).
Job-overhead items (submitting, sweeping, collecting) need submitit and live
in :mod:`jobs.bench_jobs`.
"""
