"""Long-run memory check: restore a queue of small photos in one process and watch its resident memory.

    python tools/soak.py --mode cli --images 200            # the `irsde restore FOLDER` batch
    python tools/soak.py --mode gui --images 200            # the app's batch queue (offscreen)
    python tools/soak.py --mode cli --images 40 --json      # what tests/test_longrun.py runs

The photos are generated (smooth shapes and noise, ``--size`` px, a different
seed each). The batch runs inside this process: the command line's own
``main()`` (with a thread sampling the resident set and counting finished
outputs) or the real main window's batch queue (sampled after each photo).
Reported: RSS before the batch, after the first photo, after the warm-up
(``--warmup`` photos, default 10 %), after the last, the peak, the growth
after the warm-up and over the second half of the queue alone, each also as a
least-squares slope per photo. (The app's queue warms up for a few dozen
photos: each photo runs on a new worker thread, and the allocator's
per-thread arenas settle; each finished run hands freed pages back with
``malloc_trim``; after that it is flat.) Linux only (reads
``/proc/self/status``). Uses the installed weights, or ``--weights DIR``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


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


class Sampler(threading.Thread):
    """Samples (photos done, RSS MiB) a few times a second while the CLI batch runs."""

    def __init__(self, out: Path, every: float = 0.05):
        super().__init__(daemon=True)
        self.out, self.every = out, every
        self.samples: list[tuple[int, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append((outputs_done(self.out), rss_mib()))
            time.sleep(self.every)


def after(samples: list[tuple[int, float]], n: int) -> float:
    """The RSS right after photo ``n`` was written: the first sample that sees ``n`` outputs."""
    return next(rss for done, rss in samples if done >= n)


def slope_kib_per_photo(points: list[tuple[int, float]]) -> float:
    if len(points) < 3:
        return 0.0
    x = np.array([p[0] for p in points], float)
    y = np.array([p[1] for p in points], float)
    if np.ptp(x) == 0:
        return 0.0
    return float(np.polyfit(x, y, 1)[0] * 1024)


def run_cli(photos: Path, out: Path, task: str, steps: int) -> tuple[float, list[tuple[int, float]], float]:
    from irsde_gui import cli
    from irsde_gui.core import imageio, model, pipeline  # noqa: F401 (PyTorch is loaded before "before")

    gc.collect()
    before = rss_mib()
    sampler = Sampler(out)
    sampler.start()
    code = cli.main(
        [
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
            "-q",
        ]
    )
    sampler.stop.set()
    sampler.join()
    gc.collect()
    end = rss_mib()
    sampler.samples.append((outputs_done(out), end))  # the sampler may have stopped before the last write
    if code != 0:
        raise SystemExit(f"irsde restore failed with exit status {code}")
    return before, sampler.samples, end


def run_gui(
    photos: list[Path], out: Path, task: str, steps: int
) -> tuple[float, list[tuple[int, float]], float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from irsde_gui.selftest import wait_until
    from irsde_gui.ui.main_window import MainWindow
    from irsde_gui.ui.settings import Settings
    from irsde_gui.worker import load_engine_info

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
    samples: list[tuple[int, float]] = []
    done = {"n": 0, "finished": False}

    def item_finished(item) -> None:
        if item.status != "done":
            raise SystemExit(f"{item.source.name}: {item.message}")
        done["n"] += 1
        samples.append((done["n"], rss_mib()))

    win.batch.item_finished.connect(item_finished)
    win.batch.queue_finished.connect(lambda *_: done.update(finished=True))
    app.processEvents()
    gc.collect()
    before = rss_mib()
    win.batch.start()
    wait_until(app, lambda: done["finished"], 24 * 3600)
    for _ in range(20):
        app.processEvents()  # deleteLater of the last run
    gc.collect()
    end = rss_mib()
    win.close()
    return before, samples, end


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=("cli", "gui"), required=True)
    p.add_argument("--images", type=int, default=200)
    p.add_argument("--size", type=int, default=64, help="photo side in px (default 64)")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--task", default="denoise")
    p.add_argument("--warmup", type=int, help="photos before the growth is measured (default 10 %%, >= 2)")
    p.add_argument("--weights", help="folder with TASK.pt + TASK.json to use")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if not Path("/proc/self/status").exists():
        raise SystemExit("soak.py reads /proc/self/status: Linux only")
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
    warm = after(samples, warmup)
    half = max(1, args.images // 2)
    tail = [(n, r) for n, r in samples if n >= warmup]
    result = {
        "mode": args.mode,
        "images": args.images,
        "size": args.size,
        "steps": args.steps,
        "task": args.task,
        "seconds": round(seconds, 1),
        "rss_mib": {
            "before": round(before, 1),
            "after_first": round(after(samples, 1), 1),
            f"after_{warmup}": round(warm, 1),
            "after_last": round(end, 1),
            "peak": round(max([before, end, *[r for _, r in samples]]), 1),
        },
        "curve_mib": [
            [n, round(after(samples, n), 1)]
            for n in sorted({max(1, args.images * k // 10) for k in range(1, 11)})
        ],
        "warmup": warmup,
        "growth_after_warmup_mib": round(end - warm, 1),
        "slope_kib_per_photo": round(slope_kib_per_photo(tail), 1),
        # Whether it *keeps* growing: the second half of the queue alone.
        "growth_second_half_mib": round(end - after(samples, half), 1),
        "slope_second_half_kib_per_photo": round(
            slope_kib_per_photo([(n, r) for n, r in samples if n >= half]), 1
        ),
    }
    if args.json:
        print(json.dumps(result))
    else:
        r = result["rss_mib"]
        print(
            f"{args.mode}: {args.images} photos ({args.size} px, {args.steps} steps, {args.task}) in "
            f"{seconds:.0f} s; RSS before {r['before']:.0f} MiB, after the first {r['after_first']:.0f}, "
            f"after {warmup} {warm:.0f}, after the last {r['after_last']:.0f} (peak {r['peak']:.0f}); "
            f"growth after the warm-up {result['growth_after_warmup_mib']:+.1f} MiB "
            f"({result['slope_kib_per_photo']:+.1f} KiB/photo), over the second half "
            f"{result['growth_second_half_mib']:+.1f} MiB "
            f"({result['slope_second_half_kib_per_photo']:+.1f} KiB/photo)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
