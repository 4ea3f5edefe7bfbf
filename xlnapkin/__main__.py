"""``python -m xlnapkin``: the same as the ``xlnapkin`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
