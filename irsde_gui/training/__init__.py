"""Training: patches, the trainer (EMA, resume, data-parallel), runs packed and exported.

Not imported by the engine (:mod:`irsde_gui.core`) or the app."""
