"""One restoration of one photo, step by step: shared by the CLI, the app and the library.

:class:`RestoreJob` prepares ``mu`` for the task, chooses tiling, runs the
sampler generator and turns its tensors back into images. Iterating
:meth:`RestoreJob.steps_iter` gives one :class:`~irsde_gui.core.sampler.StepRecord`
per network call; closing that iterator cancels the run.

:class:`BlindDeblurJob` deblurs without a deblur network, with the same interface:
the blur kernel is estimated from the photo, then each round of plug-and-play
deconvolution (one denoiser step) gives one record. :func:`create_job` picks the
job for a task and a restorer: the task says which model deconvolves for it
(:attr:`~.tasks.Task.prior_task`). :mod:`.runner` drives either job.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from . import coarse
from .blind import (
    BLIND_ROUNDS,
    BYTES_PER_PIXEL,
    ESTIMATED_STRENGTH,
    GENTLE_STRENGTH,
    KNOWN_ROUNDS,
    KNOWN_STRENGTH,
    MAX_BLIND_ROUNDS,
    WHOLE_PIXELS,
    NoBlurFound,
    blur_extent,
    checked_kernel,
    deconvolve_rounds,
    estimate_photo_kernel,
    kernel_doubts,
)
from .device import available_memory
from .flips import FlipAveraged
from .jpeggrid import GridShifted, block_start, grid_padding
from .model import Restorer, load_helper, load_restorer
from .sampler import StepRecord, sample
from .tasks import Prepared, Task, get_task
from .tiling import JPEG_BLOCK, MIN_TILE, TiledPredictor, auto_tile_size
from .weights import WeightsError, find_weights


def to_tensor(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    """HxWx3 float array -> 1x3xHxW float32 tensor on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None].to(device)


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """1x3xHxW tensor -> HxWx3 float32 array (a copy, on the CPU)."""
    return x[0].detach().float().cpu().permute(1, 2, 0).contiguous().numpy()


def to_uint8(x: torch.Tensor, max_side: int | None = None) -> np.ndarray:
    """A display frame: HxWx3 uint8, optionally shrunk so its longer side is ``max_side`` (NaN
    shows black: a broken model's steps, whose result :meth:`_Job.checked` refuses)."""
    img = to_numpy(x.nan_to_num(0.0).clamp(0, 1))
    h, w = img.shape[:2]
    if max_side and max(h, w) > max_side:
        s = max_side / max(h, w)
        img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return (img * 255.0 + 0.5).astype(np.uint8)


@dataclass
class JobSettings:
    """How one photo is restored: what :func:`create_job` needs besides the task, model and photo."""

    steps: int | None = None  # None: the task's (or model card's) default
    sampler: str = "posterior"
    seed: int | None = 0
    tile: int | None = None  # None: automatic from free memory; 0: never tile
    tile_overlap: int = 32
    # Deconvolution only: a known blur, deconvolved instead of estimating one, and where it came
    # from (its file, or its shape such as ``motion:15:30``) for the run report.
    kernel: np.ndarray | None = None
    kernel_source: str | None = None
    # The blur an earlier deconvolution found in this same photo: spares the estimate. Where it
    # was found from ("photo" or "network", :attr:`_Job.blur_start`), for the run report.
    estimated: np.ndarray | None = None
    estimated_start: str | None = None
    # An estimate that leaves much of the photo unexplained gets a second start from the deblur
    # network's sharp guess, where that network is installed (:func:`.blind.second_start`).
    second_start: bool = True
    # Which start's blur to keep (:data:`.blind.STARTS`): "photo" never asks the network,
    # "network" always does and keeps its blur; None keeps the one that explains the photo better.
    keep_start: str | None = None
    # The task's first stage (:attr:`.tasks.Task.pre_stage`) where the photo needs it; off
    # where the network alone is scored (validation while training).
    pre_stage: bool = True
    # Holes too wide for the network filled at half size first, guiding the full-size fill
    # (:attr:`.tasks.Task.coarse_to_fine`); off where the network alone is scored.
    coarse_to_fine: bool = True
    # A large photo's hole filled from the region around it only (:func:`.coarse.hole_region`),
    # for the same tasks: the network's work outside it would be thrown away.
    hole_region: bool = True
    # The network's estimate averaged with that of the photo turned half a turn (:mod:`.flips`);
    # None: the task's choice (:attr:`.tasks.Task.flip_average`). Off where the network alone is
    # scored, and for the denoiser inside a deconvolution (its rounds keep their time).
    flip_average: bool | None = None
    # Where the photo's JPEG blocks start (:mod:`.jpeggrid`); None: found in the photo, for a task
    # whose network learned them on the grid. (0, 0) for photos that are not a file's pixels, such
    # as the estimates between a deconvolution's rounds.
    blocks_at: tuple[int, int] | None = None

    def for_sub_job(self, **changes) -> JobSettings:
        """These settings for a job run inside this one (a first stage, a coarse pass, one seed of
        an uncertainty map): all carried but the photo's own blur and the step count (the sub-job
        task's default), unless ``changes`` set them."""
        base = {
            "steps": None,
            "kernel": None,
            "kernel_source": None,
            "estimated": None,
            "estimated_start": None,
        }
        return dataclasses.replace(self, **(base | changes))


@dataclass
class JobHooks:
    """What a job reports while a step runs (each may raise to cancel the run)."""

    on_tile: Callable[[int, int], None] | None = None  # (done, total) tiles of the step
    on_shrink: Callable[[int], None] | None = None  # out of memory: going on in tiles of this size
    on_stage: Callable[[str, int, int], None] | None = None  # (what, done, total) before the first step


class NonFiniteResult(ValueError):
    """A run gave NaN or infinite pixels (a broken model): there is no result to write or show."""


class _Job:
    """What both jobs share: one photo (float32 HxWx3 in [0, 1]) prepared for one task and one
    restorer, and :meth:`run`, which drives :meth:`steps_iter` to the end. A job says how many
    steps it takes (:meth:`_steps`) and sets up the rest (:meth:`_setup`)."""

    method = "sde"  # how the photo is restored: "sde" (the task's network) or "blind"
    kernel: np.ndarray | None = None  # the blur a blind job estimated (None for network runs)
    kernel_given = False  # a blind job told its kernel rather than estimating it
    kernel_source: str | None = None  # where a given kernel came from: its file, or its shape
    estimate_seconds: float | None = None  # how long a blind job took to find its kernel
    # Where the blur a blind job kept was found from: "photo" (its own edges) or "network" (the
    # deblur network's sharp guess, a second start); None where no blur was estimated.
    blur_start: str | None = None
    # Where both starts were tried: the blur not kept, and where it was found from. The judge
    # between them is often close, so the app offers it to compare by eye.
    other_blur: np.ndarray | None = None
    other_start: str | None = None
    # Why a blind job did not trust the blur it estimated (None: it did, or it was given); its
    # result is then a gentler one (:data:`.blind.GENTLER`, said in the finished line and report).
    doubt: str | None = None
    # The task's first stage, when it ran: its task, model file and sha256, steps, strength.
    pre: dict | None = None
    # An ensemble network's second member's share in this run (None: not an ensemble).
    mix: float | None = None
    # How long the task's first stage took, before the first step (no step's time: see runner).
    pre_seconds: float | None = None
    # Inpainting a wide hole: the sizes (2: half, 4: quarter...) it was filled at before the
    # photo's own, and how long that took (before the first step, as the first stage).
    coarse_scales: tuple[int, ...] = ()
    coarse_seconds: float | None = None
    # The rows and columns a hole was filled from (None: the whole photo was run).
    region: tuple[slice, slice] | None = None
    # Whether each step averaged the estimate with the half-turned photo's (:mod:`.flips`).
    flip_average: bool = False
    # Where the photo's JPEG blocks start (row, column; (0, 0): on the grid from the corner).
    blocks_at: tuple[int, int] = (0, 0)

    def __init__(
        self,
        task: Task,
        restorer: Restorer,
        rgb: np.ndarray,
        mask: np.ndarray | None = None,
        settings: JobSettings | None = None,
        hooks: JobHooks | None = None,
    ):
        self.task = task
        self.restorer = restorer
        self.settings = settings or JobSettings()
        self.hooks = hooks or JobHooks()
        self.steps = self._steps()
        found = self.settings.blocks_at
        if found is None:
            found = block_start(rgb) if task.jpeg_grid else (0, 0)
        self.blocks_at = found
        self.prepared: Prepared = task.prepare(rgb, mask)
        self.height, self.width = self.prepared.mu.shape[:2]
        self.result: np.ndarray | None = None
        self._need: float | None = None  # the first stage's strength, once measured
        self._setup()

    def _steps(self) -> int:
        """The step count the settings ask for (or the default), checked."""
        raise NotImplementedError

    def _setup(self) -> None:
        """What the job needs besides the prepared photo (its tiler, its seed, its blur)."""
        raise NotImplementedError

    def steps_iter(self) -> Iterator[StepRecord]:
        raise NotImplementedError

    def run(self) -> np.ndarray:
        for _ in self.steps_iter():
            pass
        assert self.result is not None
        return self.result

    def checked(self, image: np.ndarray) -> np.ndarray:
        """``image`` if all of it is finite, else :class:`NonFiniteResult` naming the model (NaN
        would be written as black and look like a result)."""
        bad = int(image.size - np.count_nonzero(np.isfinite(image)))
        if bad:
            weights = self.restorer.weights
            model = weights.path.name if weights is not None else "the model"
            raise NonFiniteResult(
                f"{model} gave a result that is not finite ({bad} values are NaN or infinite); "
                "the model is broken, nothing was kept"
            )
        return image


class RestoreJob(_Job):
    """Restore one photo by sampling the reverse SDE of the task's network."""

    # The size this job's photo has against the user's (2: a coarse pass at half size).
    coarse_scale = 1
    # Whether this job's result is the user's photo finished (not a coarse pass's or a region's),
    # which gets the task's last touch (:meth:`~.tasks.Task.finish_whole`).
    whole_photo = True

    def _setup(self) -> None:
        seed = self.settings.seed
        self.seed = int(seed) if seed is not None else secrets.randbelow(2**31)
        self._inner: RestoreJob | None = None
        mask = self.prepared.mask
        if self.task.coarse_to_fine and self.settings.hole_region and mask is not None:
            self.region = coarse.hole_region(mask)
        if self.region is not None:  # a job of its own on the region, its steps shown full size
            ys, xs = self.region
            photo = self.prepared.known if self.prepared.known is not None else self.prepared.mu
            settings = dataclasses.replace(self.settings, seed=self.seed, hole_region=False)
            self._inner = RestoreJob(
                self.task, self.restorer, photo[ys, xs], mask[ys, xs], settings, self.hooks
            )
            self._inner.whole_photo = False
            self.predict = self._inner.predict
            self.flip_average = self._inner.flip_average
            return
        h, w, hooks, restorer = self.height, self.width, self.hooks, self.restorer
        flips = self.settings.flip_average
        self.flip_average = bool(self.task.flip_average if flips is None else flips)
        # A JPEG's 8 px blocks, as large as the network sees them (x4: mu is the photo upsampled).
        grid = JPEG_BLOCK * self.task.scale
        network = FlipAveraged(restorer, grid) if self.flip_average else restorer
        top, left = grid_padding(self.blocks_at, self.task.scale)
        if top or left:
            network = GridShifted(network, top, left)
        tile = self.settings.tile
        if tile is None:
            per_pixel = restorer.bytes_per_pixel * (2 if self.flip_average else 1)  # a batch of two
            tile = auto_tile_size(h, w, per_pixel, available_memory(restorer.device.device))
        self.predict = network
        if tile != 0 or self.settings.tile is None:
            # Even a photo that fits whole goes through the tiler, so that running out of
            # memory retries the step with smaller tiles instead of failing the run.
            whole = -(-max(h, w) // 16) * 16
            self.predict = TiledPredictor(
                network,
                max(tile or whole, MIN_TILE),
                self.settings.tile_overlap,
                multiple=restorer.multiple,
                on_tile=hooks.on_tile,
                on_shrink=hooks.on_shrink,
                align=grid,
            )

    def _steps(self) -> int:
        card = self.restorer.weights.card if self.restorer.weights else None
        default = (card.default_steps if card and card.default_steps else None) or self.task.default_steps
        steps = int(self.settings.steps or default)
        if not 1 <= steps <= self.restorer.sde.T:
            raise ValueError(f"steps must be between 1 and {self.restorer.sde.T}, got {steps}")
        return steps

    @property
    def tile(self) -> int | None:
        """The tile size in use, or None while the photo is processed whole."""
        if self._inner is not None:
            return self._inner.tile
        p = self.predict
        if isinstance(p, TiledPredictor) and p.count(self.height, self.width) > 1:
            return p.tile
        return None

    @property
    def tiles(self) -> int:
        if self._inner is not None:
            return self._inner.tiles
        return self.predict.count(self.height, self.width) if isinstance(self.predict, TiledPredictor) else 1

    def steps_iter(self) -> Iterator[StepRecord]:
        """The sampler generator; sets :attr:`result` when it runs to the end. The task's first
        stage, where the photo needs one, runs before the first step."""
        if self._inner is not None:
            yield from self._steps_in_region()
            return
        strength = self._pre_stage()
        predict = self._coarse_guided(self.predict)  # before the mix: a coarse pass sets its own
        self._set_mix(strength)
        mu = to_tensor(self.prepared.mu, self.restorer.device.device)
        gen = sample(predict, self.restorer.sde, mu, self.steps, self.settings.sampler, self.seed)
        try:
            for record in gen:
                if record.index == record.total:  # the last step
                    self.result = self.checked(self.finish(record.x_t))
                yield record
        finally:
            gen.close()
            del mu

    def _pre_stage(self) -> float:
        """Blend the task's :attr:`~.tasks.Task.pre_stage` result into the photo (``mu``) by the
        strength the task judges from it, and return that strength, measured on the photo whether
        or not the stage ran (it is what the photo needs: the ensemble's mix follows it). The
        stage is skipped where its model cannot be loaded or gives a broken result: the photo goes
        to the network as it is, and the report says why."""
        task = self.task
        if task.pre_stage is None:
            return 0.0
        if self._need is None:  # measured once, on the photo as given
            self._need = float(task.pre_stage_strength(self.prepared.mu))
        strength = self._need
        if strength <= 0 or not self.settings.pre_stage or self.pre is not None:
            return strength
        stage_task = get_task(task.pre_stage)
        on_stage = self.hooks.on_stage
        if on_stage is not None:
            on_stage(stage_task.label, 0, 1)
        try:
            restorer = load_restorer(task.pre_stage, device=self.restorer.device)
        except (WeightsError, OSError, ValueError) as exc:
            self.pre = {"task": task.pre_stage, "skipped": str(exc)}
            return strength
        hooks = JobHooks(on_tile=self.hooks.on_tile, on_shrink=self.hooks.on_shrink)
        settings = self.settings.for_sub_job(seed=self.seed)
        rgb = self.prepared.mu
        stage = RestoreJob(stage_task, restorer, rgb, None, settings, hooks)
        began = time.perf_counter()
        steps = stage.steps_iter()
        try:
            for record in steps:  # each step reported (and a chance to stop the run)
                if on_stage is not None:
                    on_stage(stage_task.label, record.index, record.total)
        except NonFiniteResult as exc:
            self.pre = {"task": task.pre_stage, "skipped": str(exc)}
            return strength
        finally:
            steps.close()
            self.pre_seconds = time.perf_counter() - began
        staged = stage.result
        weights = restorer.weights
        self.pre = {
            "task": task.pre_stage,
            "what": task.pre_stage_label,
            "model_file": str(weights.path) if weights else "",
            "model_sha256": weights.card.sha256 if weights else "",
            "steps": stage.steps,
            "strength": round(strength, 3),
            "seconds": round(self.pre_seconds, 3),
        }
        mu = (rgb + strength * (staged - rgb)).astype(np.float32)
        self.prepared = dataclasses.replace(self.prepared, mu=mu)
        return strength

    def _steps_in_region(self) -> Iterator[StepRecord]:
        """The region's job, step by step, each state and estimate set into the whole photo
        (which shows the fill value in the hole until the region's first step)."""
        inner = self._inner
        assert inner is not None and self.region is not None
        ys, xs = self.region
        # Kept in the CPU's memory: the device's is the region's, sized for its network.
        whole = to_tensor(self.prepared.mu, torch.device("cpu"))
        steps = inner.steps_iter()
        try:
            for record in steps:
                self.coarse_scales, self.coarse_seconds = inner.coarse_scales, inner.coarse_seconds
                self.mix = inner.mix
                x_t, x0_hat = whole.clone(), whole.clone()
                x_t[..., ys, xs] = record.x_t.float().cpu()
                x0_hat[..., ys, xs] = record.x0_hat.float().cpu()
                if record.index == record.total:
                    self.result = self.checked(self.finish(x_t))
                yield dataclasses.replace(record, x_t=x_t, x0_hat=x0_hat)
        finally:
            steps.close()
            del whole

    def _coarse_guided(self, predict):
        """``predict``, guided inside a hole too wide for the network by the photo filled at half
        size (:mod:`.coarse`); that fill is a job of its own, run here before the first step,
        coarse to fine in turn. ``predict`` as it is for other tasks and narrow holes."""
        mask = self.prepared.mask
        if not (self.task.coarse_to_fine and self.settings.coarse_to_fine and mask is not None):
            return predict
        if not coarse.needs_coarse_pass(mask):
            return predict
        began = time.perf_counter()
        small_rgb, small_mask = coarse.half_size(self.prepared.mu, mask)
        # The whole (half-size) photo: its far context is what the pass is for.
        settings = self.settings.for_sub_job(steps=self.steps, seed=self.seed, hole_region=False)
        on_stage = self.hooks.on_stage
        label = f"Filling the hole at 1/{2 * self.coarse_scale} size"
        done = 0

        def tile_done(_done: int, _total: int) -> None:  # the pass's label, and a chance to stop
            on_stage(label, done, self.steps)

        hooks = JobHooks(
            on_tile=tile_done if on_stage is not None else None,
            on_shrink=self.hooks.on_shrink,
            on_stage=on_stage,
        )
        small = RestoreJob(self.task, self.restorer, small_rgb, small_mask, settings, hooks)
        small.coarse_scale = 2 * self.coarse_scale
        small.whole_photo = False
        if on_stage is not None:
            on_stage(label, 0, self.steps)
        steps = small.steps_iter()
        try:
            for record in steps:  # each step reported (and a chance to stop the run)
                done = record.index
                if on_stage is not None:
                    on_stage(label, record.index, record.total)
        finally:
            steps.close()
        assert small.result is not None
        device = self.restorer.device.device
        guide = coarse.upsample(small.result, self.height, self.width)
        weight = torch.from_numpy(coarse.guide_weight(mask))[None, None].to(device)
        self.coarse_scales = (small.coarse_scale, *small.coarse_scales)
        self.coarse_seconds = time.perf_counter() - began
        return coarse.GuidedPredictor(predict, to_tensor(guide, device), weight)

    def _set_mix(self, strength: float) -> None:
        """Set an ensemble network's mix for this photo (every run sets it: the restorer is shared)."""
        net = self.restorer.net
        if not hasattr(net, "default_mix"):
            return
        mix = self.task.ensemble_mix(strength)
        net.mix = net.default_mix if mix is None else net.checked_mix(mix)
        self.mix = round(float(net.mix), 3)

    def finish(self, x: torch.Tensor) -> np.ndarray:
        """The final image from a state or an estimate (clipped; inpaint keeps known pixels, and
        on the user's whole photo takes a deep hole's broad colour from a classic fill)."""
        out = self.task.finish(to_numpy(x), self.prepared)
        return self.task.finish_whole(out, self.prepared) if self.whole_photo else out


def is_blind(task: Task, restorer: Restorer) -> bool:
    """The restorer's model is the task's prior: the deconvolution route (:class:`BlindDeblurJob`)."""
    card = restorer.weights.card if restorer.weights else None
    return card is not None and task.deconvolves_with(card.task)


def create_job(
    task: Task,
    restorer: Restorer,
    rgb: np.ndarray,
    mask: np.ndarray | None = None,
    settings: JobSettings | None = None,
    hooks: JobHooks | None = None,
) -> RestoreJob | BlindDeblurJob:
    """The job for ``task`` run by ``restorer``: a task given its prior's model deconvolves
    (deblur with the denoise model), everything else samples the task's SDE. A known blur
    (``settings.kernel``) is for the deconvolution route only."""
    settings = settings or JobSettings()
    blind = is_blind(task, restorer)
    if settings.kernel is not None and not blind:
        raise ValueError("a known blur kernel is for deblurring, with the denoise model as the prior")
    return (BlindDeblurJob if blind else RestoreJob)(task, restorer, rgb, mask, settings, hooks)


def _start_network_installed() -> bool:
    """Whether a file for the blind route's helper network is installed (loaded only when asked)."""
    try:
        find_weights("deblur_start", vet=False)
    except WeightsError:
        return False
    return True


class BlindDeblurJob(_Job):
    """Deblur one photo (float32 HxWx3 in [0, 1]) with no deblur network.

    The blur kernel is estimated from the photo (:func:`.blind.estimate_photo_kernel`;
    ``on_stage("Estimating the blur", done, total)`` reports it and may raise to cancel),
    then ``steps`` rounds of plug-and-play deconvolution each take a Fourier step towards
    the blurred photo and denoise it with one step of the denoise model (``restorer``),
    tiled like any run. The Fourier steps take the photo whole while that needs under a
    quarter of the free memory (or up to 3 MP), else in tiles. Each round yields a
    :class:`StepRecord`: ``x_t`` the Fourier step, ``x0_hat`` the denoised estimate. The
    same photo always gives the same result, so the seed and sampler are unused.

    A known ``settings.kernel`` (a measured blur, or the true one when scoring) skips the estimate,
    and the rounds then trust it more (:data:`.blind.KNOWN_STRENGTH`); without ``steps``, a
    known kernel takes :data:`.blind.KNOWN_ROUNDS` rounds, an estimated one :data:`.blind.BLIND_ROUNDS`.
    Its ``settings.kernel_source`` (its file, or its shape such as ``motion:15:30``) goes into the run report.

    ``settings.estimated`` is the blur an earlier job estimated from this same photo (its :attr:`kernel`):
    the estimate depends on the photo alone, so it is used as found, skipping the estimate,
    and the result is the one a fresh estimate gives (the app re-runs a photo this way with
    other rounds, seconds sooner).
    """

    method = "blind"

    def _setup(self) -> None:
        settings = self.settings
        kernel, estimated = settings.kernel, settings.estimated
        if kernel is not None and estimated is not None:
            raise ValueError("a blur is either given or estimated, not both")
        if self.task.prior_task is None:
            raise ValueError(f"{self.task.label} has no deconvolution route")
        self.seed = int(settings.seed) if settings.seed is not None else 0
        self.kernel_given = kernel is not None
        self.kernel_source = settings.kernel_source if self.kernel_given else None
        known = kernel if kernel is not None else estimated
        self.kernel: np.ndarray | None = None if known is None else checked_kernel(known).astype(np.float32)
        if estimated is not None:
            self.blur_start = settings.estimated_start
        self._denoiser_tiles = 1
        self._denoiser_tile: int | None = None

    def find_blur(self, progress=None, info: dict | None = None) -> np.ndarray:
        """The photo's blur, estimated and then refined with the denoise model as the prior
        (:func:`.blind.estimate_photo_kernel`); raises :class:`.blind.NoBlurFound`."""
        sharpen = self._sharpen if self.settings.second_start and _start_network_installed() else None
        return estimate_photo_kernel(
            self.prepared.mu,
            progress=progress,
            info=info,
            denoise=self._denoise,
            sharpen=sharpen,
            keep=self.settings.keep_start,
        )

    def _sharpen(self, rgb: np.ndarray) -> np.ndarray | None:
        """The deblur network's sharp guess at ``rgb`` (one step), or None where it is not installed."""
        helper = load_helper("deblur_start", self.restorer.device)
        if helper is None:
            return None
        settings = self.settings.for_sub_job(steps=1, seed=0, flip_average=None)
        hooks = JobHooks(on_shrink=self.hooks.on_shrink)
        return RestoreJob(self.task, helper, rgb, None, settings, hooks).run()

    def _steps(self) -> int:
        s = self.settings
        steps = int(s.steps or (BLIND_ROUNDS if s.kernel is None else KNOWN_ROUNDS))
        if not 1 <= steps <= MAX_BLIND_ROUNDS:
            raise ValueError(f"blind deblurring takes 1 to {MAX_BLIND_ROUNDS} rounds, got {steps}")
        return steps

    @property
    def tile(self) -> int | None:
        return self._denoiser_tile

    @property
    def tiles(self) -> int:
        return self._denoiser_tiles

    def _denoise(self, rgb: np.ndarray) -> np.ndarray:
        s = self.settings
        hooks = JobHooks(self.hooks.on_tile, self.hooks.on_shrink)
        # The prior as the route was tuned and timed with: one estimate a round.
        settings = s.for_sub_job(steps=1, seed=0, flip_average=False, blocks_at=(0, 0))
        job = RestoreJob(get_task(self.task.prior_task), self.restorer, rgb, None, settings, hooks)
        self._denoiser_tiles, self._denoiser_tile = job.tiles, job.tile
        return job.run()

    def steps_iter(self) -> Iterator[StepRecord]:
        """Estimate the kernel, then one record per deconvolution round; :attr:`result` is
        set with the last record."""
        rgb = self.prepared.mu
        stage = self.hooks.on_stage
        progress = self._estimate_progress(stage) if stage else None
        began = time.perf_counter()
        strength = KNOWN_STRENGTH if self.kernel_given else ESTIMATED_STRENGTH
        if self.kernel is None:
            info: dict = {}
            try:
                self.kernel = self.find_blur(progress, info)
                self.blur_start = info.get("start")
                self.other_blur, self.other_start = info.get("other_blur"), info.get("other_start")
                self.doubt = "; ".join(kernel_doubts(self.kernel, info)) or None
            except NoBlurFound as exc:  # nothing to deconvolve: the photo is only denoised
                self.doubt = str(exc)
            self.estimate_seconds = time.perf_counter() - began
            began = time.perf_counter()  # a round's time is its own: time left is counted in rounds
        elif not self.kernel_given:  # found by an earlier run of this photo: judged again
            self.doubt = "; ".join(kernel_doubts(self.kernel)) or None
        if self.doubt is not None:
            strength = GENTLE_STRENGTH
        if self.kernel is None or (self.doubt is not None and max(blur_extent(self.kernel)) <= 1):
            self.kernel = None  # no blur to undo (nor to show, or to save)
            yield from self._denoised_only(rgb, began)
            return
        device = torch.device("cpu")  # the Fourier steps run in NumPy; the denoiser moves its input
        free = available_memory(device)
        whole = WHOLE_PIXELS if free is None else max(WHOLE_PIXELS // 4, free // (4 * BYTES_PER_PIXEL))
        rounds = deconvolve_rounds(
            rgb, self.kernel, self._denoise, iters=self.steps, strength=strength, whole_pixels=whole
        )
        try:
            for i, (x, z) in enumerate(rounds):
                now = time.perf_counter()
                yield self._round(i, to_tensor(x, device), to_tensor(z, device), z, now - began)
                began = time.perf_counter()
        finally:
            rounds.close()

    @staticmethod
    def _estimate_progress(stage: Callable[[str, int, int], None]) -> Callable[[int, int], None]:
        """The estimate's progress as the stage "Estimating the blur"; once its count grows (the
        refined estimate explained too little, and a second start is tried), as
        "Estimating the blur again, from the deblur network", counted on from where it was."""
        first: list[int] = []
        again = "Estimating the blur again, from the deblur network"

        def progress(done: int, total: int) -> None:
            if not first:
                first.append(total)
            stage(again if total > first[0] else "Estimating the blur", done, total)

        return progress

    def _denoised_only(self, rgb: np.ndarray, began: float) -> Iterator[StepRecord]:
        """No blur was found: the photo denoised once, shown as every round's result."""
        device = torch.device("cpu")
        z = np.clip(np.asarray(self._denoise(np.clip(rgb, 0.0, 1.0)), np.float32), 0.0, 1.0)
        x_t, x0_hat = to_tensor(np.clip(rgb, 0.0, 1.0), device), to_tensor(z, device)
        for i in range(self.steps):
            yield self._round(i, x_t, x0_hat, z, time.perf_counter() - began)
            began = time.perf_counter()

    def _round(self, i: int, x_t, x0_hat, z: np.ndarray, seconds: float) -> StepRecord:
        """Round ``i``'s record (0-based); the last round's estimate ``z`` is the result."""
        if i + 1 == self.steps:
            self.result = self.checked(self.finish(z))
        return StepRecord(i + 1, self.steps, self.steps - i, self.steps - i - 1, x_t, x0_hat, seconds)

    def finish(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """The final image from a round's estimate."""
        a = to_numpy(x) if isinstance(x, torch.Tensor) else np.asarray(x, np.float32)
        return self.task.finish(a, self.prepared)
