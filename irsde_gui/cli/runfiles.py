"""``irsde export``, ``irsde pack`` and ``irsde unpack``: a training run's files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import EXIT_FAILED, EXIT_OK, error


def cmd_export(args: argparse.Namespace) -> int:
    from ..training.train import export_run  # deferred: PyTorch, only for irsde export

    evals = [json.loads(Path(p).read_text()) for p in args.eval or []]
    try:
        path = export_run(args.run_dir, args.out, evals, args.default_steps)
    except (FileNotFoundError, ValueError) as exc:
        error(str(exc))
        return EXIT_FAILED
    print(f"irsde: wrote {path} and {path.with_suffix('.json')}")
    return EXIT_OK


def cmd_pack(args: argparse.Namespace) -> int:
    from ..training.train import pack_run, unpack_run  # deferred: PyTorch, only for irsde pack and unpack

    try:
        if args.command == "pack":
            path = pack_run(args.source, args.out, ema_only=args.ema_only)
        else:
            path = unpack_run(args.source, args.out)
    except (FileNotFoundError, ValueError) as exc:
        error(str(exc))
        return EXIT_FAILED
    print(f"irsde: wrote {path} ({path.stat().st_size / 2**20:.1f} MB)")
    return EXIT_OK


def add_run_file_commands(sub) -> None:
    """export, pack and unpack: the commands that turn a training run into files."""
    x = sub.add_parser("export", help="write a run's EMA weights and model card")
    x.add_argument("run_dir")
    x.add_argument("--out", required=True, help="weights file, e.g. weights/denoise.pt")
    x.add_argument("--eval", nargs="+", help="irsde eval --json results to put in the model card")
    x.add_argument("--default-steps", type=int, help="the step count the app uses by default")
    x.set_defaults(func=cmd_export)

    pk = sub.add_parser("pack", help="a small copy of a training run, to carry to another machine")
    pk.add_argument("source", metavar="RUN_DIR")
    pk.add_argument("--out", required=True, help="packed file (.pt)")
    pk.add_argument("--ema-only", action="store_true", help="half the size: continue from the EMA")
    pk.set_defaults(func=cmd_pack)
    up = sub.add_parser("unpack", help="continue a packed run here (then: irsde train --resume)")
    up.add_argument("source", metavar="PACKED")
    up.add_argument("--out", required=True, help="run folder")
    up.set_defaults(func=cmd_pack)
