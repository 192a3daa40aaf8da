"""What every task is: the :class:`Task` type, the prepared input it hands the sampler, the
validation case it is scored on, and the mask helpers the inpainting task and the app share.

``mu`` is the degraded photo the SDE reverts from. A task turns the user's photo into ``mu``
(:meth:`Task.prepare`) and the sampler's last state into the result (:meth:`Task.finish`); most
tasks use the photo as it is and only clip the result. For training and evaluation a task also
says what its network learns from (:meth:`Task.training_mixes`), how a clean photo is degraded
to score it (:meth:`Task.degrade_for_eval`), and which classic method it is measured against
(:meth:`Task.classic`).

Importing this package is cheap (no PyTorch, no OpenCV): the app reads the task list before its
window shows. The methods that need them import them when called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..sdeconfig import SDEConfig

if TYPE_CHECKING:
    import torch

    # (clean, degraded) for a training batch: a mix may change the clean photo too
    Mix = Callable[[torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def default_network() -> dict:
    """The network every task ships with unless its model card says otherwise."""
    return {
        "name": "cnafnet",
        "width": 16,
        "enc_blocks": [1, 1, 2, 2],
        "mid_blocks": 2,
        "dec_blocks": [1, 1, 1, 1],
        "predict": "x0",
    }


@dataclass(frozen=True)
class Prepared:
    """``mu`` (float32 HxWx3 in [0, 1]) and what :meth:`Task.finish` needs to complete the result."""

    mu: np.ndarray
    known: np.ndarray | None = None  # inpaint: the original photo
    mask: np.ndarray | None = None  # inpaint: float HxW, 1 where the model fills


class MaskError(ValueError):
    """Inpainting was asked for without a usable mask."""


@dataclass
class Degraded:
    """One validation case: what the user would give the app, and what it looks like at output size."""

    model_input: np.ndarray  # float HxWx3 (low-res for sr)
    shown: np.ndarray  # the degraded photo at the output size (bicubic for sr)
    mask: np.ndarray | None = None
    kernel: np.ndarray | None = None
    sigma: float = 0.0
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class EvalCase:
    """How :meth:`Task.degrade_for_eval` degrades one photo: all randomness from ``seed``."""

    seed: int
    sigma: float = 0.0  # noise sigma on the 0-255 scale, for the tasks that add noise
    kernel: np.ndarray | None = None  # a given blur kernel (tasks that take a blur)
    preset: str | None = None  # one of the task's eval_presets, or None for its default
    quality: int | None = None  # a JPEG quality, for the presets that save one


def same_clean(degrade: Callable) -> Mix:
    """A training mix from a degradation that leaves the clean photo as it is."""

    def pair(x0, g):
        return x0, degrade(x0, g)

    pair.__doc__ = degrade.__doc__
    return pair


def to_batch(img: np.ndarray) -> torch.Tensor:
    """An HxWx3 image as a 1x3xHxW float tensor."""
    import torch  # deferred: PyTorch loads after the app's window shows

    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None].float()


def to_image(x: torch.Tensor) -> np.ndarray:
    """The first image of a batch as HxWx3."""
    return x[0].permute(1, 2, 0).contiguous().numpy()


@dataclass(frozen=True)
class Task:
    """A restoration task. Each module of this package defines one (a subclass where the task
    prepares, finishes or is trained and scored in its own way) and the package registers it."""

    name: str
    label: str
    description: str
    icon: str  # a qtawesome name
    sde: SDEConfig
    default_steps: int = 10
    scale: int = 1
    uses_mask: bool = False
    network: dict = field(default_factory=default_network)
    # A second route: deconvolution, with the model of task ``prior_task`` as the image prior. It
    # runs when the task has no weights of its own (blind: the blur is estimated from the photo)
    # and for every known blur kernel. None: the task runs its own network only.
    prior_task: str | None = None
    # A first stage: the model of task ``pre_stage`` runs on the photo before this task's network,
    # blended in by :meth:`pre_stage_strength` (0: not run). Derain has dehaze lift the veil
    # heavy rain lays over the streaks (``O = t (B + S) + (1 - t) A``) before it erases them.
    pre_stage: str | None = None
    pre_stage_label: str = ""  # what the stage does, for finished lines and progress
    # Holes too wide for the network to see across are filled at half size first, and that fill
    # guides the full-size one (:mod:`..coarse`): inpainting.
    coarse_to_fine: bool = False
    # The network's estimate averaged with its estimate of the photo turned half a turn
    # (:mod:`..flips`): a cleaner result for twice the network's work at each step.
    flip_average: bool = False
    # The network learned JPEG blocks on their grid from the corner: a photo cropped after it was
    # saved is run with its blocks moved back onto that grid (:mod:`..jpeggrid`).
    jpeg_grid: bool = False
    # What :func:`..suggest.suggest` measures on a photo ("noise", "jpeg", "blur", "haze", "size")
    # that this task fixes: a photo's first flagged finding suggests the task that claims it.
    fixes: tuple[str, ...] = ()
    # Evaluation: named degradations beside the default one (``irsde eval --degradation``), the
    # noise (sigma, 0-255) its default degradation adds where it adds one, the classic method
    # it is scored against, and the scores beside PSNR and SSIM (see :meth:`score`).
    eval_presets: tuple[str, ...] = ()
    eval_sigma: float | None = None
    classic_name: str = ""
    extra_metrics: tuple[str, ...] = ()

    @property
    def takes_blur(self) -> bool:
        """A known blur kernel can be given: the task has a deconvolution route."""
        return self.prior_task is not None

    def deconvolves_with(self, model_task: str | None) -> bool:
        """A model trained for ``model_task`` runs this task by deconvolution, as its prior."""
        return self.prior_task is not None and model_task == self.prior_task

    def model_task(self, known_blur: bool = False) -> str:
        """The task whose model a run loads: the prior's for a known blur, else the task's own."""
        return self.prior_task if known_blur and self.prior_task is not None else self.name

    @property
    def weights_file(self) -> str:
        return f"{self.name}.pt"

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        return height * self.scale, width * self.scale

    def prepare(self, rgb: np.ndarray, mask: np.ndarray | None = None) -> Prepared:
        """Turn the user's photo (float32 HxWx3 in [0, 1]) into ``mu``: the photo itself, or
        upsampled bicubically by :attr:`scale` as in training.

        ``mask`` is for tasks with :attr:`uses_mask` (HxW, any dtype; above half its range: fill)."""
        rgb = np.ascontiguousarray(rgb, dtype=np.float32)
        if self.scale == 1:
            return Prepared(rgb)
        import torch  # deferred: the task list is read at start-up, before PyTorch loads

        from ..resize import upsample  # deferred: PyTorch, as above

        lr = torch.from_numpy(rgb.transpose(2, 0, 1).copy())[None]
        up = upsample(lr, self.scale)[0].permute(1, 2, 0).numpy()
        return Prepared(np.ascontiguousarray(up))

    def finish(self, restored: np.ndarray, prepared: Prepared) -> np.ndarray:
        """The result from the sampler's last state: clipped to [0, 1]."""
        return np.clip(restored, 0.0, 1.0).astype(np.float32)

    def finish_whole(self, result: np.ndarray, prepared: Prepared) -> np.ndarray:
        """The last touch on a finished result of the photo as the user gave it (never on a
        coarse pass's or a region's): the result itself unless a task needs one."""
        return result

    # ---------------------------------------------------------------- training
    def training_mixes(self) -> dict[str, Mix]:
        """What the task's network trains on, by name; a run trains on the first unless its
        configuration names another (``TrainConfig.degradation``)."""
        raise NotImplementedError(f"{self.name} has no training degradation")

    def mix_names(self) -> list[str]:
        return list(self.training_mixes())

    def training_pair(self, x0: torch.Tensor, g: torch.Generator, mix: str | None = None):
        """(clean, degraded) for a training batch under the mix ``mix`` (default: the first)."""
        mixes = self.training_mixes()
        name = mix or next(iter(mixes))
        if name not in mixes:
            choose = ", ".join(mixes)
            raise ValueError(f"unknown degradation {name!r} for {self.name}; choose one of {choose}")
        return mixes[name](x0, g)

    # ---------------------------------------------------------------- evaluation
    def degrade_for_eval(
        self,
        clean: np.ndarray,
        seed: int,
        sigma: float | None = None,
        kernel: np.ndarray | None = None,
        given: np.ndarray | None = None,
        preset: str | None = None,
        quality: int | None = None,
    ) -> Degraded:
        """The fixed-seed validation degradation of ``clean``; ``given`` is a degraded photo that
        came with it (a real noisy photo; a low-res one for a task with a :attr:`scale`) and is
        used as it is. ``preset`` picks one of :attr:`eval_presets` (``quality``: the JPEG's)."""
        import torch  # deferred: PyTorch loads after the app's window shows

        if preset is not None and preset not in self.eval_presets:
            raise ValueError(f"no evaluation degradation {preset!r} for {self.name}")
        if given is not None and self.scale == 1:
            return Degraded(given, given, extra={"real": True})
        sigma = (self.eval_sigma or 0.0) if sigma is None else sigma
        case = EvalCase(seed, sigma, kernel, preset, quality)
        return self.eval_degradation(clean, torch.Generator().manual_seed(seed), case, given)

    def eval_degradation(
        self, clean: np.ndarray, g: torch.Generator, case: EvalCase, given: np.ndarray | None
    ) -> Degraded:
        """The task's own part of :meth:`degrade_for_eval`, randomness from ``g`` (or case.seed)."""
        raise NotImplementedError(f"{self.name} has no evaluation degradation")

    def describe_degradation(self, preset: str | None, quality: int | None, sigma: float | None) -> str:
        """The degradation scored, in words, for the eval table's title and the model card."""
        if self.eval_sigma is None:
            return ""
        return f"noise sigma {sigma if sigma is not None else self.eval_sigma:g}"

    def classic(self, deg: Degraded, clean: np.ndarray | None = None) -> np.ndarray:
        """The classic method's result for one case (``clean``: for an oracle's settings)."""
        raise NotImplementedError(f"{self.name} has no classic method")

    def classic_label(self, real: bool, preset: str | None) -> str:
        """The classic row's name; ``real``: the cases are real degraded photos."""
        return self.classic_name

    def rivals(self) -> dict[str, tuple[str, Callable[[Degraded], np.ndarray]]]:
        """More classic rows: key -> (name shown in the table, restore function of a case)."""
        return {}

    def pre_stage_strength(self, rgb: np.ndarray) -> float:
        """How much of :attr:`pre_stage`'s result replaces the photo ``rgb`` (0 to 1) before this
        task's network runs: judged on the photo itself."""
        return 0.0

    def ensemble_mix(self, strength: float) -> float | None:
        """The second member's share of an ensemble network (:class:`..nets.EnsembleNet`) for a
        photo whose first stage had ``strength``; None: the network's own default."""
        return None

    def score(self, out: np.ndarray, clean: np.ndarray) -> dict[str, float]:
        """PSNR and SSIM on RGB, and the task's :attr:`extra_metrics`."""
        from ..metrics import psnr, ssim  # deferred: OpenCV loads slowly

        out = np.clip(out, 0, 1)
        return {"psnr": psnr(out, clean), "ssim": ssim(out, clean)}


def normalise_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A float HxW mask in [0, 1] (1 = fill) from an 8/16-bit, float, bool, grey or colour mask."""
    m = np.asarray(mask)
    if m.ndim == 3:
        m = m[..., :3].max(axis=2) if m.shape[2] >= 3 else m[..., 0]
    if m.dtype == bool:
        m = m.astype(np.float32)
    elif m.dtype == np.uint8:
        m = m.astype(np.float32) / 255.0
    elif m.dtype == np.uint16:
        m = m.astype(np.float32) / 65535.0
    else:
        m = m.astype(np.float32)
    if m.shape != tuple(shape):
        raise MaskError(f"the mask is {m.shape[1]}x{m.shape[0]} but the photo is {shape[1]}x{shape[0]}")
    return (m > 0.5).astype(np.float32)


MAX_GROW = 64  # px; beyond this a grown mask is a different mask, not a margin
DEFAULT_GROW = 6  # px the app grows a painted mask by: a shadow's edge or a halo, small beside any object


def grow_mask(mask: np.ndarray, px: int) -> np.ndarray:
    """``mask`` (HxW, any dtype; non-zero = fill) widened by ``px`` pixels all round (a disc):
    people paint an object tightly, and its shadow or halo would give it away."""
    import cv2  # deferred: OpenCV loads slowly and the task list is imported at start-up

    m = np.asarray(mask)
    if px <= 0 or not m.any():
        return m.copy()
    if px > MAX_GROW:
        raise MaskError(f"a mask grows by at most {MAX_GROW} px, not {px}")
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    grown = cv2.dilate((m > (m.max() / 2)).astype(np.uint8), disc)
    full = 1.0 if m.dtype.kind == "f" else m.max()
    return (grown * full).astype(m.dtype)


def mask_from_alpha(alpha: np.ndarray) -> np.ndarray:
    """Transparent pixels (alpha below half) are the ones to fill."""
    a = alpha.astype(np.float32)
    full = 65535.0 if alpha.dtype == np.uint16 else (255.0 if alpha.dtype == np.uint8 else 1.0)
    return (a / full < 0.5).astype(np.float32)
