"""``python -m irsde_gui.app``: the ``irsde-gui`` command."""

import sys

from .main import main

if __name__ == "__main__":  # imported alone (a test imports every module), it runs nothing
    sys.exit(main())
