"""What the command line and the desktop app share around a run: inputs, masks, timing text, the run report.

Importing this module is cheap (no PyTorch, no image libraries): the command
line imports it at start-up and the app before PyTorch is loaded. Functions
import what they need when called.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__

try:
    import resource
except ImportError:  # Windows
    resource = None

if TYPE_CHECKING:
    import numpy as np

    from .imageio import Photo
    from .model import Restorer
    from .pipeline import BlindDeblurJob, RestoreJob
    from .tasks import Task


def collect_inputs(items: list[str], skipped: list[str] | None = None) -> tuple[list[Path], list[str], bool]:
    """Expand files and folders into image files; returns (files, problems, any_folder). What a
    folder holds besides photos goes into ``skipped``, one line per folder (:func:`skipped_line`)."""
    # deferred: OpenCV and NumPy load with the engine (module docstring)
    from .imageio import is_image_path, not_a_file

    files: list[Path] = []
    problems: list[str] = []
    folder = False
    for item in items:
        p = Path(item)
        if p.is_dir():
            folder = True
            found, passed = [], []
            try:
                entries = sorted(p.iterdir())
            except OSError as exc:  # a folder this user may not list, a drive gone
                problems.append(f"{p}: the folder cannot be read ({exc.strerror or exc})")
                continue
            for f in entries:
                if f.name.startswith("."):  # hidden (our own partial writes among them)
                    continue
                why = not_a_file(f)
                if why is None and is_image_path(f):
                    found.append(f)
                else:
                    passed.append(skip_kind(f, why))
            if not found:
                problems.append(f"{p}: the folder holds no images")
            if passed and skipped is not None:
                skipped.append(skipped_line(p, passed))
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:  # missing, or a link that leads nowhere (a loop, a file gone)
            why = not_a_file(p)
            problems.append(f"{p}: {'no such file or folder' if why == 'no such file' else why}")
    return files, problems, folder


# Control characters (a newline or a terminal's escape code in a file's name) and the bytes of a
# name that are not UTF-8 (Python keeps them as lone surrogates), shown as escapes.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})
_ESCAPES.update({c: f"\\x{c - 0xDC00:02x}" for c in range(0xDC80, 0xDD00)})


def printable(text: str) -> str:
    """``text`` as one line a terminal shows as it is: control characters and bytes that are not
    UTF-8 (a newline or an escape code in a file's name, a Latin-1 name) become escapes
    (``\\n``, ``\\x1b``, ``\\xe9``), so that one problem is one line and a name cannot recolour
    the terminal."""
    return text.translate(_ESCAPES)


def skip_kind(path: Path, why: str | None) -> str:
    """What a file that a batch passes over is, in a word: ``GIF``, ``folder``, ``not a regular
    file``… (``why`` is :func:`~.imageio.not_a_file`'s reason, None for a regular file)."""
    if why is None:
        return path.suffix[1:].upper() or "file without an extension"
    if why.startswith("is a folder"):
        return "folder"
    for kind in ("symbolic link loop", "broken symbolic link"):
        if kind in why:
            return kind
    return "not a regular file" if "not a regular file" in why else "unreadable"


def skipped_line(folder: Path, kinds: list[str]) -> str:
    """``in: skipped 5: 2 GIF, 1 SVG, 1 folder, 1 not a regular file`` (the most first)."""
    words = {
        "folder": "folders",
        "symbolic link loop": "symbolic link loops",
        "broken symbolic link": "broken symbolic links",
    }
    counts = ", ".join(f"{n} {words.get(k, k) if n > 1 else k}" for k, n in Counter(kinds).most_common())
    return f"{folder}: skipped {len(kinds)}: {counts}"


class OutputRefused(OSError):
    """A result would replace an input photo; the message names the file."""


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of an existing file, the same through any link or spelling; None if absent."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def name_key(path: Path) -> str:
    """A path as a file system may take it: absolute, links resolved, case folded (macOS and
    Windows ignore case, so ``Photo.png`` and ``photo.png`` count as one name)."""
    p = Path(os.path.abspath(path))
    with contextlib.suppress(OSError, RuntimeError):  # a link loop: the spelling given is all there is
        p = p.resolve()
    return os.path.normcase(str(p)).casefold()


class OutputPlan:
    """Names the results of a batch before the first is written, so that none lands on an input
    photo or on another result (or its run report).

    Every result is claimed with :meth:`claim`: its wished-for name, or ``NAME-2.ext``,
    ``NAME-3.ext``… when that name (or one of its ``companions``, such as ``NAME.json``) is
    taken by an input or by an earlier claim. A result whose name is its own input is refused
    (:class:`OutputRefused`) unless ``overwrite`` allows replacing it."""

    def __init__(
        self,
        inputs: Iterable[Path] = (),
        overwrite: bool = False,
        companions: Callable[[Path], Iterable[Path]] | None = None,
    ):
        self.overwrite = overwrite
        self.companions = companions or (lambda target: ())
        self._inputs: set[tuple[int, int]] = set()
        self._claimed: set[str] = set()
        for p in inputs:
            self.add_input(p)

    def add_input(self, path: Path) -> None:
        ident = file_identity(path)
        if ident is not None:
            self._inputs.add(ident)

    def _taken(self, paths: list[Path], own: tuple[int, int] | None) -> bool:
        for p in paths:
            if name_key(p) in self._claimed:
                return True
            ident = file_identity(p)
            if ident is not None and ident in self._inputs and not (self.overwrite and ident == own):
                return True
        return False

    def claim(
        self, source: Path, target: Path, companions: Callable[[Path], Iterable[Path]] | None = None
    ) -> Path:
        """The name ``source``'s result is written under (reserved from now on, with its
        ``companions``: the plan's unless given)."""
        own = file_identity(source)
        if own is not None and file_identity(target) == own and not self.overwrite:
            raise OutputRefused(f"{target}: refusing to overwrite the input photo (use --overwrite)")
        beside = companions or self.companions
        candidate = target
        for n in itertools.count(2):
            paths = [candidate, *beside(candidate)]
            if not self._taken(paths, own):
                break
            candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
        self._claimed.update(name_key(p) for p in paths)
        return candidate


def find_mask(mask_arg: str | None, photo_path: Path) -> Path | None:
    """The mask for ``photo_path``: ``mask_arg`` itself, or the file named like the photo in that folder."""
    if mask_arg is None:
        return None
    m = Path(mask_arg)
    if m.is_dir():
        from .imageio import IMAGE_EXTENSIONS  # deferred: OpenCV and NumPy, as in collect_inputs

        for ext in ("", *IMAGE_EXTENSIONS):
            cand = m / (photo_path.name if not ext else photo_path.stem + ext)
            if cand.is_file():
                return cand
        raise FileNotFoundError(f"{photo_path}: no mask named {photo_path.stem}.* in {m}")
    return m


def mask_for_photo(
    task: Task, photo: Photo, mask_path: Path | None = None, grow: int = 0
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The mask a task needs for ``photo`` and the alpha channel to write with the result.

    Inpainting takes the mask from ``mask_path`` or else from the photo's
    transparent pixels, widened by ``grow`` px (:func:`~.tasks.grow_mask`); the pixels it
    fills are written opaque, the others keep their alpha (:func:`filled_alpha`). Other
    tasks need no mask and keep the alpha.
    """
    if not task.uses_mask:
        return None, photo.alpha
    if mask_path is not None:
        mask = read_mask_for(photo, mask_path)
    elif photo.alpha is not None:
        from .tasks import mask_from_alpha  # deferred: NumPy, as in collect_inputs

        mask = mask_from_alpha(photo.alpha)
    else:
        return None, None
    if grow:
        from .tasks import grow_mask  # deferred: NumPy, as in collect_inputs

        mask = grow_mask(mask, grow)
    return mask, filled_alpha(photo.alpha, mask)


def read_mask_for(photo: Photo, mask_path: Path) -> np.ndarray:
    """The inpainting mask in ``mask_path`` (HxW float, white = fill) for ``photo``; a mask that
    cannot be read, has another size or is empty raises :class:`~.tasks.MaskError` naming both
    files (in a batch, which photo and which mask)."""
    from .imageio import ImageReadError, read_photo  # deferred: OpenCV and NumPy, as in collect_inputs
    from .tasks import MaskError, normalise_mask

    its = f"{photo.path if photo.path is not None else 'the photo'}: its mask {mask_path}"
    try:
        mask = read_photo(mask_path).rgb.max(axis=2)
    except ImageReadError as exc:
        text = str(exc)
        raise MaskError(f"{its}: {text.removeprefix(f'{mask_path}: ')}") from None
    (h, w), (ph, pw) = mask.shape, photo.rgb.shape[:2]
    if (h, w) != (ph, pw):
        raise MaskError(f"{its} is {w}x{h} but the photo is {pw}x{ph}")
    if not normalise_mask(mask, (h, w)).any():
        raise MaskError(f"{its} is empty: paint (white) the area to fill")
    return mask


def filled_alpha(alpha: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray | None:
    """The alpha to write with an inpainted result: the photo's own (a copy), opaque wherever
    ``mask`` (HxW, > 0.5 = filled) filled a pixel; None for a photo without alpha. A hole that
    stayed transparent would look unchanged."""
    if alpha is None or mask is None:
        return alpha
    import numpy as np  # deferred: importing this module stays cheap

    from .tasks import normalise_mask

    out = alpha.copy()
    full = 1.0 if out.dtype.kind == "f" else np.iinfo(out.dtype).max
    out[normalise_mask(mask, out.shape[:2]) > 0.5] = full
    return out


def plural(n: int, word: str) -> str:
    """``1 step``, ``3 steps``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def format_duration(seconds: float) -> str:
    """``12.3 s``, ``4:05`` or ``1:02:03``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(round(seconds), 60)
    if m < 60:
        return f"{m}:{s:02d}"
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"


def peak_memory(device_kind: str) -> tuple[float | None, str]:
    """Peak memory in MiB and what it measures (CUDA allocations, or the process's resident set)."""
    if device_kind == "cuda":
        import torch  # deferred: PyTorch, only for a CUDA run

        return torch.cuda.max_memory_allocated() / 2**20, "CUDA memory allocated by PyTorch"
    if resource is None:
        return None, "not measured on this system"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (2**20 if sys.platform == "darwin" else 2**10), "peak resident memory of the process"


@dataclass
class RunReport:
    """Everything needed to reproduce one result, written as JSON beside it."""

    task: str
    model_file: str
    model_sha256: str
    sampler: str | None  # None for blind deblurring (deconvolution rounds: no sampler, no seed)
    steps: int
    seed: int | None
    device: str
    seconds_per_step: float
    elapsed_seconds: float
    steps_done: int
    stopped_early: bool = False
    tile: int | None = None
    input: str | None = None
    output: str | None = None
    input_size: list[int] = field(default_factory=list)
    output_size: list[int] = field(default_factory=list)
    peak_memory_mib: float | None = None
    peak_memory_of: str = ""
    app_version: str = ""
    python: str = field(default_factory=lambda: platform.python_version())
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    step_seconds: list[float] = field(default_factory=list)
    # "sde": the task's network samples its SDE. "blind": deblurring with the denoise model
    # (``model_file``) as the prior, by the kernel ``blur_kernel_px`` estimated from the photo
    # (or given: ``blur_kernel_given``).
    method: str = "sde"
    blur_kernel_px: int | None = None  # the kernel's array, larger than the blur it holds
    blur_extent_px: list[int] | None = None  # [width, height] of the blur itself (blind.blur_extent)
    blur_kernel_given: bool = False
    blur_kernel_source: str | None = None  # a given kernel's file, or its shape (motion:15:30)
    blur_estimate_seconds: float | None = None  # finding the blur, before the first round
    # Where the blur kept was found from: "photo" (its own edges) or "network" (the deblur
    # network's sharp guess: the estimate's second start); None where none was estimated.
    blur_start: str | None = None
    # Where both starts were tried: the blur not kept, [width, height] (the app offers it as
    # "Try the other blur"); None where only one start ran, or the blur was given.
    blur_other_extent_px: list[int] | None = None
    # Why the blur found was not trusted (then a gentler result was made: blind.GENTLER); None if it was
    blur_doubt: str | None = None
    # The task's first stage, when the photo needed one (derain: the dehaze model lifting the
    # veil of heavy rain before the streaks are erased): its task, model file and sha256, steps
    # and strength (0-1), or, where its model could not be loaded, why it was skipped. None: no
    # first stage ran.
    pre_stage: dict | None = None
    # An ensemble network's second member's share in this run (derain: the downpour network's).
    ensemble_mix: float | None = None
    # Inpainting a hole too wide for the network: the sizes it was first filled at, coarser each
    # (2: half the photo's, 4: a quarter), each guiding the next; empty where the hole is narrow.
    coarse_scales: list[int] = field(default_factory=list)
    coarse_seconds: float | None = None  # those passes, before the first step
    # A large photo's hole filled from the region around it only: [x, y, width, height] of that
    # region in the photo (None: the whole photo was run).
    fill_region: list[int] | None = None
    # Each step averaged the network's estimate with its estimate of the photo turned half a turn
    # (denoise; irsde_gui.core.flips).
    flip_average: bool = False
    # The share of the restoration the result keeps, blended back towards the photo
    # (irsde_gui.core.strength); None: all of it.
    strength: float | None = None
    # Where the photo's JPEG blocks started, [row, column], when not on the grid from its corner
    # (a photo cropped after it was saved): the network saw it padded onto that grid. None: on it.
    jpeg_blocks_at: list[int] | None = None
    # A chain of tasks (denoise, then upscale): every stage in order, the last one this report's
    # own (:func:`~.chain.stage_entry`). Then ``input``, ``input_size`` and ``elapsed_seconds``
    # are the whole chain's; the other fields are the last stage's. Empty for a single run.
    stages: list[dict] = field(default_factory=list)

    @classmethod
    def from_job(
        cls,
        job: RestoreJob | BlindDeblurJob,
        restorer: Restorer,
        step_seconds: list[float],
        elapsed: float,
        input_path: Path | str | None = None,
        stopped_early: bool = False,
    ) -> RunReport:
        weights = restorer.weights
        kernel = job.kernel
        extent = other_extent = None
        if kernel is not None:  # a deconvolution: its module is loaded already
            from .blind import blur_extent  # deferred: OpenCV and NumPy, as in collect_inputs

            extent = list(blur_extent(kernel))
            if job.other_blur is not None:
                other_extent = list(blur_extent(job.other_blur))
        peak, peak_of = peak_memory(restorer.device.kind)
        h, w = job.height, job.width
        scale = job.task.scale
        sampled = job.method != "blind"  # deconvolution rounds use neither a sampler nor a seed
        return cls(
            task=job.task.name,
            model_file=str(weights.path) if weights else "",
            model_sha256=weights.card.sha256 if weights else "",
            sampler=job.settings.sampler if sampled else None,
            steps=job.steps,
            seed=job.seed if sampled else None,
            device=restorer.device.describe(),
            seconds_per_step=round(sum(step_seconds) / len(step_seconds), 4) if step_seconds else 0.0,
            elapsed_seconds=round(elapsed, 3),
            steps_done=len(step_seconds),
            stopped_early=stopped_early,
            tile=job.tile,
            input=str(input_path) if input_path else None,
            input_size=[w // scale, h // scale],
            output_size=[w, h],
            peak_memory_mib=round(peak, 1) if peak is not None else None,
            peak_memory_of=peak_of,
            app_version=__version__,
            step_seconds=[round(s, 4) for s in step_seconds],
            method=job.method,
            blur_kernel_px=int(max(kernel.shape)) if kernel is not None else None,
            blur_extent_px=extent,
            blur_kernel_given=job.kernel_given,
            blur_kernel_source=job.kernel_source,
            blur_estimate_seconds=None if job.estimate_seconds is None else round(job.estimate_seconds, 3),
            blur_start=job.blur_start,
            blur_other_extent_px=other_extent,
            blur_doubt=job.doubt,
            pre_stage=job.pre,
            ensemble_mix=job.mix,
            coarse_scales=list(job.coarse_scales),
            coarse_seconds=None if job.coarse_seconds is None else round(job.coarse_seconds, 3),
            fill_region=_region_box(job.region),
            flip_average=job.flip_average,
            jpeg_blocks_at=list(job.blocks_at) if any(job.blocks_at) else None,
        )

    def to_dict(self) -> dict:
        return asdict(self)

    def write(self, path: str | Path, output: str | Path | None = None) -> Path:
        """Write the report as JSON (atomically); ``output`` records the result file it belongs to."""
        from .imageio import atomic_write_bytes  # deferred: OpenCV and NumPy, as in collect_inputs

        if output is not None:
            self.output = str(output)
        return atomic_write_bytes(path, (json.dumps(self.to_dict(), indent=2) + "\n").encode("utf-8"))

    def write_beside(self, result: str | Path) -> Path:
        """Write the report of the result just written to ``result`` beside it (:func:`report_path_for`);
        :class:`~.imageio.ImageWriteError` says when the result was written but not its report."""
        from .imageio import ImageWriteError  # deferred: the image libraries load with the engine

        result = Path(result)
        try:
            return self.write(report_path_for(result), output=result.resolve())
        except OSError as exc:
            raise ImageWriteError(f"{result} was written, but not its run report: {exc}") from exc


def _region_box(region: tuple[slice, slice] | None) -> list[int] | None:
    """A job's fill region (rows, columns) as [x, y, width, height]."""
    if region is None:
        return None
    ys, xs = region
    return [int(xs.start), int(ys.start), int(xs.stop - xs.start), int(ys.stop - ys.start)]


def describe_pre_stage(entry: dict | None) -> str:
    """The finished line's words for a run's first stage: ``veil lifted (dehaze model)``, with
    its share where only part of its result was blended in (``veil lifted 60% (dehaze model)``),
    why it was skipped, or "" when none ran."""
    if not entry:
        return ""
    if "skipped" in entry:
        return f"{entry['task']} stage skipped: {entry['skipped']}"
    what = entry.get("what") or f"{entry['task']} stage"
    share = "" if entry["strength"] >= 1 else f" {entry['strength']:.0%}"
    return f"{what}{share} ({entry['task']} model)"


def report_path_for(result_path: str | Path) -> Path:
    """Where the run report of a saved result goes: ``photo-clean.png`` -> ``photo-clean.json``."""
    return Path(result_path).with_suffix(".json")
