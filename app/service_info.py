"""The service's version: the installed package's, read without importing the library."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("deepclsmote")
except PackageNotFoundError:  # a source tree that was never installed
    VERSION = "0+unknown"
