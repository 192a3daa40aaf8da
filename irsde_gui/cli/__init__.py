"""The ``irsde`` command line: restore, info, bench, train, eval, export, pack, unpack, degrade and
suggest, one module per command (each adds its subparser and runs it).

No Qt is imported here (a test checks it): the command line must run on
servers without a display and start quickly.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from .. import __version__
from .bench import add_bench_command
from .common import error
from .degrade import add_degrade_command
from .eval import add_eval_command
from .info import add_info_command
from .restore import add_restore_command
from .runfiles import add_run_file_commands
from .suggest import add_suggest_command
from .train import add_train_command


def build_parser() -> argparse.ArgumentParser:
    """The ``irsde`` parser: one subparser per command, each filled by its own function."""
    from ..core.sampler import SAMPLERS  # deferred: imports PyTorch

    p = argparse.ArgumentParser(
        prog="irsde",
        description="Restore photos with a mean-reverting SDE (IR-SDE): denoise, deblur, "
        "derain, x4 super-resolution, inpaint, dehaze.",
    )
    p.add_argument("--version", action="version", version=f"IR-SDE Studio {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_restore_command(sub, SAMPLERS)
    add_info_command(sub)
    add_bench_command(sub)
    add_train_command(sub)
    add_eval_command(sub, SAMPLERS)
    add_run_file_commands(sub)
    add_degrade_command(sub)
    add_suggest_command(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except BrokenPipeError:  # the reader went away (`irsde suggest ... | head`): stop quietly
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141
