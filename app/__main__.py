"""``python -m app``: the same as the ``deepclsmote`` console script."""

import sys

from .cli import main

sys.exit(main())
