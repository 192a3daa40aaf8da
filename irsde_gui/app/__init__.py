"""The desktop app: a Qt-free session model (:mod:`.session`), the worker that runs the engine
in Qt threads (:mod:`.worker`), the widgets that draw the session (:mod:`.ui`) and the
``irsde-gui`` command (:mod:`.main`). Importing this package loads no Qt: the window is built
only when :func:`main` runs."""

from .main import main

__all__ = ["main"]
