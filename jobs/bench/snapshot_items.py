"""``seqjobs bench``'s code-snapshot items: what freezing the code costs each submission.

Every ``submit``, ``sweep`` and ``resubmit`` takes a snapshot of the code its
jobs will import (:func:`jobs.engine.snapshot.take`): it hashes the packages'
files and, the first time a code state is seen, copies them into the store.
Both cases are timed as a submission meets them: a store that lacks this
code (a new folder each repeat), and one that has it.
"""

from __future__ import annotations

from pathlib import Path

from jobs.bench.harness import Row, Target, repeat, timed
from jobs.bench.sizes import Sizes
from jobs.engine.snapshot import source_files, take

ITEMS = ["snapshot_new", "snapshot_existing"]


def snapshot_rows(sizes: Sizes, work: Path) -> list[Row]:
    """Taking a snapshot that is not there yet, and one that is."""
    files = len(source_files())
    attempt = iter(range(1 << 30))
    new = repeat(timed(lambda: take(work / f"store-{next(attempt)}")), sizes.repeats)
    take(work / "store")
    existing = repeat(timed(lambda: take(work / "store")), sizes.repeats)
    note = f"jobs/ and seqtasks/ ({files} files): hashed, then"
    return [
        Row(
            "snapshot_new",
            "code snapshot taken, not in the store yet",
            "s",
            None,
            new,
            Target("<= 1 s", max_value=1.0),
            note=f"{note} copied into a new store folder and renamed into place",
        ),
        Row(
            "snapshot_existing",
            "code snapshot taken, already in the store",
            "s",
            None,
            existing,
            Target("<= 0.3 s", max_value=0.3),
            note=f"{note} found in the store (what every later submission pays)",
        ),
    ]
