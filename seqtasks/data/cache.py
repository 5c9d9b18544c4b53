"""The local data cache: where it is, what is in it, and how data sets get in.

Offline first: jobs only ever read the cache (:func:`ensure` fetches only what
is missing), and everything in it was verified when it went in, whether it
came from a source or was staged by hand with ``--from`` (compute nodes often
have no internet, so staging a copied file is a first-class way in).

Layout under :func:`data_home`::

    <stored>                the data set, a file or a folder (moby-dick.txt, imdb/, aclImdb/)
    .verified/<name>.json   written last, after the copy passed its checks: an
                            entry counts as cached only while this record exists
    .tmp/<name>.XXXX/       scratch for one fetch (download, unpack); removed after
    .locks/<name>.lock      serialises fetches of one data set across processes

A fetch builds the whole entry in ``.tmp`` (same file system as the cache),
verifies it there and renames it into place, so a kill at any moment leaves
either the old verified entry or no record, never a half-written data set.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import shlex
import shutil
import sys
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from seqtasks import atomic
from seqtasks.cachedir import cache_home
from seqtasks.data.registry import Dataset, get_dataset
from seqtasks.data.sources import SourceError
from seqtasks.data.verify import VerifyError, check_checksum, check_layout, check_text_shape
from seqtasks.errors import UserError
from seqtasks.rundir.owned import owning_folder, special_kind


def data_home() -> Path:
    """The cache dir: ``$SEQJOBS_DATA``, else ``$XDG_CACHE_HOME/seqjobs/data``, else ``~/.cache/seqjobs/data``."""
    return cache_home("SEQJOBS_DATA", "data")


def cached_path(name: str) -> Path | None:
    """The cached file or folder of ``name`` if it is complete and was verified, else None."""
    dataset = get_dataset(name)
    home = data_home()
    entry = home / dataset.stored
    if not _verified(home, dataset) or not entry.exists():
        return None
    return entry


def dataset_path(name: str) -> Path:
    """Like :func:`cached_path`, but a missing data set is an error telling how to get it."""
    path = cached_path(name)
    if path is None:
        raise UserError(f"data set {name} is not in the cache at {data_home()}; run: seqjobs data fetch {name}")
    return path


def ensure(name: str) -> Path:
    """The cached path of ``name``, fetching it first if it is not cached (what jobs call).

    A fetch says so in one line on stderr: a run that starts with a
    download should not look like a run that hangs.
    """
    dataset = get_dataset(name)
    path = cached_path(name)
    if path is None:
        print(f"fetching data set {name} into the data cache at {data_home()} (first use)", file=sys.stderr, flush=True)
        path = _fetch(dataset, None, reuse=True)
    return path


def fetch(name: str, from_path: Path | None = None) -> Path:
    """Get ``name`` into the cache (again, if already there) and return its path.

    Without ``from_path`` the data set's sources are tried in order; with it,
    that local file, folder or tarball is staged instead. Either way the copy
    must pass the registry's checks or it is deleted and nothing is cached.
    """
    return _fetch(get_dataset(name), from_path, reuse=False)


def _fetch(dataset: Dataset, from_path: Path | None, reuse: bool) -> Path:
    """Fetch under the data set's lock; with ``reuse``, a copy another process just made wins."""
    home = data_home()
    _check_place(home, dataset)
    try:
        with _lock(home, dataset.name):
            if reuse and (path := cached_path(dataset.name)) is not None:
                return path
            _sweep(home, dataset.name)
            workdir = Path(tempfile.mkdtemp(prefix=f"{dataset.name}.", dir=home / ".tmp"))
            try:
                return _fill(home, dataset, from_path, workdir)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    except VerifyError as err:
        raise UserError(_refusal(dataset, err, from_path)) from None
    except OSError as err:
        raise UserError(
            f"cannot write {dataset.name} into the data cache at {home} ({err.strerror or err}); "
            f"free some space or set SEQJOBS_DATA to a writable folder"
        ) from err


def _fill(home: Path, dataset: Dataset, from_path: Path | None, workdir: Path) -> Path:
    """Deliver (or bring) the data set into ``workdir``, verify it, and install it in the cache."""
    if from_path is None:
        delivered, origin = _deliver(dataset, workdir)
        label = delivered.name
    else:
        from_path = Path(from_path).expanduser()
        delivered, origin = _bring(dataset, from_path, workdir), f"--from {from_path.absolute()}"
        label = str(from_path)
    entry, checks = _assemble(dataset, delivered, workdir, label)
    return _install(home, dataset, entry, workdir, checks, origin)


def _check_place(home: Path, dataset: Dataset) -> None:
    """Refuse, before anything is written, a cache inside a run or sweep folder, or an entry a rename would destroy."""
    owner = owning_folder(home)
    if owner is not None:
        raise UserError(
            f"the data cache {home} lies inside the run or sweep folder {owner}, which holds only its "
            f"own records; set SEQJOBS_DATA to a folder outside it"
        )
    kind = special_kind(home / dataset.stored)
    if kind is not None:
        raise UserError(
            f"{home / dataset.stored} in the data cache is {kind}, not a data set; "
            f"remove it, or set SEQJOBS_DATA to another folder"
        )


@contextmanager
def _lock(home: Path, name: str) -> Iterator[None]:
    """Hold an exclusive lock on ``name`` so array jobs on one cache fetch it once, not N times."""
    for folder in (home / ".locks", home / ".tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    with open(home / ".locks" / f"{name}.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _sweep(home: Path, name: str) -> None:
    """Remove scratch folders of killed fetches of ``name`` (safe: we hold its lock)."""
    for stale in (home / ".tmp").glob(f"{name}.*"):
        shutil.rmtree(stale, ignore_errors=True)


def _deliver(dataset: Dataset, workdir: Path) -> tuple[Path, str]:
    """Try each source in turn; if none delivers, say why and how to stage by hand."""
    failures = []
    for i, source in enumerate(dataset.sources):
        target = workdir / f"source{i}"
        target.mkdir()
        try:
            return source.deliver(target, dataset.name), source.describe()
        except SourceError as err:
            failures.append(str(err))
    command, path = dataset.sources[0].recipe()
    raise UserError(
        f"{'; '.join(failures)}; on a machine with internet run: {command}, copy {path} here, "
        f"then run: seqjobs data fetch {dataset.name} --from {path}"
    )


def _staging_form(dataset: Dataset) -> str:
    """What ``--from`` takes for this data set, in words."""
    if dataset.kind == "imdb-npz":
        files = " and ".join(c.file for c in dataset.checksums if c.file)
        return f"the folder that holds {files}"
    if dataset.kind == "aclimdb":
        return "aclImdb_v1.tar.gz, or the aclImdb folder extracted from it"
    return "the file itself"


def _bring(dataset: Dataset, src: Path, workdir: Path) -> Path:
    """Copy what ``--from`` names into the scratch folder; the user's copy is never touched."""
    refuse = f"cannot stage {dataset.name} from {src}"
    if not src.exists():
        raise UserError(f"{refuse}: no such file or folder; give {_staging_form(dataset)}")
    dest = workdir / "staged"
    try:
        if dataset.kind == "imdb-npz":
            if not src.is_dir():
                raise UserError(f"{refuse}: it is a file; give {_staging_form(dataset)}")
            dest.mkdir()
            for checksum in dataset.checksums:
                assert checksum.file is not None, "imdb checksums name their files"
                if not (src / checksum.file).is_file():
                    raise UserError(f"{refuse}: it has no {checksum.file}; give {_staging_form(dataset)}")
                shutil.copyfile(src / checksum.file, dest / checksum.file)
        elif src.is_dir():
            if dataset.kind != "aclimdb":
                raise UserError(f"{refuse}: it is a folder; give {_staging_form(dataset)}")
            shutil.copytree(src, dest)
        else:
            shutil.copyfile(src, dest)
    except OSError as err:
        raise UserError(f"{refuse}: cannot copy it into the cache ({err.strerror or err})") from None
    return dest


def _assemble(dataset: Dataset, delivered: Path, workdir: Path, label: str) -> tuple[Path, list[str]]:
    """Verify what was delivered and turn it into the cache entry; return it and what was checked."""
    checks: list[str] = []
    if delivered.is_file():
        for checksum in dataset.checksums:
            if checksum.file is None:
                check_checksum(delivered, checksum, label)
                checks.append(checksum.algorithm)
        if dataset.shape is not None:
            check_text_shape(delivered, dataset.shape, label)
            checks.append("text shape (no checksum is known)")
    else:
        for checksum in dataset.checksums:
            if checksum.file is not None:
                check_checksum(delivered / checksum.file, checksum, f"{label}/{checksum.file}")
                checks.append(f"{checksum.algorithm} of {checksum.file}")
    entry = _unpack_aclimdb(delivered, workdir, label) if dataset.kind == "aclimdb" else delivered
    if dataset.layout:
        check_layout(entry, dataset.layout, label)
        checks.append("layout")
    if not checks:
        raise VerifyError(f"{label} could not be checked at all; give {_staging_form(dataset)}")
    return entry, checks


def _unpack_aclimdb(delivered: Path, workdir: Path, label: str) -> Path:
    """Extract the (already verified) tarball if that is what came, and find ``aclImdb/``."""
    base = delivered
    if delivered.is_file():
        base = workdir / "unpacked"
        _extract_tar(delivered, base, label)
        delivered.unlink()  # 84 MB the cache does not need twice
    for root in (base, base / "aclImdb"):
        if (root / "train").is_dir() and (root / "test").is_dir():
            return root
    raise VerifyError(f"{label} holds no aclImdb folder (one with train/ and test/)")


def _extract_tar(tarball: Path, dest: Path, label: str) -> None:
    """Extract a tarball, refusing members that would land outside ``dest``."""
    try:
        with tarfile.open(tarball) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, filter="data")
                return
            # Python < 3.10.12 has no extraction filters: check members by hand.
            for member in tar.getmembers():
                parts = PurePosixPath(member.name).parts
                if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
                    raise VerifyError(f"{label} has an unsafe member {member.name!r}")
            tar.extractall(dest)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise VerifyError(f"{label} is not a readable .tar.gz ({err})") from None


def _install(home: Path, dataset: Dataset, entry: Path, workdir: Path, checks: list[str], origin: str) -> Path:
    """Rename the verified entry into place, then write the record that makes it count."""
    target = home / dataset.stored
    marker = _marker(home, dataset.name)
    marker.unlink(missing_ok=True)
    if (target.exists() or target.is_symlink()) and (target.is_dir() or entry.is_dir()):
        # A folder cannot be renamed over another: move the old one into the
        # scratch folder, which is deleted after.
        os.replace(target, workdir / "previous")
    os.replace(entry, target)
    atomic.write_json(
        marker,
        {
            "name": dataset.name,
            "kind": dataset.kind,
            "stored": dataset.stored,
            "expect": _expectation(dataset),
            "verified": checks,
            "origin": origin,
            "bytes": entry_size(target),
            "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    )
    return target


def _marker(home: Path, name: str) -> Path:
    """Where the record that says "``name`` is complete and verified" lives."""
    return home / ".verified" / f"{name}.json"


def _expectation(dataset: Dataset) -> str:
    """Fingerprint of what the registry pins: a copy verified against an older pin is not trusted."""
    pins = repr((dataset.stored, dataset.checksums, dataset.shape, dataset.layout))
    return hashlib.sha256(pins.encode()).hexdigest()[:16]


def _verified(home: Path, dataset: Dataset) -> bool:
    """Whether ``dataset`` has a verification record made against the current pins."""
    try:
        record = json.loads(_marker(home, dataset.name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record.get("expect") == _expectation(dataset)


def entry_size(path: Path) -> int:
    """Bytes in a cache entry: a file, or all files under a folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _refusal(dataset: Dataset, err: VerifyError, from_path: Path | None) -> str:
    """The one line that says a copy failed its checks, that it is gone, and what to do."""
    if from_path is None:
        return (
            f"refused the download of {dataset.name}: {err}; it was deleted and nothing was cached; "
            f"retry with: seqjobs data fetch {dataset.name} (the same mismatch again means the upstream file changed)"
        )
    command, path = dataset.sources[0].recipe()
    return (
        f"refused to stage {from_path} as {dataset.name}: {err} (a different version or a damaged copy); "
        f"nothing was cached; get the right one with: {command}, then run: "
        f"seqjobs data fetch {dataset.name} --from {shlex.quote(path)}"
    )
