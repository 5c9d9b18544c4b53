"""Where seqjobs keeps what it can rebuild (data sets, the views' index): one rule for every cache."""

from __future__ import annotations

import os
from pathlib import Path


def cache_home(variable: str, *parts: str) -> Path:
    """``$VARIABLE`` when set, else ``$XDG_CACHE_HOME/seqjobs/PARTS``, else ``~/.cache/seqjobs/PARTS`` (absolute)."""
    explicit = os.environ.get(variable)
    if explicit:
        return Path(explicit).expanduser().absolute()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base.joinpath("seqjobs", *parts).absolute()
