"""Choosing where the network runs (CUDA, Apple MPS or CPU) and in what precision."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(RuntimeError):
    """The requested device does not exist on this machine."""


@dataclass(frozen=True)
class DeviceInfo:
    """A device the network can run on, with the precision we use there."""

    device: torch.device
    name: str  # human-readable, e.g. "NVIDIA H100 (CUDA)"
    autocast_dtype: torch.dtype | None  # reduced precision for the network, or None for float32

    @property
    def kind(self) -> str:
        return self.device.type

    @property
    def dtype_name(self) -> str:
        return {torch.bfloat16: "bfloat16", torch.float16: "float16"}.get(self.autocast_dtype, "float32")

    def describe(self) -> str:
        return f"{self.name}, {self.dtype_name}"


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """Device kinds present here, best first (always ends with ``cpu``)."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if mps_available():
        found.append("mps")
    found.append("cpu")
    return found


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass

    return platform.processor() or platform.machine()


def pick_device(choice: str = "auto") -> DeviceInfo:
    """Resolve ``auto|cpu|cuda|cuda:N|mps`` to a device.

    ``auto`` takes CUDA, then MPS, then the CPU. An explicit choice that is not
    available raises :class:`DeviceError` instead of silently falling back.
    """
    choice = (choice or "auto").lower()
    kind = choice.split(":")[0]
    if kind not in DEVICE_CHOICES:
        raise DeviceError(f"unknown device {choice!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    if kind == "auto":
        kind = available_devices()[0]
        choice = kind
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                "CUDA was requested but no CUDA GPU is available "
                "(this PyTorch build may be CPU-only); use --device cpu or auto"
            )
        dev = torch.device(choice)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"{choice} requested but only {torch.cuda.device_count()} CUDA GPU(s) exist")
        idx = dev.index or 0
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return DeviceInfo(dev, f"{torch.cuda.get_device_name(idx)} (CUDA)", dtype)
    if kind == "mps":
        if not mps_available():
            raise DeviceError("Apple MPS was requested but is not available on this machine")
        # float32 on MPS: half precision there still misses operators on some macOS versions;
        # an operator MPS lacks runs on the CPU instead of failing the run.
        os.environ.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")
        return DeviceInfo(torch.device("mps"), "Apple GPU (MPS)", None)
    # bfloat16 where the CPU computes it natively: 1.3-1.5x faster per step for about
    # 0.02 dB (measured on the dehaze model); float32 elsewhere.
    cpu_dtype = torch.bfloat16 if cpu_supports_bf16() else None
    threads = torch.get_num_threads()
    name = f"CPU: {cpu_name()} ({threads} thread{'' if threads == 1 else 's'})"
    return DeviceInfo(torch.device("cpu"), name, cpu_dtype)


def cpu_supports_bf16() -> bool:
    """True where the CPU computes bfloat16 natively (AVX512-BF16, AMX): there mixed
    precision trains about 1.7x faster; elsewhere it would be emulated and slower."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA, MPS and CPU allocation failures."""
    if isinstance(exc, torch.OutOfMemoryError | MemoryError):
        return True
    msg = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in msg or "can't allocate memory" in msg or "mps backend out of memory" in msg
    )


def available_memory(device: torch.device) -> int | None:
    """Bytes the network may still allocate on ``device`` (None when unknown)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "mps":
        rec = getattr(torch.mps, "recommended_max_memory", None)
        if rec is not None:
            return int(rec() - torch.mps.current_allocated_memory())
        return None
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
