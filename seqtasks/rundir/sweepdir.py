"""A sweep folder: its manifest ``sweep.json``, changed only under the sweep's lock.

Two ``seqjobs sweep`` commands on the same sweep must not both decide that a
run needs submitting, and must not overwrite each other's manifest. Each
takes ``sweep.lock`` (the same owner file as a run's claim, so it holds
across login nodes) for the whole read-decide-submit-record step; the second
waits for the first, then sees its jobs.

The manifest names every run of a submission before any of them is created
or submitted (:meth:`SweepDir.record`, then :meth:`SweepDir.record_jobs`): a
submission cut short (a kill, a full disk) leaves a sweep that lists the
runs it never submitted, and the same command submits them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any, Iterator

from seqtasks import atomic
from seqtasks.errors import UserError
from seqtasks.rundir.claim import TAKEOVER, OwnerFile
from seqtasks.rundir.records import HalvingRecord, Manifest, RungRecord, dump, load
from seqtasks.rundir.safe import MAX_MANIFEST_BYTES, Damaged, check_regular, read_object
from seqtasks.rundir.time import now_iso

MANIFEST = "sweep.json"
LOCK = "sweep.lock"
#: what a sweep folder holds besides its run folders and temporary files (``.asha``: an asynchronous halving
#: sweep's rung records, :mod:`seqtasks.rundir.ashadir`)
OURS = {MANIFEST, LOCK, LOCK + TAKEOVER, ".submitit", ".asha"}
#: ``sweep_options.halving`` of an asynchronous halving sweep (a synchronous one records ``true``)
ASYNC_HALVING = "async"
#: a folder holding this is a run, not a sweep
RUN_CONFIG = "config.json"
#: how long a second sweep command waits for the first one to finish submitting
LOCK_WAIT_S = 600.0


class SweepDir:
    """One sweep's folder: run folders named by their parameters, plus the manifest."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def halving(self) -> HalvingRecord | None:
        """The halving plan and rungs (``rungs`` as :class:`RungRecord`); ``None`` for a grid sweep or no manifest."""
        manifest = self.manifest()
        return None if manifest is None else halving_of(manifest, self.path / MANIFEST)

    def manifest(self) -> Manifest | None:
        """``sweep.json``; ``None`` when missing, :class:`Damaged` when unreadable."""
        obj = read_object(self.path / MANIFEST, self.path, MAX_MANIFEST_BYTES)
        if obj is None:
            return None
        try:
            return load(Manifest, obj)
        except ValueError as err:
            raise Damaged(self.path / MANIFEST, str(err)) from None

    def check_adding(self, task: str, halving: bool) -> Manifest | None:
        """The manifest, after refusing a folder runs of ``task`` (a halving sweep or not) cannot be added to.

        Called before anything is written or submitted: a file, a run folder,
        a folder that is not a sweep (anything in it but run folders and
        seqjobs' own files), a damaged manifest, a sweep of another task, and
        a grid sweep for a halving one or the other way round are each one line.
        """
        where = f"--name {self.path.name} ({self.path})"
        if self.path.exists() and not self.path.is_dir():
            raise UserError(f"{where} exists and is not a folder; choose another --name or --root")
        if (self.path / RUN_CONFIG).exists():
            raise UserError(f"{where} is a run folder, not a sweep; choose another --name")
        try:
            manifest = self.manifest()
        except Damaged as err:
            raise UserError(f"{err}; repair or move it away before adding to this sweep") from None
        if manifest is None:
            self._check_no_strangers(where)
            return None
        if manifest.task != task:
            raise UserError(f"{where} is a '{manifest.task}' sweep, not '{task}'; choose another --name")
        if manifest.halving is not None and not halving:
            raise UserError(
                f"{where} is a halving sweep; continue it with the same --halving options, "
                "or give this sweep another --name"
            )
        if manifest.halving is None and halving:
            raise UserError(f"{where} is a grid sweep; give the halving sweep another --name")
        return manifest

    def _check_no_strangers(self, where: str) -> None:
        """A folder without a manifest is a sweep only if it holds nothing but run folders and our own files
        (a submission cut before its first manifest, or made by a version that wrote the manifest last)."""
        if not self.path.is_dir():
            return
        for entry in os.scandir(self.path):
            if entry.name in OURS or atomic.is_temporary(entry.name):
                continue
            if not (entry.is_dir(follow_symlinks=False) and os.path.exists(os.path.join(entry.path, RUN_CONFIG))):
                raise UserError(
                    f"{where} is not empty and is not a seqjobs sweep (no {MANIFEST}; it holds "
                    f"'{entry.name}'); choose another --name"
                )

    @contextlib.contextmanager
    def restored_if_refused(self) -> Iterator[None]:
        """Put ``sweep.json`` back as it was when the block is refused (:class:`UserError`: nothing submitted)."""
        path = self.path / MANIFEST
        before = path.read_bytes() if path.is_file() else None
        try:
            yield
        except UserError:
            if before is None:
                atomic.remove(path)
            else:
                atomic.write_bytes(path, before)
            raise

    @contextlib.contextmanager
    def locked(self, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
        """Hold the sweep's lock for the block (waits for another sweep command to finish).

        A sweep folder this call created is removed again when the block is
        refused (a :class:`UserError`: nothing was submitted, so nothing is
        left); any other failure -- a kill, a full disk -- may come after jobs
        were submitted into it, and leaves it for the same command to complete.
        """
        if self.path.exists() and not self.path.is_dir():
            raise UserError(f"{self.path} exists and is not a folder; choose another --name or --root")
        created = next((p for p in reversed([self.path, *self.path.parents]) if not p.exists()), None)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UserError(f"cannot create sweep folder {self.path}: {err.strerror}; choose another --root") from None
        try:  # a FIFO or a folder in the lock's place would be waited on as a lock held for good
            check_regular(self.path / LOCK)
        except Damaged as err:
            raise UserError(f"{err}; remove it (no seqjobs command uses it), then try again") from None
        try:
            with OwnerFile(self.path / LOCK, f"sweep {self.path}").held(wait_s=wait_s):
                yield
        except UserError:
            if created is not None:
                shutil.rmtree(created, ignore_errors=True)
            raise

    def record(
        self,
        task: str,
        runs: dict[str, dict[str, Any]],
        jobs: dict[str, str],
        base: dict[str, Any],
        sweep_options: dict[str, Any],
        executor: dict[str, Any],
        halving: HalvingRecord | None = None,
    ) -> Manifest:
        """Merge a submission into ``sweep.json`` (call under :meth:`locked`).

        ``runs``: every run of the sweep command by name -> parameters;
        ``jobs``: run name -> job id for the runs submitted now;
        ``sweep_options``: the command's options, merged over those recorded before; ``halving``:
        the halving record as it stands after this submission (same write).
        """
        try:
            manifest = self.manifest()
        except Damaged as err:
            raise UserError(f"{err}; repair or move it away before adding to this sweep") from None
        if manifest is None:
            manifest = Manifest(name=self.path.name, task=task, created_at=now_iso())
        if manifest.task != task:
            raise UserError(f"{self.path} is a '{manifest.task}' sweep, not '{task}'; choose another --name")
        by_name = {r["name"]: r for r in manifest.runs if isinstance(r, dict) and "name" in r}
        for name, params in runs.items():
            by_name.setdefault(name, {"name": name, "dir": name})["params"] = params
        manifest.runs = list(by_name.values())
        _note_jobs(manifest, jobs)
        # merged, not replaced: a plain grid command on a random search's folder must not drop its sampler seed
        manifest.sweep_options = {**manifest.sweep_options, **sweep_options}
        manifest.base, manifest.updated_at = base, now_iso()
        if jobs:
            manifest.executor = executor
        if halving is not None:
            manifest.halving = dump_halving(halving)
        atomic.write_json(self.path / MANIFEST, dump(manifest))
        return manifest

    def record_jobs(self, jobs: dict[str, str], executor: dict[str, Any] | None = None) -> None:
        """Note the jobs of runs :meth:`record` listed, once they are submitted (call under :meth:`locked`).

        The sweep command notes the jobs it submitted, with its ``executor``
        settings; a sweep larger than the queue limit is submitted share by
        share from the cluster (``seqjobs-next``), which notes the jobs that
        really run its runs the same way.
        """
        manifest = self.manifest()
        if manifest is None or not jobs:
            return
        _note_jobs(manifest, jobs)
        if executor is not None:
            manifest.executor = executor
        manifest.updated_at = now_iso()
        atomic.write_json(self.path / MANIFEST, dump(manifest))

    def record_halving(self, halving: HalvingRecord) -> None:
        """Write a halving decision into an existing ``sweep.json`` (call under :meth:`locked`)."""
        manifest = self.manifest()
        if manifest is None:
            raise Damaged(self.path / MANIFEST, "missing: the sweep's first submission writes it")
        manifest.halving, manifest.updated_at = dump_halving(halving), now_iso()
        atomic.write_json(self.path / MANIFEST, dump(manifest))


def is_async(manifest: Manifest | None) -> bool:
    """Is ``manifest`` an asynchronous halving sweep's (its rungs are in ``.asha/``, not in ``halving.rungs``)?"""
    return manifest is not None and manifest.sweep_options.get("halving") == ASYNC_HALVING


def _note_jobs(manifest: Manifest, jobs: dict[str, str]) -> None:
    """Each submitted run's row gets its job and time; the submission is listed (run name -> job id)."""
    if not jobs:
        return
    stamp = now_iso()
    for row in manifest.runs:
        if isinstance(row, dict) and row.get("name") in jobs:
            row["job_id"], row["submitted_at"] = jobs[row["name"]], stamp
    manifest.submissions.append({"at": stamp, "runs": len(jobs), "job_ids": sorted(set(jobs.values()))})


def halving_of(manifest: Manifest, where: Path) -> HalvingRecord | None:
    """The manifest's halving record, checked field by field (rungs too); :class:`Damaged` names ``where``."""
    if manifest.halving is None:
        return None
    try:
        record = load(HalvingRecord, manifest.halving)
        record.rungs = [
            load(RungRecord, rung) if isinstance(rung, dict) else _not_a_rung(rung) for rung in record.rungs
        ]
    except ValueError as err:
        raise Damaged(where, f"halving: {err}") from None
    return record


def _not_a_rung(value: Any) -> RungRecord:
    raise ValueError(f"a rung is {value!r:.60}, not an object")


def dump_halving(halving: HalvingRecord) -> dict[str, Any]:
    """A halving record as JSON-ready dict, its rungs too."""
    return {**dump(halving), "rungs": [dump(rung) for rung in halving.rungs]}
