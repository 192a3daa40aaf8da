"""Keeping and exporting the frames of a reverse run: PNG folder, GIF, MP4, contact sheet.

Frames are uint8 RGB arrays, stored downsampled (see :data:`DEFAULT_MAX_SIDE`)
so that a long run over a large photo keeps a bounded amount of memory:
at most ``max_side^2 * 3`` bytes per frame.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .imageio import atomic_write_bytes, encode_photo, temp_path_beside

DEFAULT_MAX_SIDE = 768


@dataclass
class Frame:
    """One stored step: the state ``x_t`` and the estimate ``x0_hat``, both uint8 HxWx3."""

    index: int
    t: int
    state: np.ndarray
    estimate: np.ndarray
    seconds: float = 0.0
    stage: str = ""  # in a chain of tasks: which stage ("1 denoise"), else empty

    @property
    def label(self) -> str:
        step = f"step {self.index}  t={self.t}"
        return f"{self.stage}  {step}" if self.stage else step


@dataclass
class Trajectory:
    """The frames of one run, in step order, plus the input shown as step 0."""

    frames: list[Frame] = field(default_factory=list)
    max_side: int = DEFAULT_MAX_SIDE

    def add(self, frame: Frame) -> None:
        self.frames.append(frame)

    def clear(self) -> None:
        self.frames.clear()

    def __len__(self) -> int:
        return len(self.frames)

    def images(self, kind: str = "state") -> list[np.ndarray]:
        if kind not in ("state", "estimate"):
            raise ValueError("kind must be 'state' or 'estimate'")
        return [f.state if kind == "state" else f.estimate for f in self.frames]

    def labels(self) -> list[str]:
        return [f.label for f in self.frames]

    def nbytes(self) -> int:
        return sum(f.state.nbytes + f.estimate.nbytes for f in self.frames)


def concatenate(stages: list[tuple[str, Trajectory]]) -> Trajectory:
    """The frames of a chain's stages one after another, each labelled with its stage
    (``"1 denoise"``), all at the size of the last stage's frames (an upscaling stage makes the
    photo larger: the earlier frames are enlarged to match), so that a GIF, a video or a contact
    sheet shows them as one run."""
    last = next((t for _, t in reversed(stages) if len(t)), None)
    out = Trajectory(max_side=last.max_side if last is not None else DEFAULT_MAX_SIDE)
    if last is None:
        return out
    h, w = last.frames[-1].state.shape[:2]
    for name, traj in stages:
        for f in traj.frames:
            state, estimate = f.state, f.estimate
            if state.shape[:2] != (h, w):
                state = cv2.resize(state, (w, h), interpolation=cv2.INTER_LINEAR)
                estimate = cv2.resize(estimate, (w, h), interpolation=cv2.INTER_LINEAR)
            out.add(Frame(f.index, f.t, state, estimate, f.seconds, stage=name))
    return out


def _even(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    return img[: h - h % 2, : w - w % 2]


def write_gif(path: str | os.PathLike, images: list[np.ndarray], fps: float = 6.0) -> Path:
    if not images:
        raise ValueError("no frames to write")
    pil = [Image.fromarray(np.ascontiguousarray(im)) for im in images]
    buf = io.BytesIO()
    duration = max(20, round(1000 / fps))
    durations = [duration] * (len(pil) - 1) + [max(duration, 1200)]
    pil[0].save(
        buf,
        format="GIF",
        save_all=True,
        append_images=pil[1:],
        duration=durations,
        loop=0,
        optimize=False,
        disposal=1,
    )
    return atomic_write_bytes(path, buf.getvalue())


def write_mp4(path: str | os.PathLike, images: list[np.ndarray], fps: float = 6.0) -> Path:
    if not images:
        raise ValueError("no frames to write")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    first = _even(images[0])
    h, w = first.shape[:2]
    tmp = str(temp_path_beside(p, ".partial.mp4"))
    try:
        writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        if not writer.isOpened():
            raise OSError("this OpenCV build cannot write MP4 video")
        for im in images:
            writer.write(cv2.cvtColor(_even(im)[:h, :w], cv2.COLOR_RGB2BGR))
        writer.release()
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return p


def write_png_folder(folder: str | os.PathLike, trajectory: Trajectory, kind: str = "state") -> Path:
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    for f, im in zip(trajectory.frames, trajectory.images(kind)):
        stage = f"stage_{f.stage.replace(' ', '_')}_" if f.stage else ""
        name = f"{stage}step_{f.index:03d}_t{f.t:03d}.png"
        atomic_write_bytes(d / name, encode_photo(im / 255.0, "PNG"))
    return d


def contact_sheet(
    images: list[np.ndarray], labels: list[str], columns: int | None = None, cell: int = 256
) -> np.ndarray:
    """A grid of thumbnails (longer side ``cell`` px), each captioned, on a dark background."""
    if not images:
        raise ValueError("no frames for a contact sheet")
    n = len(images)
    columns = columns or min(n, max(1, math.ceil(math.sqrt(n * 1.5))))
    rows = math.ceil(n / columns)
    h0, w0 = images[0].shape[:2]
    s = cell / max(h0, w0)
    th, tw = max(1, round(h0 * s)), max(1, round(w0 * s))
    pad, cap = 8, 22
    sheet = np.full((rows * (th + cap + pad) + pad, columns * (tw + pad) + pad, 3), 32, np.uint8)
    for i, (im, text) in enumerate(zip(images, labels)):
        r, c = divmod(i, columns)
        y, x = pad + r * (th + cap + pad), pad + c * (tw + pad)
        thumb = cv2.resize(im, (tw, th), interpolation=cv2.INTER_AREA)
        sheet[y : y + th, x : x + tw] = thumb
        cv2.putText(
            sheet, text, (x + 2, y + th + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (230, 230, 230), 1, cv2.LINE_AA
        )
    return sheet


def export_trajectory(
    path: str | os.PathLike, trajectory: Trajectory, kind: str = "state", fps: float = 6.0
) -> Path:
    """Write the frames by the path's form: ``.gif``, ``.mp4``, ``.png`` (contact sheet), else a folder."""
    p = Path(path)
    ext = p.suffix.lower()
    images = trajectory.images(kind)
    if ext == ".gif":
        return write_gif(p, images, fps)
    if ext == ".mp4":
        return write_mp4(p, images, fps)
    if ext == ".png":
        sheet = contact_sheet(images, trajectory.labels())
        return atomic_write_bytes(p, encode_photo(sheet / 255.0, "PNG"))
    if ext:
        raise ValueError(f"{p}: trajectories are written as .gif, .mp4, .png (contact sheet) or a folder")
    return write_png_folder(p, trajectory, kind)
