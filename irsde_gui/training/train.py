"""Training the restoration networks: resumable, deterministic, fast on small networks.

One run trains one task into a run folder::

    RUN/config.json        what is being trained (fixed at the first start)
    RUN/checkpoint.pt      model, EMA, optimizer, step, RNG states, compute used
    RUN/validation.csv     periodic PSNR/SSIM of the EMA weights on fixed-seed degradations
    RUN/log.csv            loss, learning rate and throughput

Checkpoints hold every random state (patch sampling, degradations, noise),
so stopping and resuming gives bit-identical weights on the same device, and
a run started on a GPU can continue on a CPU and back. Degradations are made
on the fly on the training device from clean photos.

Loss (``loss``):

- ``x0``: L1 between the clean-image estimate and the clean image: what
  learns fastest for networks that predict the clean image (METHOD.md §7);
- ``x0_l2``: the squared error instead, what PSNR scores: L1 learns the
  per-pixel median of what a degraded photo could hide, the squared error its
  mean, which PSNR prefers where the answer stays uncertain. For fine-tuning a
  run trained with ``x0`` (it helped ×4 on small photos, not inpainting:
  docs/training.md);
- ``ml``: the reference's maximum-likelihood loss, L1 between one reverse-SDE
  mean step with the predicted score and the optimal previous state;
- ``ml_x0``: the same likelihood written through the posterior mean, i.e. an
  L1 on ``x0`` weighted by ``C (1 - A^2) / (1 - B^2)`` per step.

Distributed: started under ``torchrun`` the trainer runs data-parallel (NCCL on
GPUs, gloo on CPUs); ``--batch`` is per process.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import platform
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from ..core.degrade import SR_SCALE, randn
from ..core.device import DeviceInfo, cpu_supports_bf16, pick_device
from ..core.imageio import read_photo
from ..core.metrics import psnr, ssim
from ..core.model import Restorer
from ..core.nets import build_model, count_parameters
from ..core.sde import MeanRevertingSDE, SDEConfig
from ..core.tasks import TASKS, get_task
from ..core.weights import (
    ModelCard,
    card_path,
    load_weights,
    read_card,
    save_weights,
    verify_sha256,
    write_card,
)
from ..evaluation.validation import list_images, load_kernels, pair_files, restore_array

LOSSES = ("x0", "x0_l2", "ml", "ml_x0")
RESUME_OVERRIDABLE = (
    "iters",
    "batch",
    "patch",
    "data",
    "val_data",
    "val_every",
    "val_limit",
    "val_crop",
    "val_steps",
    "val_kernels",
    "val_pairs",
    "val_preset",
    "ckpt_every",
    "ckpt_minutes",
    "log_every",
    "t_focus",
    "degradation",
    "rescale",
    "loss",
)
CHECKPOINT = "checkpoint.pt"


# ------------------------------------------------------------------ configuration
@dataclass
class TrainConfig:
    task: str
    data: list[str]
    iters: int = 100_000
    batch: int = 16
    patch: int = 128
    lr: float = 1e-3
    min_lr: float = 1e-5
    warmup: int = 500
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    loss: str = "x0"
    network: dict = field(default_factory=dict)
    sde: dict = field(default_factory=dict)
    seed: int = 0
    val_data: list[str] = field(default_factory=list)
    val_every: int = 2000
    val_limit: int = 8
    val_crop: int = 128  # 0: whole photos
    val_steps: int | None = None
    val_kernels: str | None = None  # deblur: validate on these kernels (.npz), as `irsde eval --kernels`
    val_pairs: str | None = None  # a folder of real degraded/clean pairs, scored beside val_data
    val_preset: str | None = None  # also score val_data under this evaluation degradation (Task.eval_presets)
    ckpt_every: int = 500
    ckpt_minutes: float = 5.0
    log_every: int = 50
    # A fresh run may start from another model's weights (same network), e.g. deblurring from the
    # shipped denoiser: {"weights": file name, "task": its task, "sha256": ..., "step": its steps}.
    init: dict | None = None
    # The global batch (per process x processes) that ``lr`` is meant for, set when a run starts.
    # A resumed run on other hardware takes another batch; its rates scale with the square root
    # of the ratio (as Adam's should), so that a CPU session after a large-batch GPU session
    # does not undo it. Runs started before this existed have none: their rates do not scale.
    lr_batch: int | None = None
    # The share of training samples whose time is drawn from the last quarter of the process
    # (t >= 0.75 T) instead of uniformly over 1..T. A restoration in one or two steps calls the
    # network there, where the photo is still almost entirely degraded (at t = 75 the clean
    # photo's share of x_t's mean is 7 %, at t = 30 it is 77 %); 0 is the uniform draw.
    t_focus: float = 0.0
    # The training mix of degradations (``Task.training_mixes``), e.g. denoise's "camera" or
    # "gaussian"; a run may change it when resumed (a shipped model fine-tuned on real noise).
    # Runs started before it existed trained on the first mix their task then had.
    degradation: str | None = None
    # The smallest scale a patch is drawn at: half the patches come from the photo shrunk by a
    # factor between this and 1 (log-uniform), so the network also learns whole scenes at the
    # sizes the coarse passes run it at (inpainting's half and quarter size). 1: own size only.
    rescale: float = 1.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})

    def resolved(self) -> TrainConfig:
        """Fill the task's defaults for network and SDE; check the settings."""
        task = get_task(self.task)
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        if task.scale != 1 and self.patch % task.scale:
            raise ValueError(f"patch size for {task.name} must be a multiple of {task.scale}")
        if not self.data:
            raise ValueError("no training data folders given")
        if self.val_preset and self.val_preset not in task.eval_presets:
            raise ValueError(f"no evaluation degradation {self.val_preset!r} for {task.name}")
        if self.val_kernels and not task.takes_blur:
            blurs = " or ".join(t.name for t in TASKS.values() if t.takes_blur)
            raise ValueError(f"validation kernels are for {blurs} only")
        if not 0.0 <= self.t_focus <= 1.0:
            raise ValueError(f"--t-focus is a share between 0 and 1, got {self.t_focus}")
        if not 0.0 < self.rescale <= 1.0:
            raise ValueError(f"--rescale is the smallest scale, between 0 and 1, got {self.rescale}")
        mixes = task.mix_names()
        if self.degradation is not None and self.degradation not in mixes:
            raise ValueError(
                f"unknown degradation {self.degradation!r} for {task.name}; choose one of {', '.join(mixes)}"
            )
        cfg = TrainConfig.from_dict(self.to_dict())
        cfg.degradation = self.degradation or mixes[0]
        cfg.network = dict(self.network or task.network)
        cfg.sde = dict(self.sde or task.sde.to_dict())
        return cfg


# ------------------------------------------------------------------ data
def load_rgb_uint8(path: Path) -> np.ndarray:
    rgb = read_photo(path).rgb
    return (rgb * 255.0 + 0.5).astype(np.uint8)


class PatchSampler:
    """Random crops with flips and 90° rotations from photos held in memory; with ``rescale`` < 1,
    half of them from the photo shrunk by a random factor down to ``rescale`` (never below the
    patch), so that a patch holds more of the scene, as on a photo seen at a smaller size.

    All randomness comes from one numpy generator whose state is checkpointed.
    """

    def __init__(self, folders: list[str], patch: int, seed: int, rescale: float = 1.0):
        self.patch = patch
        self.rescale = rescale
        self.images = []
        skipped = 0
        for f in list_images(folders):
            img = load_rgb_uint8(f)
            if min(img.shape[:2]) < patch:
                skipped += 1
                continue
            self.images.append(img)
        if not self.images:
            raise ValueError(f"no training images of at least {patch}x{patch} px in {folders}")
        self.skipped = skipped
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.images)

    def _scale(self, h: int, w: int) -> float:
        """The factor this patch's photo is shrunk by (1: its own size)."""
        smallest = max(self.rescale, self.patch / min(h, w))
        if smallest >= 1.0 or self.rng.random() < 0.5:
            return 1.0
        return float(np.exp(self.rng.uniform(np.log(smallest), 0.0)))

    def batch(self, size: int) -> torch.Tensor:
        """A uint8 batch (B x 3 x P x P)."""
        p = self.patch
        out = np.empty((size, p, p, 3), np.uint8)
        idx = self.rng.integers(0, len(self.images), size)
        for i, k in enumerate(idx):
            img = self.images[k]
            h, w = img.shape[:2]
            s = self._scale(h, w) if self.rescale < 1.0 else 1.0
            c = min(h, w, round(p / s))  # the region of the photo the patch shows
            y = int(self.rng.integers(0, h - c + 1))
            x = int(self.rng.integers(0, w - c + 1))
            crop = img[y : y + c, x : x + c]
            if c != p:
                crop = cv2.resize(crop, (p, p), interpolation=cv2.INTER_AREA)
            op = int(self.rng.integers(0, 8))
            if op & 4:
                crop = crop[:, ::-1]
            out[i] = np.rot90(crop, op & 3)
        return torch.from_numpy(out).permute(0, 3, 1, 2)

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


# ------------------------------------------------------------------ loss
def training_loss(
    kind: str,
    sde: MeanRevertingSDE,
    x_t: torch.Tensor,
    mu: torch.Tensor,
    x0: torch.Tensor,
    x0_hat: torch.Tensor,
    t: torch.Tensor,
) -> torch.Tensor:
    """The training loss for a batch (see the module docstring for the kinds)."""
    if kind == "x0":
        return (x0_hat - x0).abs().mean()
    if kind == "x0_l2":
        return (x0_hat - x0).square().mean()
    target = sde.optimal_previous(x_t, mu, x0, t)
    if kind == "ml_x0":
        return (sde.optimal_previous(x_t, mu, x0_hat, t) - target).abs().mean()
    if kind == "ml":
        std = sde.marginal_std(t, x_t)
        score = -(x_t - sde.marginal_mean(x0_hat, mu, t)) / std**2
        return (sde.model_previous(x_t, mu, score, t) - target).abs().mean()
    raise ValueError(f"unknown loss {kind!r}")


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay from ``lr`` to ``min_lr`` at ``iters``."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = min(1.0, (step - cfg.warmup) / max(1, cfg.iters - cfg.warmup))
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * progress))


# ------------------------------------------------------------------ distributed
@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def init_distributed(device_choice: str) -> tuple[Dist, DeviceInfo]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), pick_device(device_choice)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    info = pick_device(device_choice)
    if info.kind == "cuda":
        torch.cuda.set_device(local)
        info = pick_device(f"cuda:{local}")
        backend = "nccl"
    else:
        info = pick_device("cpu")
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return Dist(rank, world, local), info


def replica_checksum(net: torch.nn.Module) -> float:
    with torch.no_grad():
        return float(
            sum(
                p.detach().double().sum().item() + p.detach().double().pow(2).sum().item()
                for p in net.parameters()
            )
        )


# ------------------------------------------------------------------ EMA
class EMA:
    """Exponential moving average of the weights (what ships), with a warm-up of the decay."""

    def __init__(self, net: torch.nn.Module, decay: float):
        self.decay = decay
        self.shadow = {k: v.detach().clone().float() for k, v in net.state_dict().items()}

    @torch.no_grad()
    def update(self, net: torch.nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        shadows, values = [], []
        for k, v in net.state_dict().items():
            if v.is_floating_point():
                shadows.append(self.shadow[k])
                values.append(v.detach().float())
            else:
                self.shadow[k].copy_(v)
        # One fused launch per op instead of two per tensor (a GPU step is launch-bound).
        torch._foreach_mul_(shadows, d)
        torch._foreach_add_(shadows, values, alpha=1 - d)

    def state_dict(self) -> dict:
        return self.shadow

    def load_state_dict(self, state: dict) -> None:
        for k, v in state.items():
            self.shadow[k].copy_(v)

    def copy_to(self, net: torch.nn.Module) -> torch.nn.Module:
        net.load_state_dict({k: v.to(net.state_dict()[k].dtype) for k, v in self.shadow.items()})
        return net


def init_weights(
    net: torch.nn.Module, path: str | os.PathLike, network: dict, task: str | None = None
) -> dict:
    """Load another model's shipped weights into ``net`` (a fresh run's network), after checking
    that both describe the same network; returns what the run's config records about them.

    ``task``'s own model, whose card describes its training run, is refused: a new run would
    start counting at step 0 and its card would leave out every step and minute the weights
    already hold. ``irsde unpack`` then ``--resume`` continues that run instead."""
    loaded = load_weights(None, path)  # verified against its model card
    tr = loaded.card.training
    grown = _grown_network(loaded.card.network, network)
    if grown is None and task is not None and loaded.card.task == task and "config" in tr and "step" in tr:
        name = Path(path).name
        raise ValueError(
            f"{name} is the {task} model itself ({tr['step']} steps trained): continue its run with "
            f"'irsde unpack {path} --out RUN' and '--resume', which keeps the steps and compute it holds"
        )
    if loaded.card.network != network and grown is None:
        raise ValueError(
            f"{Path(path).name} holds a different network ({loaded.card.network}) than this run's ({network})"
        )
    missing, unexpected = net.load_state_dict(loaded.net.state_dict(), strict=grown is None)
    if unexpected or any(not k.startswith(grown or ()) for k in missing):
        raise ValueError(f"{Path(path).name} does not fit this run's network: {[*missing, *unexpected][:3]}")
    return {
        "weights": Path(path).name,
        "task": loaded.card.task,
        "sha256": loaded.card.sha256,
        "step": int(loaded.card.training.get("step", 0)),
        # What the network gained over the weights it starts from (a new architecture).
        **(
            {
                "grown": {
                    k: network[k]
                    for k in GROWABLE
                    if k in network and network[k] != loaded.card.network.get(k)
                }
            }
            if grown
            else {}
        ),
        # The task's own model grown: its training goes on in this run, and the card of this run
        # counts it (every step and minute the weights hold; see export_run).
        **({"training": _training_so_far(tr)} if grown and loaded.card.task == task else {}),
    }


def _training_so_far(tr: dict) -> dict:
    """What a model card's training record says of its steps, compute and where they ran."""
    return {
        "iterations": int(tr.get("iterations") or 0),
        "minutes": float(tr.get("minutes") or 0.0),
        "hardware": list(tr.get("hardware") or []),
        "stages": list(tr.get("stages") or []),
    }


# Options that add zero-initialised modules to a network: a trained model loads into the larger
# network and computes the same output until the new modules learn. Each maps the option's old
# and new value to the prefixes of the added weights. A NAF block starts as the identity (its two
# branches enter through zero scales), so more blocks at a level only grow the network; they are
# appended after that level's own.
def _added_blocks(name: str, old, new) -> tuple[str, ...] | None:
    """``name.LEVEL.I.`` for the blocks ``new`` (counts per level) adds to ``old``; None if it
    removes any or changes the number of levels."""
    old, new = list(old), list(new)
    if len(old) != len(new) or any(n < o for o, n in zip(old, new)):
        return None
    return tuple(f"{name}.{lv}.{i}." for lv, (o, n) in enumerate(zip(old, new)) for i in range(o, n))


def _added_modules(name: str, old, new) -> tuple[str, ...] | None:
    """``name.I.`` for the modules a larger count ``new`` adds to ``old``."""
    if new < old:
        return None
    return tuple(f"{name}.{i}." for i in range(old, new))


GROWABLE = {
    "global_blocks": lambda o, n: _added_modules("global_blocks", o or 0, n or 0),
    "mid_blocks": lambda o, n: _added_modules("middle", o, n),
    "enc_blocks": lambda o, n: _added_blocks("encoders", o, n),
    "dec_blocks": lambda o, n: _added_blocks("decoders", o, n),
}


def _grown_network(old: dict, new: dict) -> tuple[str, ...] | None:
    """The prefixes of the modules ``new`` adds to ``old`` if it only grows it (see GROWABLE)."""
    changed = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    if not changed or not changed <= GROWABLE.keys():
        return None
    prefixes: list[str] = []
    for k in sorted(changed):
        if old.get(k) is None and k != "global_blocks":
            return None  # a count the old network's card does not state
        added = GROWABLE[k](old.get(k), new.get(k))
        if added is None:
            return None
        prefixes += added
    return tuple(prefixes)


# ------------------------------------------------------------------ validation
def validation_set(folders: list[str], crop: int, limit: int, multiple: int = 1) -> list[np.ndarray]:
    """Center crops (float32 HxWx3) of the first ``limit`` images, sizes rounded to ``multiple``;
    ``crop`` 0 keeps whole photos."""
    out = []
    for f in list_images(folders)[:limit]:
        img = load_rgb_uint8(f).astype(np.float32) / 255.0
        h, w = img.shape[:2]
        ch, cw = (h, w) if crop <= 0 else (min(h, crop), min(w, crop))
        ch, cw = ch - ch % multiple, cw - cw % multiple
        y, x = (h - ch) // 2, (w - cw) // 2
        out.append(np.ascontiguousarray(img[y : y + ch, x : x + cw]))
    return out


def validation_pairs(folder: str, limit: int, multiple: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """The first ``limit`` (degraded, clean) pairs of ``folder``, as float32 HxWx3, cropped to a
    size that is a multiple of ``multiple``."""
    out = []
    for deg_file, clean_file in pair_files(folder)[:limit]:
        deg, clean = (load_rgb_uint8(f).astype(np.float32) / 255.0 for f in (deg_file, clean_file))
        if deg.shape != clean.shape:
            raise ValueError(
                f"{deg_file.name}: {deg.shape[1]}x{deg.shape[0]} but its clean photo is "
                f"{clean.shape[1]}x{clean.shape[0]}"
            )
        h, w = deg.shape[:2]
        h, w = h - h % multiple, w - w % multiple
        out.append((np.ascontiguousarray(deg[:h, :w]), np.ascontiguousarray(clean[:h, :w])))
    return out


def append_csv(path: Path, row: dict) -> None:
    """Append ``row``; a column the file lacks (a resumed run that logs more) widens the file,
    older rows keep their values and leave the new column empty."""
    fields = list(row)
    if path.exists():
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            old_fields = list(reader.fieldnames or [])
            missing = [k for k in fields if k not in old_fields]
            rows = list(reader) if missing else None
        fields = old_fields + missing
        if rows is not None:
            _write_csv(path, fields, rows)
    new = not path.exists()
    with open(path, "a", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        if new:
            w.writeheader()
        w.writerow(row)


def _write_csv(path: Path, fields: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


# ------------------------------------------------------------------ the trainer
def resumed_config(config_path: Path, overrides: dict | None) -> TrainConfig:
    """A resumed run's saved config with ``overrides`` applied.

    What the network is and how it learns stays; the length of the run, the batch and patch (a
    GPU takes more than a CPU), the data and the cadence may change.
    """
    saved = TrainConfig.from_dict(json.loads(config_path.read_text()))
    for name, value in (overrides or {}).items():
        if name not in RESUME_OVERRIDABLE:
            raise ValueError(f"{name} cannot change when a run is resumed")
        setattr(saved, name, value)
    return saved


@dataclass
class TrainState:
    step: int = 0
    seconds: float = 0.0  # compute time accumulated over all runs
    patches: int = 0
    sessions: list = field(default_factory=list)  # one entry per start: device, seconds, iterations


class Trainer:
    """Run (or resume) training for one task in ``run_dir``; see the module docstring."""

    def __init__(
        self,
        cfg: TrainConfig,
        run_dir: str | os.PathLike,
        device: str = "auto",
        resume: bool = False,
        compile: bool = False,
        log: Callable[[dict], None] | None = None,
        overrides: dict | None = None,
        init_from: str | os.PathLike | None = None,
    ):
        self.run_dir = Path(run_dir)
        self.dist, self.device = init_distributed(device)
        ckpt_path = self.run_dir / CHECKPOINT
        config_path = self.run_dir / "config.json"
        continuing = resume and config_path.is_file()  # else a new run, here or from a pack
        self.cfg = cfg = self._config_for_start(cfg, resume, continuing, overrides, init_from)
        self.log = log or (lambda d: None)
        self.task = get_task(cfg.task)
        self.sde = MeanRevertingSDE(SDEConfig.from_dict(cfg.sde))
        dev = self.device.device
        torch.manual_seed(cfg.seed)
        self.net = build_model(cfg.network).to(dev)
        if init_from is not None:
            cfg.init = init_weights(self.net, init_from, cfg.network, cfg.task)
        if not continuing and cfg.lr_batch is None:
            cfg.lr_batch = cfg.batch * self.dist.world
        self.ema = EMA(self.net, cfg.ema_decay)
        if self.dist.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            config_path.write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
        self.channels_last = dev.type in ("cuda", "cpu")
        if self.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        fused = {"fused": True} if dev.type == "cuda" else {}
        self.opt = torch.optim.AdamW(
            self.net.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=cfg.weight_decay, **fused
        )
        rank_seed = cfg.seed + 1000 * self.dist.rank
        self.data = PatchSampler(cfg.data, cfg.patch, rank_seed, cfg.rescale)
        self.gen = torch.Generator().manual_seed(rank_seed + 1)
        self.state = TrainState()
        self.anneal_seconds: float | None = None  # set by run(anneal=True)
        self._elapsed = 0.0  # seconds into this start, agreed between replicas
        self._start_step = 0
        self._fresh_moments = False
        self.lr_now = lr_at(0, cfg)
        if resume and ckpt_path.exists():
            self._load(ckpt_path)
            if self.dist.main:  # rows logged after the last checkpoint are about to be redone
                for name in LOG_FILES:
                    trim_csv(self.run_dir / name, self.state.step)
        self._wrap_network(compile)
        self._load_validation_data()
        self._stop = False

    def _config_for_start(
        self,
        cfg: TrainConfig,
        resume: bool,
        continuing: bool,
        overrides: dict | None,
        init_from: str | os.PathLike | None,
    ) -> TrainConfig:
        """The config this start trains with: the run's own when it continues one (``overrides``
        applied), else ``cfg``; refuses to start over a run that is not resumed."""
        if continuing:
            if init_from is not None:
                raise ValueError("--init starts a new run; a resumed run keeps its own weights")
            cfg = resumed_config(self.run_dir / "config.json", overrides)
        elif (self.run_dir / CHECKPOINT).exists() and not resume:
            raise FileExistsError(f"{self.run_dir} already holds a run; pass --resume to continue it")
        return cfg.resolved()

    def _wrap_network(self, compile: bool) -> None:
        """What each step calls: the network, under DDP across processes, compiled if asked, in
        the device's mixed precision."""
        dev = self.device.device
        self.model = self.net
        if self.dist.enabled:
            ids = [self.device.device.index] if dev.type == "cuda" else None
            self.model = DDP(self.net, device_ids=ids)
        self.forward = torch.compile(self.model) if compile else self.model
        self.compile_error: str | None = None  # why a compiled network fell back to eager mode
        if dev.type == "cuda":
            torch.backends.cudnn.benchmark = True  # training shapes are fixed: tune convolutions once
        if dev.type == "cuda" and self.device.autocast_dtype:
            self.autocast = torch.autocast("cuda", dtype=self.device.autocast_dtype)
        elif dev.type == "cpu" and cpu_supports_bf16():
            self.autocast = torch.autocast("cpu", dtype=torch.bfloat16)
        else:
            self.autocast = contextlib.nullcontext()

    def _load_validation_data(self) -> None:
        """The validation photos, real pairs and blur kernels (read by the main process only)."""
        cfg = self.cfg
        self.val_images = (
            validation_set(cfg.val_data, cfg.val_crop, cfg.val_limit, self.task.scale * 16)
            if cfg.val_data and self.dist.main
            else []
        )
        self.val_pairs = (
            validation_pairs(cfg.val_pairs, cfg.val_limit, self.task.scale * 16)
            if cfg.val_pairs and self.dist.main
            else []
        )
        self.val_kernels = []
        if cfg.val_kernels:
            self.val_kernels = list(load_kernels(cfg.val_kernels).values())
        crop = "whole photos" if cfg.val_crop <= 0 else f"{cfg.val_crop} px crops"
        source = f"kernels {Path(cfg.val_kernels).name}" if cfg.val_kernels else "training degradations"
        self.val_protocol = f"{len(self.val_images)} {crop}, {source}"

    # ---------------------------------------------------------------- checkpoints
    def _rng_state(self) -> dict:
        return {"patches": self.data.state(), "torch": self.gen.get_state(), "global": torch.get_rng_state()}

    def _set_rng_state(self, s: dict) -> None:
        self.data.set_state(s["patches"])
        self.gen.set_state(s["torch"])
        torch.set_rng_state(s["global"])

    def _gather(self, obj):
        if not self.dist.enabled:
            return [obj]
        out = [None] * self.dist.world
        dist.all_gather_object(out, obj)
        return out

    def save(self) -> None:
        rng_all = self._gather(self._rng_state())
        checks = self._gather(replica_checksum(self.net))
        if not self.dist.main:
            return
        ckpt = {
            "format": "irsde-studio-checkpoint/1",
            "model": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            "ema": self.ema.state_dict(),
            "optimizer": self.opt.state_dict(),
            "step": self.state.step,
            "seconds": self.state.seconds,
            "patches": self.state.patches,
            "sessions": self.state.sessions,
            "rng": rng_all,
            "replica_checksums": checks,
            "config": self.cfg.to_dict(),
        }
        tmp = self.run_dir / (CHECKPOINT + ".tmp")
        torch.save(ckpt, tmp)
        os.replace(tmp, self.run_dir / CHECKPOINT)

    def _load(self, path: Path) -> None:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        self.net.load_state_dict({k: v.float() for k, v in ckpt["model"].items()})
        self.ema.load_state_dict({k: v.float() for k, v in ckpt["ema"].items()})
        if ckpt.get("optimizer"):
            self.opt.load_state_dict(ckpt["optimizer"])
        else:  # a packed run or shipped weights: fresh optimizer moments, so warm up again
            self._fresh_moments = True
        self.state = TrainState(ckpt["step"], ckpt["seconds"], ckpt["patches"], list(ckpt["sessions"]))
        rng = ckpt.get("rng") or []
        if len(rng) == self.dist.world and all(isinstance(r, dict) for r in rng):
            self._set_rng_state(rng[self.dist.rank])
        else:  # another number of processes, or unreadable states: fresh, distinct streams
            self.data.rng = np.random.default_rng(self.cfg.seed + self.state.step + 7919 * self.dist.rank)
            self.gen.manual_seed(self.cfg.seed + self.state.step + 7919 * self.dist.rank + 1)

    # ---------------------------------------------------------------- one step
    def learning_rate(self) -> float:
        """The schedule's rate at this step; in an annealed start (``run(anneal=True)``) it is
        further decayed to ``min_lr`` along a cosine over the start's time budget."""
        cfg = self.cfg
        lr = lr_at(self.state.step, cfg)
        if self.anneal_seconds:
            frac = min(1.0, self._elapsed / self.anneal_seconds)
            lr = cfg.min_lr + (lr - cfg.min_lr) * 0.5 * (1 + math.cos(math.pi * frac))
        if self.anneal_seconds or self._fresh_moments:
            # A start from a packed run has fresh optimizer moments: warm up again.
            lr *= min(1.0, (self.state.step - self._start_step + 1) / max(1, cfg.warmup))
        return lr * self.lr_scale

    @property
    def lr_scale(self) -> float:
        """How this start's global batch scales the schedule's rates (see ``TrainConfig.lr_batch``)."""
        if not self.cfg.lr_batch:
            return 1.0
        return math.sqrt(self.cfg.batch * self.dist.world / self.cfg.lr_batch)

    def train_step(self) -> torch.Tensor:
        """One optimizer step; returns the loss as a 0-d tensor on the device (reading it would
        make the CPU wait for the GPU every step)."""
        cfg, dev = self.cfg, self.device.device
        x0 = self.data.batch(cfg.batch)
        if dev.type == "cuda":  # from page-locked memory the copy does not wait for the GPU
            x0 = x0.pin_memory()
        x0 = x0.to(dev, non_blocking=True).float().div_(255.0)
        x0, mu = self.task.training_pair(x0, self.gen, cfg.degradation)
        t = torch.randint(1, self.sde.T + 1, (cfg.batch,), generator=self.gen)
        if cfg.t_focus > 0:
            first_late = math.ceil(0.75 * self.sde.T)
            late = torch.randint(first_late, self.sde.T + 1, (cfg.batch,), generator=self.gen)
            t = torch.where(torch.rand(cfg.batch, generator=self.gen) < cfg.t_focus, late, t)
        z = randn(x0.shape, self.gen, dev)
        t_dev = t.to(dev)
        x_t = self.sde.forward_sample(x0, mu, t_dev, z)
        if self.channels_last:
            x_t = x_t.contiguous(memory_format=torch.channels_last)
            mu = mu.contiguous(memory_format=torch.channels_last)
        with self.autocast:
            try:
                out = self.forward(x_t, mu, t_dev)
            except Exception as exc:  # any compiler failure: train on, uncompiled
                if self.forward is self.model:
                    raise
                # Compiling happens at the first step; a borrowed GPU's minutes must not be lost
                # to a compiler that cannot handle this machine.
                self.compile_error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}"
                self.forward = self.model
                if self.state.sessions:
                    self.state.sessions[-1].pop("compiled", None)
                    self.state.sessions[-1]["compile_error"] = self.compile_error
                note = f"torch.compile failed, training uncompiled: {self.compile_error}"
                self.log({"kind": "note", "text": note})
                out = self.forward(x_t, mu, t_dev)
        out = out.float()
        if getattr(self.net, "predict", "x0") == "noise":
            x0_hat = self.sde.x0_from_noise(x_t, mu, out, t_dev)
        else:
            x0_hat = mu + out
        loss = training_loss(cfg.loss, self.sde, x_t, mu, x0, x0_hat, t_dev)
        self.lr_now = self.learning_rate()
        for group in self.opt.param_groups:
            group["lr"] = self.lr_now
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), cfg.grad_clip)
        self.opt.step()
        self.ema.update(self.net, self.state.step)
        self.state.step += 1
        self.state.patches += cfg.batch * self.dist.world
        return loss.detach()

    # ---------------------------------------------------------------- validation
    def validate(self) -> dict:
        if not self.val_images and not self.val_pairs:
            return {}
        net = self.ema.copy_to(build_model(self.cfg.network)).eval()
        restorer = Restorer(net, self.sde, self.device)
        steps = self.cfg.val_steps or self.task.default_steps
        alone = {"pre_stage": False}  # the network is scored alone, without its task's first stage
        p_in, p_out, s_out = [], [], []
        for i, clean in enumerate(self.val_images):
            kernel = self.val_kernels[i % len(self.val_kernels)] if self.val_kernels else None
            deg = self.task.degrade_for_eval(clean, seed=10_000 + i, kernel=kernel)
            out = restore_array(self.task, restorer, deg.model_input, deg.mask, steps, seed=i, **alone)
            p_in.append(psnr(np.clip(deg.shown, 0, 1), clean))
            p_out.append(psnr(out, clean))
            s_out.append(ssim(out, clean))
        row = {
            "step": self.state.step,
            "psnr_input": float(np.mean(p_in)),
            "psnr": float(np.mean(p_out)),
            "ssim": float(np.mean(s_out)),
            "steps": steps,
            "protocol": self.val_protocol,
        }
        if self.cfg.val_preset:
            pin, pout = [], []
            for i, clean in enumerate(self.val_images):
                deg = self.task.degrade_for_eval(clean, seed=10_000 + i, preset=self.cfg.val_preset)
                out = restore_array(self.task, restorer, deg.model_input, deg.mask, steps, seed=i, **alone)
                pin.append(psnr(np.clip(deg.shown, 0, 1), clean))
                pout.append(psnr(out, clean))
            name = self.cfg.val_preset
            row.update({f"{name}_psnr_input": float(np.mean(pin)), f"{name}_psnr": float(np.mean(pout))})
        if self.val_pairs:
            pin, pout = [], []
            for i, (deg, clean) in enumerate(self.val_pairs):
                out = restore_array(self.task, restorer, deg, None, steps, seed=i, **alone)
                pin.append(psnr(deg, clean))
                pout.append(psnr(out, clean))
            row.update(real_pairs_psnr_input=float(np.mean(pin)), real_pairs_psnr=float(np.mean(pout)))
        return row

    def _append_csv(self, name: str, row: dict) -> None:
        append_csv(self.run_dir / name, row)

    # ---------------------------------------------------------------- the loop
    def request_stop(self, *_args) -> None:
        self._stop = True

    def run(
        self, max_seconds: float | None = None, max_steps: int | None = None, anneal: bool = False
    ) -> TrainState:
        """Train until ``iters``, or for ``max_seconds``/``max_steps`` of this start, or until asked to
        stop (SIGINT/SIGTERM); a checkpoint is written often and always at the end.

        ``anneal`` (with ``max_seconds``) warms the learning rate up again over ``warmup`` steps
        and decays it to its floor by the end of this start, so a short run on borrowed hardware
        ends with settled weights; a later start goes back to the step schedule (a warm restart)."""
        cfg = self.cfg
        if anneal and not max_seconds:
            raise ValueError("annealing needs a time budget (max_seconds)")
        self.net.train()
        began = time.perf_counter()
        self.anneal_seconds = max_seconds if anneal else None
        self._start_step = self.state.step
        last_ckpt = began
        window_t, window_n, losses = began, 0, []
        start_step, start_seconds = self.state.step, self.state.seconds
        session = self._new_session(anneal)
        self.state.sessions.append(session)
        old_handlers = self._listen_for_stop()
        try:
            while self.state.step < cfg.iters:
                elapsed = time.perf_counter() - began
                stop = self._stop or self._budget_spent(elapsed, max_seconds, max_steps, start_step)
                due = time.perf_counter() - last_ckpt > cfg.ckpt_minutes * 60
                stop, due = self._agree(stop, due, elapsed)
                if stop:
                    break
                if due:
                    self.save()
                    last_ckpt = time.perf_counter()
                losses.append(self.train_step())
                window_n += 1
                now = time.perf_counter()
                self.state.seconds = start_seconds + (now - began)
                session["seconds"] = now - began
                session["iterations"] = self.state.step - start_step
                if self.state.step % cfg.log_every == 0 or self.state.step == cfg.iters:
                    self._log_training(losses, window_n / max(now - window_t, 1e-9))
                    window_t, window_n, losses = now, 0, []
                if cfg.val_every and self.state.step % cfg.val_every == 0 and self.dist.main:
                    self._validate_and_log()
                if self.state.step % cfg.ckpt_every == 0:
                    self.save()
                    last_ckpt = time.perf_counter()
        finally:
            self.save()
            for sig, h in old_handlers.items():
                signal.signal(sig, h)
        return self.state

    def _new_session(self, anneal: bool) -> dict:
        """This start's entry in the run's list of sessions: where and how it trains."""
        cfg = self.cfg
        return {
            "device": self.device.name,
            "processes": self.dist.world,
            "start_step": self.state.step,
            "batch": cfg.batch,  # per process; a resumed run may change it, and the patch size
            "patch": cfg.patch,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            **({"annealed": True} if anneal else {}),
            **({"compiled": True} if self.forward is not self.model else {}),
            # What may differ between starts of one run and shapes what it learned:
            **({"lr_scale": round(self.lr_scale, 4)} if self.lr_scale != 1.0 else {}),
            **({"t_focus": cfg.t_focus} if cfg.t_focus else {}),
            "degradation": cfg.degradation,
            **({"rescale": cfg.rescale} if cfg.rescale < 1.0 else {}),
            **({"loss": cfg.loss} if cfg.loss != "x0" else {}),
            "seconds": 0.0,
            "iterations": 0,
        }

    def _listen_for_stop(self) -> dict:
        """Stop on SIGTERM/SIGINT; returns the handlers this replaced.

        Every replica listens: the stop is agreed on at the next step, so a signal to any of them
        (torchrun forwards one to all) ends them together, with a checkpoint."""
        old_handlers = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError):
                old_handlers[sig] = signal.signal(sig, self.request_stop)
        return old_handlers

    def _budget_spent(
        self, elapsed: float, max_seconds: float | None, max_steps: int | None, start_step: int
    ) -> bool:
        """This start has used its time or step budget."""
        if max_seconds is not None and elapsed > max_seconds:
            return True
        return max_steps is not None and self.state.step - start_step >= max_steps

    def _agree(self, stop: bool, due: bool, elapsed: float) -> tuple[bool, bool]:
        """Whether to stop, and to save, now; sets ``_elapsed``, as all replicas agree.

        Replicas decide together: a save is a collective, and each one's clock differs (so does
        the annealed rate, which must be the same on every replica)."""
        if self.dist.enabled:
            flags = self._gather((bool(stop), bool(due), elapsed))
            stop, due = any(f[0] for f in flags), any(f[1] for f in flags)
            elapsed = max(f[2] for f in flags)
        self._elapsed = elapsed
        return stop, due

    def _log_training(self, losses: list[torch.Tensor], rate: float) -> None:
        """One row of log.csv: the mean loss since the last row, the rate and the speed."""
        row = {
            "step": self.state.step,
            "loss": float(torch.stack(losses).double().mean()),
            "lr": self.lr_now,
            "it_per_s": rate,
            "patches_per_s": rate * self.cfg.batch * self.dist.world,
            "minutes": self.state.seconds / 60,
        }
        if self.dist.main:
            self._append_csv("log.csv", row)
        self.log({"kind": "train", "iters": self.cfg.iters, **row})

    def _validate_and_log(self) -> None:
        res = self.validate()
        if res:
            self._append_csv("validation.csv", res)
            self.log({"kind": "val", **res})
        self.net.train()


# ------------------------------------------------------------------ portable checkpoints
LOG_FILES = ("log.csv", "validation.csv")


def pack_run(run_dir: str | os.PathLike, out: str | os.PathLike, ema_only: bool = False) -> Path:
    """A small copy of a run to carry between machines: weights and EMA in float16, the step,
    the compute log and the CSV logs, no optimizer or RNG state (about 4 bytes per parameter,
    2 with ``ema_only``, where training continues from the EMA weights).

    Training continues from it with fresh optimizer moments, so the continuation is not
    bit-exact, but no compute is lost.
    """
    run = Path(run_dir)
    ckpt = torch.load(run / CHECKPOINT, map_location="cpu", weights_only=True)
    small = {k: ckpt[k] for k in ("format", "step", "seconds", "patches", "sessions", "config")}
    for k in ("ema",) if ema_only else ("model", "ema"):
        small[k] = {n: v.half() if v.is_floating_point() else v for n, v in ckpt[k].items()}
    small["logs"] = {n: (run / n).read_text() for n in LOG_FILES if (run / n).is_file()}
    small["packed"] = True
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    torch.save(small, tmp)
    os.replace(tmp, out)
    return out


def unpack_run(packed: str | os.PathLike, run_dir: str | os.PathLike) -> Path:
    """Turn a packed run back into a run folder that ``--resume`` continues.

    An existing checkpoint is replaced only if the packed one has trained further.
    """
    small = torch.load(packed, map_location="cpu", weights_only=True)
    if "format" not in small:  # a shipped weights file: its model card holds the rest of the run
        small = _run_from_weights(Path(packed), small)
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    target = run / CHECKPOINT
    if target.exists():
        old = torch.load(target, map_location="cpu", weights_only=True)
        if old["step"] >= small["step"]:
            raise ValueError(f"{target} is already at step {old['step']} >= {small['step']}")
    logs = small.pop("logs", {})
    ckpt = dict(small, optimizer=None, rng=None, replica_checksums=[])
    ckpt.setdefault("model", small["ema"])
    for name, text in logs.items():
        _merge_csv(run / name, text)
    tmp = run / (CHECKPOINT + ".tmp")
    torch.save(ckpt, tmp)
    os.replace(tmp, target)
    (run / "config.json").write_text(json.dumps(small["config"], indent=2) + "\n")
    return target


def session_hardware(session: dict) -> str:
    """Where a training session ran, as model cards name it: "NVIDIA H200 (CUDA)", "... x2"."""
    processes = session.get("processes", 1)
    return session["device"] + (f" x{processes}" if processes > 1 else "")


def training_stages(sessions: list[dict]) -> list[dict]:
    """Runs of sessions with the same batch (over all processes) and patch size, in order:
    ``[{"from_step", "iterations", "batch", "patch"}]``; sessions that did not record them
    (older runs) count as unknown (``None``)."""
    stages: list[dict] = []
    for s in sessions:
        batch = s.get("batch")
        batch = batch * s.get("processes", 1) if batch is not None else None
        key = (batch, s.get("patch"))
        if stages and (stages[-1]["batch"], stages[-1]["patch"]) == key:
            stages[-1]["iterations"] += int(s.get("iterations", 0))
            continue
        start, its = int(s["start_step"]), int(s.get("iterations", 0))
        stages.append({"from_step": start, "iterations": its, "batch": key[0], "patch": key[1]})
    return stages


def _run_from_weights(path: Path, state: dict) -> dict:
    card = read_card(path)
    tr = card.training
    if card.network.get("name") == "ensemble":
        raise ValueError(
            f"{path.name} joins two networks (an ensemble): continue one of its members' runs "
            f"instead (training/{card.task}.pt), then join them again with tools/ensemble_weights.py"
        )
    if "config" not in tr or "step" not in tr:
        raise ValueError(f"the model card of {path.name} does not describe its training run")
    return {
        "format": "irsde-studio-checkpoint/1",
        "step": int(tr["step"]),
        "seconds": float(tr["seconds"]),
        "patches": int(tr["patches_seen"]),
        "sessions": list(tr.get("sessions", [])),
        "config": tr["config"],
        "ema": state,
    }


def _merge_csv(path: Path, text: str) -> None:
    """Add the rows of ``text`` whose step is beyond the last step already in ``path``."""
    rows = list(csv.DictReader(text.splitlines()))
    if not rows:
        return
    last = -1
    if path.is_file():
        with open(path, encoding="utf-8") as f:
            old = list(csv.DictReader(f))
        last = int(float(old[-1]["step"])) if old else -1
    for row in rows:
        if int(float(row["step"])) > last:
            append_csv(path, row)


def trim_csv(path: Path, step: int) -> None:
    """Drop the rows of a run's CSV log that lie beyond ``step`` (the checkpoint it resumes from)."""
    if not path.is_file():
        return
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    keep = [r for r in rows if int(float(r["step"])) <= step]
    if len(keep) < len(rows):
        _write_csv(path, fields, keep)


# ------------------------------------------------------------------ export
def export_run(
    run_dir: str | os.PathLike,
    out: str | os.PathLike,
    evals: list[dict] | None = None,
    default_steps: int | None = None,
):
    """Write the run's EMA weights and their model card (see :mod:`irsde_gui.core.weights`)."""
    run = Path(run_dir)
    ckpt_file = run / CHECKPOINT
    if not ckpt_file.is_file():
        raise FileNotFoundError(f"{run} holds no {CHECKPOINT}")
    ckpt = torch.load(ckpt_file, map_location="cpu", weights_only=True)
    cfg = TrainConfig.from_dict(ckpt["config"])
    net = build_model(cfg.network)
    ema = EMA(net, cfg.ema_decay)
    ema.load_state_dict(ckpt["ema"])
    ema.copy_to(net)
    seconds = float(ckpt["seconds"])
    sessions = list(ckpt["sessions"])
    hardware = sorted({session_hardware(s) for s in sessions})
    validation: dict = {}
    out = Path(out)
    if out.exists() and card_path(out).exists() and not evals:
        with contextlib.suppress(Exception):
            validation = read_card(out).validation
    validation = with_evals(validation, evals)
    val_csv = run / "validation.csv"
    last_val = None
    if val_csv.exists():
        with open(val_csv, encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        last_val = rows[-1] if rows else None
    iterations, minutes, stages = int(ckpt["step"]), seconds / 60, training_stages(sessions)
    earlier = (cfg.init or {}).get("training")  # a grown model's training before this run
    if earlier:
        base = int(earlier["iterations"])
        iterations, minutes = iterations + base, minutes + float(earlier["minutes"])
        stages = [*earlier["stages"], *({**st, "from_step": st["from_step"] + base} for st in stages)]
        hardware = sorted(set(hardware) | set(earlier["hardware"]))
    card = ModelCard(
        task=cfg.task,
        network=cfg.network,
        sde=SDEConfig.from_dict(cfg.sde),
        default_steps=default_steps,
        training={
            "data": [Path(d).name for d in cfg.data],
            "iterations": iterations,
            "batch": cfg.batch,
            "patch": cfg.patch,
            "loss": cfg.loss,
            "optimizer": f"AdamW lr {cfg.lr:g} -> {cfg.min_lr:g} (warm-up {cfg.warmup}, cosine), "
            f"wd {cfg.weight_decay:g}, clip {cfg.grad_clip:g}, EMA {cfg.ema_decay:g}",
            "patches_seen": int(ckpt["patches"]),
            "minutes": round(minutes, 1),
            "patches_per_second": round(ckpt["patches"] / max(seconds, 1e-9), 1),
            "hardware": hardware,
            "stages": stages,
            "sessions": sessions,
            "last_validation": last_val,
            "host": platform.node(),
            "step": int(ckpt["step"]),
            "seconds": seconds,
            "config": cfg.to_dict(),
        },
        validation=validation,
    )
    return save_weights(net, card, out)


def with_evals(validation: dict, evals: list[dict] | None) -> dict:
    """A card's validation with ``irsde eval --json`` results added under their names (their
    means: a card does not carry every photo's row), and a summary line naming every set scored."""
    validation = dict(validation)
    summaries = []
    for ev in evals or []:
        ev = {k: v for k, v in ev.items() if k != "per_image"}
        validation[ev.get("name", f"{ev['task']}-{len(validation)}")] = ev
        if ev.get("summary"):
            summaries.append(ev["summary"])
    if summaries:  # one line for every set the model was scored on
        validation["summary"] = "; ".join(summaries)
    return validation


def rescore_weights(path: str | os.PathLike, evals: list[dict], default_steps: int | None = None) -> Path:
    """Put new evaluations (and a default step count) into the card of a weights file; the weights
    themselves, and so their sha256, stay as they are."""
    path = Path(path)
    card = read_card(path)
    verify_sha256(path, card)
    card.validation = with_evals({}, evals)
    if default_steps is not None:
        card.default_steps = default_steps
    write_card(path, card)
    return path


def param_summary(cfg: TrainConfig) -> str:
    return f"{count_parameters(build_model(cfg.resolved().network)) / 1e6:.2f} M parameters"


__all__ = [
    "LOSSES",
    "SR_SCALE",
    "TrainConfig",
    "Trainer",
    "export_run",
    "rescore_weights",
    "training_loss",
    "with_evals",
]
