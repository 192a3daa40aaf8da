"""``irsde info``: the version, the devices and the installed models."""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..core.runs import printable
from ..core.tasks import TASKS
from ..core.weights import Refused, blind_prior, check_weights, installed_weights, read_card, search_dirs
from .common import EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    import torch  # deferred: PyTorch, only for irsde info

    from ..core.device import available_devices, pick_device

    print(f"IR-SDE Studio {__version__}")
    print(f"Python {sys.version.split()[0]}, PyTorch {torch.__version__}")
    print("Devices:")
    for kind in available_devices():
        print(f"  {kind:5s} {pick_device(kind).describe()}")
    print("Weights are looked for in: " + ", ".join(str(d) for d in search_dirs()))
    print("Tasks:")
    refused: dict[str, list[Refused]] = {}
    for name, path in installed_weights(refused).items():
        t = TASKS[name]
        # In the order they are looked for: files passed over because they would be refused, then
        # the one used (which may be refused too: then nothing runs the task).
        lines = [f"refused: {r}" for r in refused.get(name, [])]
        prior = blind_prior(name) if path is None else None
        if prior is not None:
            lines.append(f"blind: blur estimated from the photo, {prior.name} as the prior")
        elif path is None:
            lines.append("no trained weights installed")
        elif (why := check_weights(path, name)) is not None:
            lines.append(f"refused: {Refused(path, why)}")
        else:
            card = read_card(path)
            val = card.validation.get("summary", "")
            lines.append(f"{path}  ({card.parameters / 1e6:.2f} M parameters) {val}".rstrip())
        head = f"  {name:8s} {t.label:14s} "
        for i, line in enumerate(lines):
            print(printable((head if i == 0 else " " * len(head)) + line))
    return EXIT_OK


def add_info_command(sub) -> None:
    i = sub.add_parser("info", help="version, devices, tasks and installed weights")
    i.set_defaults(func=cmd_info)
