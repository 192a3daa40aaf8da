"""Long-run memory check: restore a queue of small photos in one process and watch its resident memory.

    python tools/soak.py --mode cli --images 200            # the `irsde restore FOLDER` batch
    python tools/soak.py --mode gui --images 200            # the app's batch queue (offscreen)
    python tools/soak.py --mode cli --images 40 --json      # what tests/test_longrun.py runs

The photos are generated (smooth shapes and noise, ``--size`` px, a different
seed each). The batch runs inside this process: the command line's own
``main()`` or the real main window's batch queue, sampled right after each
photo is written. Two measures: the resident set (RSS), which is what the
system sees but moves by a MiB or two on its own as the kernel reclaims and
faults pages (DAMON's ``kdamond``, swap, page cache), and the C heap in use
(glibc's ``mallinfo2``: allocated chunks in every arena plus mmapped blocks),
where PyTorch's tensors, NumPy's arrays and Qt's images live, and which moves
only when the program allocates. Reported for each: the level before the
batch, after the first photo, after the warm-up (``--warmup`` photos, default
10 %), after the last, the peak, the growth after the warm-up and over the
second half of the queue alone, each also as a least-squares slope per photo.
(The app's queue warms up for a few dozen photos: each photo runs on a new
worker thread, and the allocator's per-thread arenas settle; each finished run
hands freed pages back with ``malloc_trim``; after that it is flat.)
``--leak-kib N`` keeps N KiB alive per photo, to show the measure catches a
leak. Linux only (reads ``/proc/self/status``); the heap needs glibc 2.33 or
later. Uses the installed weights, or ``--weights DIR``.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class _MallInfo2(ctypes.Structure):
    _FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    _fields_ = [(name, ctypes.c_size_t) for name in _FIELDS.split(" ")]


def _mallinfo2():
    try:
        fn = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None
    fn.restype = _MallInfo2
    return fn


_MALLINFO2 = _mallinfo2()


def heap_mib() -> float:
    """Bytes the C heap has handed out and not had back (glibc's mallinfo2: in-use chunks in every
    arena plus mmapped blocks), in MiB; NaN without glibc >= 2.33."""
    if _MALLINFO2 is None:
        return float("nan")
    m = _MALLINFO2()
    return (m.uordblks + m.hblkhd) / 2**20


def make_photos(folder: Path, count: int, size: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    files = []
    for i in range(count):
        rng = np.random.default_rng(i)
        base = np.stack(
            [0.5 + 0.4 * np.sin(6 * xx + rng.random() * 6), 0.5 + 0.4 * np.cos(5 * yy), (xx + yy) / 2], axis=2
        )
        noisy = np.clip(base + rng.normal(0, 0.1, base.shape), 0, 1)
        path = folder / f"photo{i:04d}.png"
        Image.fromarray((noisy * 255 + 0.5).astype(np.uint8)).save(path)
        files.append(path)
    return files


def outputs_done(folder: Path) -> int:
    return sum(1 for p in folder.glob("*.png") if not p.name.startswith("."))


class Leak:
    """``--leak-kib``: keeps that many KiB alive for every finished photo, as a leaking restore would, to
    show that the measurement catches it (tests/test_longrun.py does)."""

    def __init__(self, kib: float = 0.0):
        self.kib, self.kept, self.count = kib, [], 0

    def feed(self, done: int) -> None:
        while self.kib > 0 and self.count < done:
            self.kept.append(np.ones(int(self.kib * 1024) // 8))  # written, so its pages are resident
            self.count += 1


LEAK = Leak()


class Sample(NamedTuple):
    done: int  # photos finished
    rss: float  # resident set, MiB
    heap: float  # C heap in use, MiB


def sample(done: int) -> Sample:
    return Sample(done, rss_mib(), heap_mib())


def after(samples: list[Sample], n: int, what: str = "rss") -> float:
    """The RSS (or heap) right after photo ``n`` was written: the first sample that sees ``n`` outputs."""
    return next(getattr(s, what) for s in samples if s.done >= n)


def slope_kib_per_photo(points: list[Sample], what: str = "rss") -> float:
    if len(points) < 3:
        return 0.0
    x = np.array([p.done for p in points], float)
    y = np.array([getattr(p, what) for p in points], float)
    if np.ptp(x) == 0:
        return 0.0
    return float(np.polyfit(x, y, 1)[0] * 1024)


def run_cli(photos: Path, out: Path, task: str, steps: int) -> tuple[Sample, list[Sample], Sample]:
    from irsde_gui import cli
    from irsde_gui.core import imageio, model, pipeline  # noqa: F401 (PyTorch is loaded before "before")

    samples: list[Sample] = []
    write_photo = imageio.write_photo

    def write_and_sample(*args, **kwargs):
        """The command line's own write, then a sample: the same point in every photo's life."""
        write_photo(*args, **kwargs)
        LEAK.feed(len(samples) + 1)
        samples.append(sample(len(samples) + 1))

    gc.collect()
    before = sample(0)
    imageio.write_photo = write_and_sample
    try:
        argv = [
            "restore",
            str(photos),
            "-o",
            str(out),
            "--task",
            task,
            "--steps",
            str(steps),
            "--device",
            "cpu",
        ]
        code = cli.main([*argv, "-q"])
    finally:
        imageio.write_photo = write_photo
    gc.collect()
    end = sample(len(samples))
    if code != 0:
        raise SystemExit(f"irsde restore failed with exit status {code}")
    return before, samples, end


def run_gui(photos: list[Path], out: Path, task: str, steps: int) -> tuple[Sample, list[Sample], Sample]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from irsde_gui.app.selftest import wait_until
    from irsde_gui.app.ui.main_window import MainWindow
    from irsde_gui.app.ui.settings import Settings
    from irsde_gui.app.worker import load_engine_info

    app = QApplication.instance() or QApplication([])
    win = MainWindow(Settings(out.parent / "settings.ini"), load_engine=False)
    win.show()
    win.set_engine(load_engine_info())
    if not win.panel.select_task(task):
        raise SystemExit(f"task {task} is not available: {win.engine.tasks[task].problem}")
    win.panel.set_steps(steps)
    win.panel.set_device("cpu")
    win.batch.set_output_folder(out)
    win.batch.add_paths(photos)
    samples: list[Sample] = []
    done = {"n": 0, "finished": False}

    def item_finished(item) -> None:
        if item.status != "done":
            raise SystemExit(f"{item.source.name}: {item.message}")
        done["n"] += 1
        LEAK.feed(done["n"])
        samples.append(sample(done["n"]))

    win.batch.item_finished.connect(item_finished)
    win.batch.queue_finished.connect(lambda *_: done.update(finished=True))
    app.processEvents()
    gc.collect()
    before = sample(0)
    win.batch.start()
    wait_until(app, lambda: done["finished"], 24 * 3600)
    for _ in range(20):
        app.processEvents()  # deleteLater of the last run
    gc.collect()
    end = sample(done["n"])
    win.close()
    return before, samples, end


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=("cli", "gui"), required=True)
    p.add_argument("--images", type=int, default=200)
    p.add_argument("--size", type=int, default=64, help="photo side in px (default 64)")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--task", default="denoise")
    p.add_argument("--warmup", type=int, help="photos before the growth is measured (default 10 %%, >= 2)")
    p.add_argument("--weights", help="folder with TASK.pt + TASK.json to use")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--leak-kib", type=float, default=0.0, help="keep this many KiB per photo (checks the check)"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not Path("/proc/self/status").exists():
        raise SystemExit("soak.py reads /proc/self/status: Linux only")
    LEAK.kib = args.leak_kib
    warmup = args.warmup or max(2, args.images // 10)
    with tempfile.TemporaryDirectory(prefix="irsde-soak-") as tmp:
        tmp = Path(tmp)
        if args.weights:
            os.environ["IRSDE_DATA_DIR"] = str(tmp / "data")
            shutil.copytree(args.weights, tmp / "data" / "weights")
        photos = make_photos(tmp / "in", args.images, args.size)
        out = tmp / "out"
        out.mkdir()
        began = time.perf_counter()
        if args.mode == "cli":
            before, samples, end = run_cli(tmp / "in", out, args.task, args.steps)
        else:
            before, samples, end = run_gui(photos, out, args.task, args.steps)
        seconds = time.perf_counter() - began
        written = outputs_done(out)
    if written != args.images:
        raise SystemExit(f"only {written} of {args.images} outputs were written")

    def measure(what: str) -> dict:
        return memory_growth(what, before, end, samples, warmup, args.images)

    rss = measure("rss")
    result = {
        "mode": args.mode,
        "images": args.images,
        "size": args.size,
        "steps": args.steps,
        "task": args.task,
        "seconds": round(seconds, 1),
        "leak_kib": args.leak_kib,
        "warmup": warmup,
        "rss_mib": rss.pop("levels_mib"),
        **rss,
        # The C heap (glibc's own count, untouched by the kernel's page reclaim): None without glibc.
        "heap": measure("heap") if _MALLINFO2 is not None else None,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print_summary(result, seconds)
    return 0


def memory_growth(what: str, before, end, samples: list, warmup: int, images: int) -> dict:
    """Levels (MiB) and growth of the RSS or of the C heap in use."""
    half = max(1, images // 2)
    first, last = getattr(before, what), getattr(end, what)
    warm = after(samples, warmup, what)
    return {
        "levels_mib": {
            "before": round(first, 1),
            "after_first": round(after(samples, 1, what), 1),
            f"after_{warmup}": round(warm, 1),
            "after_last": round(last, 1),
            "peak": round(max([first, last, *[getattr(s, what) for s in samples]]), 1),
        },
        "curve_mib": [
            [n, round(after(samples, n, what), 1)]
            for n in sorted({max(1, images * k // 10) for k in range(1, 11)})
        ],
        "growth_after_warmup_mib": round(last - warm, 2),
        "slope_kib_per_photo": round(slope_kib_per_photo([s for s in samples if s.done >= warmup], what), 1),
        # Whether it *keeps* growing: the second half of the queue alone.
        "growth_second_half_mib": round(last - after(samples, half, what), 2),
        "slope_second_half_kib_per_photo": round(
            slope_kib_per_photo([s for s in samples if s.done >= half], what), 1
        ),
    }


def print_summary(result: dict, seconds: float) -> None:
    """The report in one paragraph, for a person."""
    r, warmup = result["rss_mib"], result["warmup"]
    print(
        f"{result['mode']}: {result['images']} photos ({result['size']} px, {result['steps']} steps, "
        f"{result['task']}) in "
        f"{seconds:.0f} s; RSS before {r['before']:.0f} MiB, after the first {r['after_first']:.0f}, "
        f"after {warmup} {r[f'after_{warmup}']:.0f}, after the last {r['after_last']:.0f} "
        f"(peak {r['peak']:.0f}); "
        f"growth after the warm-up {result['growth_after_warmup_mib']:+.1f} MiB "
        f"({result['slope_kib_per_photo']:+.1f} KiB/photo), over the second half "
        f"{result['growth_second_half_mib']:+.1f} MiB "
        f"({result['slope_second_half_kib_per_photo']:+.1f} KiB/photo)"
    )


if __name__ == "__main__":
    sys.exit(main())
