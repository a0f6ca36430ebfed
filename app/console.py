"""The ``deepclsmote`` console script.

``deepclsmote health`` answers without importing torch or the library (a
container runs it every 30 seconds; importing them takes seconds); every other
command goes to :mod:`app.cli`.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["health"]:
        from .health import main as health_main

        return health_main(args[1:])
    from .cli import main as cli_main

    return cli_main(argv)


__all__ = ["main"]
