"""``python -m app``: the same as the ``deepclsmote`` console script."""

import sys

from .console import main

sys.exit(main())
