"""Text corpora for the character-level experiments (Markov chain, char-LSTM).

A corpus is either a text data set from the registry (fetched into the cache
if missing) or any local UTF-8 file, so users can run the tutorial on their
own text. It is read the way the tutorial reads nietzsche.txt
(``io.open(path, encoding='utf-8').read().lower()``), so figures match it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from seqtasks.data.cache import ensure
from seqtasks.data.registry import DATASETS
from seqtasks.errors import UserError


@dataclass(frozen=True)
class Corpus:
    """A loaded text with where it came from; ``sha256`` is of the file's bytes, for run records."""

    text: str
    name: str
    sha256: str
    path: Path


def load_text(corpus: str, keep_case: bool = False) -> Corpus:
    """Load a text data set by name, or a local UTF-8 file by path; lowercased unless ``keep_case``.

    A registry name wins over a file of the same name in the working folder.
    """
    path, name = resolve_corpus(corpus)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UserError(f"cannot read corpus {path} ({err.strerror or err})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UserError(
            f"corpus {path} is not UTF-8 text (bad byte at offset {err.start}); "
            f"convert it first, e.g.: iconv -f latin1 -t utf-8 {path} > {path.stem}.utf8.txt"
        ) from None
    if not text.strip():
        raise UserError(f"corpus {path} is empty (no text to learn from); give a non-empty UTF-8 text file")
    # Universal newlines, as text-mode open() in the tutorial does.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return Corpus(
        text=text if keep_case else text.lower(),
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        path=path,
    )


def resolve_corpus(corpus: str) -> tuple[Path, str]:
    """Map a corpus argument to ``(file, short name)``, or say what would have been valid.

    Cheap enough for the submitting process (a data set is fetched only when
    not cached; a file is opened, not read), so a typo is found before a job
    is queued.
    """
    texts = ", ".join(name for name, ds in DATASETS.items() if ds.kind == "text")
    dataset = DATASETS.get(corpus)
    if dataset is not None:
        if dataset.kind != "text":
            raise UserError(
                f"{corpus} is {'an' if dataset.kind[0] in 'aeiou' else 'a'} {dataset.kind} data set, not a text corpus; "
                f"use one of: {texts}, or the path of a UTF-8 text file"
            )
        return ensure(corpus), corpus
    path = Path(corpus).expanduser()
    if path.is_file():
        try:
            path.open("rb").close()
        except OSError as err:
            raise UserError(f"cannot read corpus {path} ({err.strerror or err})") from None
        return path, path.stem
    if path.is_dir():
        raise UserError(f"corpus {corpus} is a folder; give one of: {texts}, or the path of a UTF-8 text file")
    raise UserError(
        f"unknown corpus {corpus!r}: neither a text data set ({texts}) nor an existing file; see: seqjobs data list"
    )
