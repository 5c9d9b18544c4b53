"""``python -m jobs`` is the ``seqjobs`` command (handy where the console script is not on PATH)."""

from jobs.cli import main

main()
