"""The package version, read from the installed distribution when there is one."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("seqjobs")
except PackageNotFoundError:  # running from a checkout that was not pip-installed
    __version__ = "0.1.0+checkout"
