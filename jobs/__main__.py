"""``python -m jobs`` is the ``seqjobs`` command (handy where the console script is not on PATH)."""

from jobs.cli import main

if __name__ == "__main__":  # not again in a child process that multiprocessing spawns from this one
    main()
