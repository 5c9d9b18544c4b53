"""Labelled review data sets, all brought to one form: int sequences + 0/1 labels.

``--dataset`` takes a registry name (``imdb``, ``aclimdb``, ``rt-snippets``)
or a path: a folder holding ``imdb.npz`` (Keras form), an ``aclImdb`` folder
(``train/{pos,neg}``, ``test/{pos,neg}``), or a CSV/TSV file with ``text``
and ``label`` columns.

* Keras form: read exactly as ``keras.datasets.imdb.load_data`` reads it
  (same shuffle with seed 113, start marker, ``index_from``, ``num_words`` and
  ``skip_top`` cut) -- a test compares the arrays with Keras' own.
* Everything else is text: tokenized (:mod:`seqtasks.imdb.vocab`), indexed by
  word frequency on the training split only, and encoded with the same
  reserved indices. Data sets without a fixed split (rt-snippets, CSV) are
  split stratified with the fixed seed 113, so runs with different ``--seed``
  are compared on the same test set.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from seqtasks.data import DATASETS, ensure, sha256_file
from seqtasks.errors import UserError
from seqtasks.imdb.config import ImdbConfig
from seqtasks.imdb.vocab import INDEX_FROM, START, Vocabulary, restrict, tokenize

SPLIT_SEED = 113  # keras.datasets.imdb's shuffle seed; also fixes our own splits
Kind = Literal["imdb-npz", "aclimdb", "sentences-tsv", "table"]
LABELS = {"0": 0, "1": 1, "neg": 0, "pos": 1}


@dataclass(frozen=True)
class Source:
    """Where a data set lives and what form it is in."""

    name: str
    kind: Kind
    path: Path

    def sha256(self) -> str:
        """Checksum for the run record: of the file, of ``imdb.npz``, or of every review file."""
        if self.kind == "imdb-npz":
            return sha256_file(self.path / "imdb.npz")
        if self.kind == "aclimdb":
            return tree_sha256(self.path)
        return sha256_file(self.path)


@dataclass(frozen=True)
class Texts:
    """A data set's train and test reviews as text, with 0/1 labels."""

    train: list[str]
    y_train: np.ndarray
    test: list[str]
    y_test: np.ndarray


@dataclass(frozen=True)
class Encoded:
    """Train and test reviews as int sequences (Keras IMDB indices), labels and the vocabulary."""

    x_train: list[np.ndarray]
    y_train: np.ndarray
    x_test: list[np.ndarray]
    y_test: np.ndarray
    vocab: Vocabulary


# -- finding the data ----------------------------------------------------------------------
def resolve(dataset: str) -> Source:
    """Map ``--dataset`` to a :class:`Source`, fetching registry data sets into the cache."""
    labelled = {n: d for n, d in DATASETS.items() if d.kind != "text"}
    if dataset in DATASETS:
        if dataset not in labelled:
            raise UserError(
                f"--dataset {dataset} is a text corpus without labels; use one of "
                f"{', '.join(labelled)}, an aclImdb folder or a CSV/TSV file with text and label columns"
            )
        path = ensure(dataset)
        kind = labelled[dataset].kind
        return Source(dataset, kind, aclimdb_root(path) if kind == "aclimdb" else path)  # type: ignore[arg-type]
    path = Path(dataset).expanduser()
    if path.is_dir():
        if (path / "imdb.npz").is_file():
            _readable(path / "imdb.npz")
            return Source(path.name, "imdb-npz", path)
        root = aclimdb_root(path)
        return Source(root.name, "aclimdb", root)
    if path.is_file():
        _readable(path)
        return Source(path.stem, "table", path)
    raise UserError(
        f"--dataset {dataset!r} is neither a known data set ({', '.join(labelled)}) nor an existing file or folder"
    )


def _readable(path: Path) -> None:
    """Open ``path`` without reading it: what the submitting process can afford to check."""
    try:
        path.open("rb").close()
    except OSError as err:
        raise UserError(f"--dataset: cannot read {path} ({err.strerror or err})") from None


def aclimdb_root(path: Path) -> Path:
    """The folder holding ``train/`` and ``test/``: ``path`` itself or its ``aclImdb/``."""
    for root in (path, path / "aclImdb"):
        if all((root / split / label).is_dir() for split in ("train", "test") for label in ("pos", "neg")):
            return root
    raise UserError(
        f"{path} is neither a Keras imdb folder (imdb.npz + imdb_word_index.json) nor an aclImdb "
        "folder (train/pos, train/neg, test/pos, test/neg)"
    )


def tree_sha256(root: Path) -> str:
    """One digest over every review file of an aclImdb folder (names and contents)."""
    h = hashlib.sha256()
    for split in ("train", "test"):
        for label in ("neg", "pos"):
            for f in sorted((root / split / label).glob("*.txt")):
                h.update(f"{split}/{label}/{f.name}\0".encode())
                h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


# -- the Keras form ---------------------------------------------------------------------
class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else (a tampered file cannot run code).

    The IMDB arrays are ragged (object arrays of lists), which ``.npy`` can only
    store as a pickle. Keras 3 reads them the same guarded way.
    """

    ALLOWED = frozenset(
        {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")
        return super().find_class(module, name)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file; object arrays through :class:`_ArrayUnpickler`."""
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if not member.endswith(".npy"):
                    continue
                fp = io.BytesIO(archive.read(member))
                try:
                    arrays[member[:-4]] = np.lib.format.read_array(fp, allow_pickle=False)
                except ValueError:  # an object array: skip the header, then the guarded pickle
                    fp.seek(0)
                    major, _ = np.lib.format.read_magic(fp)
                    header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                    header(fp)
                    arrays[member[:-4]] = _ArrayUnpickler(fp).load()
    except (OSError, zipfile.BadZipFile, pickle.UnpicklingError, ValueError, EOFError) as err:
        raise UserError(f"{path} is not a readable Keras imdb.npz file ({err})") from None
    missing = {"x_train", "y_train", "x_test", "y_test"} - set(arrays)
    if missing:
        raise UserError(f"{path} lacks the arrays {', '.join(sorted(missing))}; is it Keras' imdb.npz?")
    return arrays


def keras_imdb(
    path: Path, num_words: int, skip_top: int = 0, seed: int = SPLIT_SEED
) -> tuple[tuple[list[np.ndarray], np.ndarray], tuple[list[np.ndarray], np.ndarray]]:
    """``keras.datasets.imdb.load_data(num_words=..., skip_top=...)`` on the file ``path``.

    Same shuffle (one ``RandomState(seed)``, train then test), same start
    marker, ``index_from`` and cut; only vectorised, and without Keras.
    """
    f = read_npz(path)
    rng = np.random.RandomState(seed)
    out = []
    for x_key, y_key in (("x_train", "y_train"), ("x_test", "y_test")):
        order = np.arange(len(f[x_key]))
        rng.shuffle(order)
        seqs = [np.concatenate(([START], np.asarray(f[x_key][i], dtype=np.int32) + INDEX_FROM)) for i in order]
        out.append((restrict(seqs, num_words, skip_top), np.asarray(f[y_key])[order]))
    return out[0], out[1]


def keras_word_index(folder: Path) -> Vocabulary:
    """The Keras word index (word -> rank) stored beside ``imdb.npz``."""
    path = folder / "imdb_word_index.json"
    try:
        return Vocabulary(json.loads(path.read_text(encoding="utf-8")), punctuation=False)
    except (OSError, ValueError) as err:
        raise UserError(f"cannot read {path} ({err}); it must sit beside imdb.npz") from None


# -- text forms ---------------------------------------------------------------------------
def read_texts(source: Source, test_fraction: float) -> Texts:
    """Train and test reviews of any data set as text (Keras-form ones decoded with their index)."""
    if source.kind == "imdb-npz":
        f = read_npz(source.path / "imdb.npz")
        words = {r: w for w, r in keras_word_index(source.path).word_index.items()}
        decode = lambda seqs: [" ".join(words.get(r, "") for r in seq) for seq in seqs]  # noqa: E731
        return Texts(decode(f["x_train"]), np.asarray(f["y_train"]), decode(f["x_test"]), np.asarray(f["y_test"]))
    if source.kind == "aclimdb":
        return read_aclimdb(source.path)
    frame = read_rt_snippets(source.path) if source.kind == "sentences-tsv" else read_table(source.path)
    return split_frame(frame, test_fraction, str(source.path))


def read_aclimdb(root: Path) -> Texts:
    """The raw Stanford folder; each split shuffled with the fixed seed (pos and neg mixed)."""
    rng = np.random.RandomState(SPLIT_SEED)
    parts = []
    for split in ("train", "test"):
        texts, labels = [], []
        for label, value in (("neg", 0), ("pos", 1)):
            for f in sorted((root / split / label).glob("*.txt")):
                texts.append(f.read_text(encoding="utf-8", errors="replace"))
                labels.append(value)
        order = rng.permutation(len(texts))
        parts.append(([texts[i] for i in order], np.array(labels, dtype=np.int64)[order]))
    return Texts(parts[0][0], parts[0][1], parts[1][0], parts[1][1])


def read_rt_snippets(path: Path) -> pd.DataFrame:
    """rt-snippets (``id<TAB>sentiment<TAB>text``): label = sign of the mean rating, zeros dropped."""
    frame = pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, dtype={"text": str})
    frame = frame[frame["sentiment"] != 0]
    return pd.DataFrame({"text": frame["text"].fillna(""), "label": (frame["sentiment"] > 0).astype(np.int64)})


def read_table(path: Path) -> pd.DataFrame:
    """A CSV (or TSV: a tab in the header line) with ``text`` and ``label`` columns.

    Labels are 0/1 or pos/neg, any case; anything else is the user's to fix,
    reported with its data row (1 = the row under the header).
    """
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            sep = "\t" if "\t" in fh.readline() else ","
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise UserError(f"cannot read {path} as CSV/TSV ({str(err).strip().splitlines()[-1]})") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in ("text", "label") if c not in frame.columns]
    if missing:
        raise UserError(
            f"{path} has no {' and no '.join(missing)} column (columns: {', '.join(frame.columns)}); "
            "it needs a header with text and label"
        )
    labels = frame["label"].str.strip().str.lower()
    bad = ~labels.isin(list(LABELS))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise UserError(
            f"{path}: data row {row + 1} has label {frame['label'].iloc[row]!r}; labels must be 0/1 or pos/neg"
        )
    return pd.DataFrame({"text": frame["text"], "label": labels.map(LABELS).astype(np.int64)})


def split_frame(frame: pd.DataFrame, test_fraction: float, what: str) -> Texts:
    """Stratified train/test split with the fixed seed; each side shuffled (so ``--limit`` mixes labels).

    Each label's reviews are shuffled and laid end to end; every position where
    ``floor(i * test_fraction)`` steps up goes to test. Each label gets its share
    to within one review, and even two reviews split into one and one.
    """
    rng = np.random.RandomState(SPLIT_SEED)
    labels = frame["label"].to_numpy()
    order = np.concatenate([rng.permutation(np.flatnonzero(labels == value)) for value in (0, 1)])
    pos = np.arange(len(order))
    to_test = np.floor((pos + 1) * test_fraction) > np.floor(pos * test_fraction)
    train, test = rng.permutation(order[~to_test]), rng.permutation(order[to_test])
    if len(train) == 0 or len(test) == 0:
        raise UserError(
            f"{what} has {len(frame)} labelled reviews: too few to split into train and test "
            f"with --test-fraction {test_fraction}"
        )
    texts = frame["text"].tolist()
    return Texts([texts[i] for i in train], labels[train], [texts[i] for i in test], labels[test])


# -- what training and evaluation use ---------------------------------------------------------
def load(source: Source, config: ImdbConfig) -> Encoded:
    """The data set of ``config`` encoded for training: train vocabulary, Keras-exact for imdb.npz."""
    n = config.limit or None
    if source.kind == "imdb-npz":
        (x_train, y_train), (x_test, y_test) = keras_imdb(source.path / "imdb.npz", config.top_words, config.skip_top)
        vocab = keras_word_index(source.path)
    else:
        texts = read_texts(source, config.test_fraction)
        tokens = [tokenize(t) for t in texts.train[:n]]
        vocab = Vocabulary.count(tokens)
        x_train = restrict([vocab.encode(t) for t in tokens], config.top_words, config.skip_top)
        x_test = encode_with(vocab, texts.test[:n], config)
        y_train, y_test = texts.y_train, texts.y_test
    if not x_train or not x_test:
        raise UserError(f"data set {source.name} has no reviews to train or test on")
    return Encoded(
        x_train[:n],
        y_train[:n].astype(np.float32),
        x_test[:n],
        y_test[:n].astype(np.float32),
        vocab.top(config.top_words),
    )


def encode_with(vocab: Vocabulary, texts: list[str], config: ImdbConfig) -> list[np.ndarray]:
    """Reviews encoded with a run's vocabulary and cut (evaluation on another data set, ``predict``)."""
    return restrict(vocab.encode_texts(texts), config.top_words, config.skip_top)
