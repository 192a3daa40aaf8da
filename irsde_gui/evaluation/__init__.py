"""Evaluation: validation cases, ``irsde eval`` tables and ``irsde bench`` figures.

Not imported by the engine (:mod:`irsde_gui.core`) or the app."""
