"""``python -m irsde_gui.cli``: the ``irsde`` command."""

import sys

from . import main

if __name__ == "__main__":  # imported alone (a test imports every module), it runs nothing
    sys.exit(main())
