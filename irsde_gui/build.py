"""Build the one-folder app bundle with PyInstaller: ``python -m irsde_gui.build``.

Runs ``irsde_gui.spec`` from a source checkout and prints where the bundle
is, its size and how long the build took. The result, ``dist/irsde-studio/``,
holds ``irsde-gui`` (the app) and ``irsde`` (the command line); copy or zip the
whole folder. ``--self-test`` then runs ``irsde-gui --self-test`` from the
bundle, in a different working directory, as a user would.

Needs PyInstaller (``pip install -e ".[build]"``); install the PyTorch build you
want to ship first (the CPU build keeps the bundle small).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC_NAME = "irsde_gui.spec"
BUNDLE_NAME = "irsde-studio"


def source_root() -> Path:
    """The checkout that holds ``irsde_gui.spec`` (the bundle is built from sources, not from a wheel)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / SPEC_NAME).is_file():
        raise SystemExit(
            f"irsde_gui.build: {SPEC_NAME} not found in {root}; build the bundle from a clone of the "
            "repository (git clone ... && cd ... && python -m irsde_gui.build)"
        )
    return root


def folder_size(path: Path) -> tuple[int, int]:
    """(bytes, files) under ``path``; links are not followed."""
    total = files = 0
    for dirpath, _dirs, names in os.walk(path):
        for n in names:
            p = Path(dirpath) / n
            if not p.is_symlink():
                total += p.stat().st_size
                files += 1
    return total, files


def executable(bundle: Path, name: str) -> Path:
    return bundle / (f"{name}.exe" if os.name == "nt" else name)


def build(
    dist: Path, work: Path, weights: Path | None = None, clean: bool = False, log_level: str = "WARN"
) -> Path:
    """Run PyInstaller on the spec; returns the bundle folder."""
    root = source_root()
    try:
        # deferred: PyInstaller is an optional extra, needed only to build a bundle
        import PyInstaller  # noqa: F401
    except ImportError:
        raise SystemExit('irsde_gui.build: PyInstaller is missing; pip install -e ".[build]"') from None
    env = dict(os.environ)
    # PyInstaller imports every PyTorch submodule to list them; their deprecation notices are noise here.
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning,ignore::FutureWarning")
    if weights is not None:
        env["IRSDE_BUNDLE_WEIGHTS"] = str(Path(weights).resolve())
    cmd = [
        sys.executable,
        "-m",
        "PyInstaller",
        str(root / SPEC_NAME),
        "--noconfirm",
        "--distpath",
        str(dist),
        "--workpath",
        str(work),
        "--log-level",
        log_level,
    ]
    if clean:
        cmd.append("--clean")
    subprocess.run(cmd, check=True, cwd=root, env=env)
    return dist / BUNDLE_NAME


def self_test(bundle: Path, timeout: float = 600) -> int:
    """Run the bundle's ``irsde-gui --self-test`` from a temporary working directory."""
    with tempfile.TemporaryDirectory(prefix="irsde-bundle-") as cwd:
        return subprocess.run(
            [str(executable(bundle, "irsde-gui")), "--self-test"], cwd=cwd, timeout=timeout
        ).returncode


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m irsde_gui.build", description=__doc__.split("\n\n")[0])
    p.add_argument("--dist", default="dist", help="output folder (default: dist)")
    p.add_argument("--work", default="build/pyinstaller", help="PyInstaller's work folder")
    p.add_argument("--weights", help="bundle the weights in this folder instead of weights/")
    p.add_argument("--clean", action="store_true", help="rebuild from scratch (empty PyInstaller's cache)")
    p.add_argument("--self-test", action="store_true", help="run the bundle's self-test after building")
    p.add_argument("--log-level", default="WARN", help="PyInstaller's log level (default WARN)")
    args = p.parse_args(argv)
    began = time.perf_counter()
    bundle = build(
        Path(args.dist).resolve(), Path(args.work).resolve(), args.weights, args.clean, args.log_level
    )
    size, files = folder_size(bundle)
    print(
        f"irsde_gui.build: {bundle} ({size / 2**20:.0f} MiB in {files} files) "
        f"built in {time.perf_counter() - began:.0f} s",
        flush=True,
    )
    print(f"  app:          {executable(bundle, 'irsde-gui')}")
    print(f"  command line: {executable(bundle, 'irsde')}")
    if sys.platform == "darwin":
        print(f"  macOS app:    {bundle.parent / 'IR-SDE Studio.app'}")
    if args.self_test:
        return self_test(bundle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
