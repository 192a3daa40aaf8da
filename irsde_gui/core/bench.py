"""``irsde bench``: parameters, time per step and peak memory of each task's network.

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

import torch

from .device import DeviceInfo
from .model import Restorer
from .nets import build_model, count_parameters
from .sde import MeanRevertingSDE
from .tasks import TASKS
from .weights import WeightsError, load_weights


@dataclass
class BenchRow:
    task: str
    weights: str  # file used, or "untrained (architecture only)"
    parameters: int
    size: int
    ms_per_step: float
    peak_mb: float | None


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


def measure(restorer: Restorer, size: int, repeats: int = 5, warmup: int = 2) -> tuple[float, float | None]:
    """Median milliseconds per network call at ``size``x``size`` and the peak memory in MB.

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
    times = []
    for i in range(warmup + repeats):
        began = time.perf_counter()
        restorer(x, mu, t)
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
    ms, peak = measure(restorer, size, repeats=repeats)
    return BenchRow(
        name,
        source,
        count_parameters(restorer.net),
        size,
        round(ms, 2),
        None if peak is None else round(peak, 1),
    )


def _row_in_fresh_process(name: str, size: int, repeats: int) -> BenchRow:
    """CPU rows run in a new process each, so the peak memory of one size is not hidden
    by memory the allocator kept from another."""
    code = (
        "import json, sys, dataclasses, torch; from irsde_gui.core import bench, device;"
        f"torch.set_num_threads({torch.get_num_threads()});"
        f"r = bench._row({name!r}, {size}, device.pick_device('cpu'), {repeats});"
        "print(json.dumps(dataclasses.asdict(r)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return BenchRow(**json.loads(out.stdout.strip().splitlines()[-1]))


def bench(device: DeviceInfo, sizes=(256, 512, 1024), tasks=None, repeats: int = 5):
    """Yield a :class:`BenchRow` for every task and size."""
    fresh = device.kind == "cpu" and os.path.exists("/proc/self/clear_refs")
    for name in tasks or TASKS:
        for size in sizes:
            reps = repeats if size <= 512 else max(2, repeats // 2)
            yield _row_in_fresh_process(name, size, reps) if fresh else _row(name, size, device, reps)
        gc.collect()


def rows_to_json(rows: list[BenchRow], device: DeviceInfo) -> dict:
    return {
        "device": device.describe(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "results": [asdict(r) for r in rows],
    }
