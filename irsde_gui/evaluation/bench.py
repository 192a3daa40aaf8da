"""``irsde bench``: parameters, time per step and peak memory of each task's network.

``--blind`` adds each task's deconvolution route (deblur with the denoise model, as the app
runs it when no deblur model is installed): the time to estimate the blur of a blurred photo
of each size, then the median time of a deconvolution round (Fourier step and one denoiser
step).

A row at 256 px carries the target a network's step is held to (150 ms): a figure
to read beside the measurement, not a limit this module enforces. ``--gui`` adds the app's
event loop, measured with Qt by :mod:`irsde_gui.app.ui.loop_bench`.

Time is the median of several network calls after warm-up, measured with the
same :class:`~irsde_gui.core.model.Restorer` the app uses. Peak memory is the
allocator's high-water mark on CUDA and MPS; on Linux CPUs each row runs in a
fresh process and reports the rise of its peak resident set (``VmHWM``) over
what it held before the first call.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..core.degrade import blur_with, shake_kernels
from ..core.device import DeviceInfo
from ..core.flips import FlipAveraged
from ..core.model import Restorer, load_task_restorer
from ..core.nets import build_model, count_parameters
from ..core.pipeline import JobSettings, create_job
from ..core.sde import MeanRevertingSDE
from ..core.tasks import TASKS, Task
from ..core.weights import WeightsError, load_weights

TARGET_SIZE = 256
STEP_TARGET_MS = 150.0  # a network's step at TARGET_SIZE px (the speed floor of the shipped models)


@dataclass
class BenchRow:
    task: str
    weights: str  # file used, or "untrained (architecture only)"
    parameters: int
    size: int
    ms_per_step: float
    peak_mb: float | None
    setup_ms: float | None = None  # blind deblurring: estimating the blur, before the rounds
    target_ms: float | None = None  # the step's target at this size, where there is one


def _proc_status_kb(field_name: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_cpu_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure(
    restorer: Restorer, size: int, repeats: int = 5, warmup: int = 2, flip_average: bool = False
) -> tuple[float, float | None]:
    """Median milliseconds per step's network work at ``size``x``size`` (a call, or two in one
    batch where the task averages flips) and the peak memory in MB.

    The peak is measured from before the first call at this size, so it is honest only
    in a process that has not run this size before (see :func:`bench`).
    """
    dev = restorer.device.device
    g = torch.Generator().manual_seed(0)
    mu = torch.rand(1, 3, size, size, generator=g).to(dev)
    x = (mu + 0.04 * torch.randn(mu.shape, generator=g).to(dev)).contiguous()
    t = restorer.sde.T // 2
    gc.collect()
    base = None
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        base = torch.cuda.memory_allocated(dev)
    elif dev.type == "cpu" and _reset_cpu_peak():
        base = _proc_status_kb("VmRSS")
    call = FlipAveraged(restorer) if flip_average else restorer
    times = []
    for i in range(warmup + repeats):
        began = time.perf_counter()
        call(x, mu, t)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        elif dev.type == "mps":
            torch.mps.synchronize()
        if i >= warmup:
            times.append((time.perf_counter() - began) * 1000.0)
    peak = None
    if dev.type == "cuda":
        peak = (torch.cuda.max_memory_allocated(dev) - (base or 0)) / 2**20
    elif dev.type == "mps":
        peak = torch.mps.driver_allocated_memory() / 2**20
    elif base is not None:
        hwm = _proc_status_kb("VmHWM")
        peak = None if hwm is None else max(0, hwm - base) / 1024.0
    return statistics.median(times), peak


def _restorer_for(name: str, device: DeviceInfo) -> tuple[Restorer, str]:
    task = TASKS[name]
    try:
        loaded = load_weights(name)
        net, sde_cfg, source = loaded.net, loaded.card.sde, str(loaded.path)
    except WeightsError:
        net, sde_cfg, source = build_model(task.network).eval(), task.sde, "untrained (architecture only)"
    return Restorer(net, MeanRevertingSDE(sde_cfg), device), source


def _row(name: str, size: int, device: DeviceInfo, repeats: int) -> BenchRow:
    restorer, source = _restorer_for(name, device)
    ms, peak = measure(restorer, size, repeats=repeats, flip_average=TASKS[name].flip_average)
    return BenchRow(
        name,
        source,
        count_parameters(restorer.net),
        size,
        round(ms, 2),
        None if peak is None else round(peak, 1),
        target_ms=STEP_TARGET_MS if size == TARGET_SIZE else None,
    )


def blind_routes() -> list[Task]:
    """The tasks that also run by deconvolution, with another task's model as the prior."""
    return [task for task in TASKS.values() if task.prior_task is not None]


def _blind_row(name: str, size: int, device: DeviceInfo, repeats: int) -> BenchRow:
    """Task ``name``'s deconvolution route on a ``size`` px photo of shapes blurred by a fixed
    shake kernel."""
    task = TASKS[name]
    restorer = load_task_restorer(task.prior_task, None, device)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    photo = np.stack([0.5 + 0.4 * np.sin(9 * xx + 3 * yy), 0.5 + 0.4 * np.cos(7 * yy), xx * yy], axis=2)
    for _ in range(12):  # flat shapes with sharp edges, what the estimate feeds on
        y0, x0 = rng.integers(0, size, 2)
        photo[y0 : y0 + size // 5, x0 : x0 + size // 6] = rng.random(3)
    kernel = shake_kernels(np.random.default_rng(1), 1, size=15)[0]
    sharp = torch.from_numpy(photo.transpose(2, 0, 1).astype(np.float32))[None]
    blurred = blur_with(sharp, kernel / kernel.sum(), 0.01, torch.Generator().manual_seed(0))
    blurred = blurred[0].permute(1, 2, 0).numpy()
    _reset_cpu_peak()
    base = _proc_status_kb("VmRSS")
    job = create_job(task, restorer, blurred, settings=JobSettings(steps=repeats + 1))
    began = time.perf_counter()
    job.kernel = job.find_blur()  # estimated and refined, as in the app
    setup = (time.perf_counter() - began) * 1000.0
    times = [rec.seconds * 1000.0 for rec in job.steps_iter()][1:]  # the first round warms up
    hwm = _proc_status_kb("VmHWM")
    peak = None if hwm is None or base is None or device.kind != "cpu" else max(0, hwm - base) / 1024.0
    return BenchRow(
        f"{name} (blind)",
        str(restorer.weights.path),
        count_parameters(restorer.net),
        size,
        round(statistics.median(times), 2),
        None if peak is None else round(peak, 1),
        round(setup, 1),
    )


def _row_in_fresh_process(name: str, size: int, repeats: int, blind: bool = False) -> BenchRow:
    """CPU rows run in a new process each, so the peak memory of one size is not hidden
    by memory the allocator kept from another."""
    row = "_blind_row" if blind else "_row"
    call = f"bench.{row}({name!r}, {size}, device.pick_device('cpu'), {repeats})"
    code = (
        "import json, sys, dataclasses, torch;"
        "from irsde_gui.core import device; from irsde_gui.evaluation import bench;"
        f"torch.set_num_threads({torch.get_num_threads()});"
        f"r = {call};"
        "print(json.dumps(dataclasses.asdict(r)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return BenchRow(**json.loads(out.stdout.strip().splitlines()[-1]))


def bench(device: DeviceInfo, sizes=(256, 512, 1024), tasks=None, repeats: int = 5, blind: bool = False):
    """Yield a :class:`BenchRow` for every task and size (and for blind deblurring)."""
    fresh = device.kind == "cpu" and os.path.exists("/proc/self/clear_refs")
    for name in tasks or TASKS:
        for size in sizes:
            reps = repeats if size <= 512 else max(2, repeats // 2)
            yield _row_in_fresh_process(name, size, reps) if fresh else _row(name, size, device, reps)
        gc.collect()
    for task in blind_routes() if blind else ():
        for size in sizes:
            reps = max(2, repeats // 2)
            if fresh:
                yield _row_in_fresh_process(task.name, size, reps, blind=True)
            else:
                yield _blind_row(task.name, size, device, reps)


def rows_to_json(rows: list[BenchRow], device: DeviceInfo, event_loop: list | None = None) -> dict:
    """The rows as JSON; ``event_loop``: the app's event-loop figures (``bench --gui``), if measured."""
    out = {
        "device": device.describe(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "results": [asdict(r) for r in rows],
    }
    if event_loop is not None:
        out["event_loop"] = [asdict(g) for g in event_loop]
    return out
