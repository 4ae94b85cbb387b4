"""``python -m otelagents``: the same command line as the ``otelagents`` script."""

import sys

from otelagents.cli import main

if __name__ == "__main__":
    sys.exit(main())
