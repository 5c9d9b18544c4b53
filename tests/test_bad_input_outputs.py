"""Outputs never destroy: every command that writes a path the user names refuses the paths it must not replace.

Rows of the table-driven bad-input test (:mod:`tests.test_bad_input`: its
world, its row helper, its check that exactly one ``error:`` line comes out and
nothing on disk changed), for ``collect -o``, ``report -o``, ``bench -o``,
``run --out`` and the data cache of ``data fetch``: a path inside a run folder
(each of its records) or a sweep folder, a device, a FIFO, a socket, a link
into a run folder, an empty path. The world here adds a sweep folder, a
charlm run that is training, and the special files.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.test_bad_input import MK, Case, case, check_case, shared, world, write_json  # noqa: F401 -- shared: a fixture


def outputs_world(here: Path, made: dict[str, Path]) -> None:
    """:func:`world` (``made``: the fixture ``shared``), plus a sweep folder ``sw``, a charlm run ``lm`` that is
    training, and special files."""
    world(here, made)
    write_json(here / "sw/sweep.json", {"task": "markov", "runs": {}})
    (here / "sw/order=1").mkdir()
    write_json(here / "sw/order=1/config.json", {"task": "markov"})
    write_json(here / "lm/state.json", {"state": "running", "attempt": 1})  # config.json and best.keras: a run
    (here / "link.csv").symlink_to(here / "mk/result.json")
    for fifo in ("fifo", "pe.epochs.csv", "bench.md"):
        os.mkfifo(here / fifo)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(here / "sock"))  # the socket file stays after the socket is closed
    if os.geteuid() == 0:
        os.mknod(here / "devnull", stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a copy of /dev/null
    (here / "cache").mkdir()
    os.mkfifo(here / "cache/moby-dick.txt")


def as_root(row: Any) -> Any:
    """A row that needs a device node, which only root may make."""
    root = pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
    return pytest.param(*row.values, id=row.id, marks=[*row.marks, root])


FETCH = ("data", "fetch", "moby-dick", "--from", "{corpus}")

CASES = [
    # -- collect -o -------------------------------------------------------------------------------
    case("collect", "mk", "-o", "sw/sweep.json", fragments=("-o", "sweep folder"), id="collect-sweep-manifest"),
    case("collect", "mk", "-o", "mk/result.json", fragments=("run folder",), id="collect-run-result"),
    case("collect", "mk", "-o", "mk/config.json", fragments=("run folder",), id="collect-run-config"),
    case("collect", "mk", "-o", "mk/metrics.csv", fragments=("run folder",), id="collect-run-metrics"),
    case("collect", "mk", "-o", "lm/best.keras", fragments=("run folder",), id="collect-run-best-model"),
    case("collect", "mk", "-o", "mk/new.csv", fragments=("run folder",), id="collect-new-file-in-run"),
    case("collect", "mk", "-o", "sw/results.csv", fragments=("sweep folder",), id="collect-new-file-in-sweep"),
    case("collect", "mk", "-o", "sw/order=1/x.csv", fragments=("sweep folder",), id="collect-new-run-of-sweep"),
    case("collect", "mk", "-o", "link.csv", fragments=("run folder",), id="collect-link-into-run"),
    as_root(case("collect", "mk", "-o", "devnull", fragments=("device",), id="collect-device")),
    case("collect", "mk", "-o", "fifo", fragments=("FIFO",), id="collect-fifo"),
    case("collect", "mk", "-o", "sock", fragments=("socket",), id="collect-socket"),
    case("collect", "mk", "-o", "pe.csv", "--per-epoch", fragments=("pe.epochs.csv", "FIFO"), id="collect-fifo-beside"),
    case("collect", "mk", "-o", "", fragments=("empty",), id="collect-empty-path"),
    case("collect", "mk", "-o", ".", fragments=("names no file",), id="collect-dot"),
    # -- report -o --------------------------------------------------------------------------------
    case("report", "mk", "-o", "mk", fragments=("run folder",), id="report-into-run-folder"),
    case("report", "mk", "-o", "mk/plots", fragments=("run folder",), id="report-inside-run-folder"),
    case("report", "mk", "-o", "sw", fragments=("sweep folder",), id="report-into-sweep-folder"),
    case("report", "mk", "-o", "sw/plots", fragments=("sweep folder",), id="report-inside-sweep-folder"),
    case("report", "mk", "-o", "", fragments=("empty",), id="report-empty-path"),
    # -- bench -o (refused before any benchmark runs) -------------------------------------------------
    case("bench", "-o", "sw/sweep.json", fragments=("sweep folder",), id="bench-sweep-manifest"),
    case("bench", "-o", "mk/result.json", fragments=("run folder",), id="bench-run-result"),
    as_root(case("bench", "-o", "devnull", fragments=("device",), id="bench-device")),
    case("bench", "-o", "fifo", fragments=("FIFO",), id="bench-fifo"),
    case("bench", "-o", "sock", fragments=("socket",), id="bench-socket"),
    case("bench", "-o", "bench.csv", fragments=("bench.md", "FIFO"), id="bench-fifo-beside"),
    # -- run --out --------------------------------------------------------------------------------
    case("run", "markov", *MK, "--out", "mk/inner", fragments=("--out", "run folder"), id="run-out-inside-run"),
    case("run", "markov", *MK, "--out", "sw/order=3", fragments=("--out", "sweep folder"), id="run-out-inside-sweep"),
    # -- the data cache that data fetch writes -----------------------------------------------------------
    case(*FETCH, fragments=("data cache", "run or sweep folder"), env={"SEQJOBS_DATA": "mk"}, id="data-cache-a-run"),
    case(*FETCH, fragments=("data cache",), env={"SEQJOBS_DATA": "sw/data"}, id="data-cache-inside-a-sweep"),
    case(*FETCH, fragments=("FIFO",), env={"SEQJOBS_DATA": "cache"}, id="data-cache-entry-a-fifo"),
]


@pytest.mark.parametrize("bad", CASES)
def test_an_output_that_would_destroy_is_refused(
    bad: Case,
    shared: dict[str, Path],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check_case(bad, shared, tmp_path, monkeypatch, outputs_world)


def test_every_command_that_writes_a_named_path_has_rows() -> None:
    commands = {row.values[0].args[0] for row in CASES}
    assert len(CASES) >= 25 and {"collect", "report", "bench", "run", "data"} <= commands
