"""``irsde suggest``: which task a photo needs, guessed from the photo."""

from __future__ import annotations

import argparse
import json

from ..core.runs import collect_inputs, printable
from .common import EXIT_FAILED, EXIT_OK, error


def cmd_suggest(args: argparse.Namespace) -> int:
    """One line per photo: what it looks like it needs (or nothing), with the measurements; a
    photo that cannot be read gets one error line and the others are still measured."""
    from ..core.imageio import ImageReadError, read_photo  # deferred: OpenCV, only for irsde suggest
    from ..core.suggest import suggest

    files, problems, _folder = collect_inputs(args.photos)
    for p in problems:
        error(p)
    results, failed = [], len(problems)
    for f in files:
        try:
            s = suggest(read_photo(f).rgb)
        except (ImageReadError, ValueError) as exc:
            failed += 1
            text = str(exc) if str(f) in str(exc) else f"{f}: {exc}"
            error(text)
            results.append({"path": str(f), "error": text})
            continue
        results.append({"path": str(f), **s.to_dict()})
        if not args.json:
            print(f"{printable(str(f))}: {s.text or 'nothing to fix found'} ({s.summary()})", flush=True)
    if args.json:
        print(json.dumps(results, indent=1))  # ASCII: any file name, any terminal
    return EXIT_FAILED if failed else EXIT_OK


def add_suggest_command(sub) -> None:
    sg = sub.add_parser(
        "suggest",
        help="what photos look like they need (noise, JPEG blocks, blur, haze, size): one line each",
    )
    sg.add_argument("photos", nargs="+", metavar="PHOTO", help="image files or folders of images")
    sg.add_argument("--json", action="store_true", help="print the findings as JSON (a list, one per photo)")
    sg.set_defaults(func=cmd_suggest)
