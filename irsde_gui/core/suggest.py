"""What a photo needs: cheap classic estimates of its noise, JPEG blocks, blur, haze and size.

:func:`suggest` measures a photo (float RGB in [0, 1], as :func:`.imageio.read_photo` gives it)
and returns its :class:`Finding` s plus at most one suggested task with a line of text such as
"Looks noisy (σ ≈ 9) — Denoise suggested" or "Small (480×320): Upscale ×4?". It restores
nothing: the app shows the line (a click selects the task) and ``irsde suggest`` prints it.

How each is measured, and why so:

- **noise** (σ on the 0-255 scale), on up to 100 full-resolution tiles of 64 px: the smaller of
  two estimates. (1) The deviation of the residual of a Gaussian low-pass (σ = 2 px) in 16×16
  blocks, 10th percentile over the blocks, clipped channels left out: the flattest parts of a
  photo carry its noise but no structure, and the residual keeps noise that is correlated over
  a pixel or two (demosaicing, camera processing), which a one-pixel detail would miss; JPEG's
  flat blocks have no residual, so compression does not count. Where a photo has no flat part
  texture raises it, so (2) the weakest principal directions of the calmer half of 5×5 colour
  patches (Chen, Zhu and Heng, ICCV 2015), at full and at half resolution: texture lives in a
  few directions and noise in all, so texture does not raise this one.
- **JPEG blocks**: the mean step between neighbouring pixels across the 8-px grid over the mean
  step inside the blocks (the grid's phase found, so a cropped JPEG counts), the smaller of the
  horizontal and vertical ratios; about 1 without blocks.
- **blur** (σ in px of the photo), on a copy at most 1024 px wide: a step edge blurred by σ_e
  has a peak gradient ∝ 1/σ_e, and ∝ 1/sqrt(σ_e² + s²) after a further blur s, so the ratio
  of the two at the strongest edges gives σ_e. The median per edge direction, the widest
  direction counted: a shake blurs edges across it only.
- **haze**: the median dark channel (the darkest colour in a patch, He, Sun and Tang 2009:
  near black in most of a clear photo, lifted everywhere by haze) less the median colourfulness
  (haze greys colours; a pale but colourful photo is not hazy). Not judged on a grey photo.
- **size**: a photo whose longer side is under 800 px suggests ×4 upscaling.

Noise and JPEG blocks come first (the denoise model removes both), then blur, haze, size.

Speed (:func:`benchmark`, median of 9): a 12 MP photo (4000×3000) takes 0.11-0.13 s of CPU
time, 0.17-0.20 s of wall time, measured on a 2-core laptop CPU that two training runs kept
busy (load 4-5); the noise (50 ms), the blur (35 ms) and the working copy (20 ms) dominate.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from .tasks import TASKS

NOISY_SIGMA = 5.0  # noise σ (0-255) from which Denoise is suggested
BLOCKY = 1.25  # grid step / in-block step ratio from which the JPEG blocks are worth removing
BLURRED_PX = 1.5  # edge blur σ (px of the working copy) from which Deblur is suggested
HAZY = 0.28  # dark channel less colourfulness from which Dehaze is suggested
SMALL_SIDE = 800  # px: a photo whose longer side is shorter suggests ×4 upscaling

WORK_SIDE = 1024  # longer side of the copy that blur is measured on
HAZE_SIDE = 256  # longer side of the thumbnail that haze is measured on
TILE = 64  # inner size of a full-resolution tile for noise and JPEG blocks
MARGIN = 8  # a tile's margin: the low-pass reaches 6 px, and 8 keeps the tile on the JPEG grid
MAX_TILES = 100  # 0.4 MP of tiles
BLOCK = 16
NOISE_LOWPASS = 2.0
PCA_PATCH = 5
EDGE_SCALE = 2.5  # the further blur of the blur estimate, px
EDGE_FLOOR = 0.01  # the weakest edge counted (brightness per px after the further blur)
EDGE_SHARP = 0.85  # the σ_e of a perfectly sharp edge (pixel grid and Sobel), taken out
_INNER = np.s_[:, MARGIN : MARGIN + TILE, MARGIN : MARGIN + TILE]


@dataclass(frozen=True)
class Finding:
    """One measurement: ``name`` (noise, jpeg, blur, haze, size), its value (None: not judged),
    whether it calls for a restoration, and a short phrase."""

    name: str
    value: float | None
    unit: str
    flagged: bool
    text: str


@dataclass(frozen=True)
class Suggestion:
    """The findings on a photo and the one task suggested (None: nothing to fix found)."""

    width: int
    height: int
    findings: tuple[Finding, ...]
    task: str | None
    text: str  # the line to show; "" when there is nothing to suggest
    seconds: float = 0.0

    def finding(self, name: str) -> Finding | None:
        return next((f for f in self.findings if f.name == name), None)

    def summary(self) -> str:
        """The findings in a few words: ``noise σ 9.1, JPEG blocks 1.02, edge blur 0.4 px, ...``."""
        return ", ".join(f.text for f in self.findings if f.text)

    def to_dict(self) -> dict:
        return {
            "width": self.width,
            "height": self.height,
            "task": self.task,
            "text": self.text,
            "findings": {f.name: {k: v for k, v in asdict(f).items() if k != "name"} for f in self.findings},
            "seconds": round(self.seconds, 4),
        }


# ---------------------------------------------------------------- what is measured
def _rgb(rgb: np.ndarray) -> np.ndarray:
    a = np.asarray(rgb)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] == 0 or 0 in a.shape[:2]:
        raise ValueError(f"not a photo: an array of shape {a.shape}")
    if a.shape[2] < 3:
        a = np.repeat(a[..., :1], 3, axis=2)
    a = a[..., :3]
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    if a.dtype == np.uint16:
        return a.astype(np.float32) / 65535.0
    return a.astype(np.float32, copy=False)


def full_res_tiles(rgb: np.ndarray) -> np.ndarray | None:
    """Up to ``MAX_TILES`` tiles of (TILE + 2 MARGIN)² px spread evenly over the photo at full
    resolution, each starting on the 8-px JPEG grid; None for a photo too small to measure."""
    h, w = rgb.shape[:2]
    size = TILE + 2 * MARGIN
    if min(h, w) < size:
        return None
    ys = np.arange(0, h - size + 1, TILE)
    xs = np.arange(0, w - size + 1, TILE)
    if len(ys) * len(xs) > MAX_TILES:
        ny = max(1, min(len(ys), round(np.sqrt(MAX_TILES * h / w))))
        nx = max(1, min(len(xs), MAX_TILES // ny))
        ys = np.linspace(0, h - size, ny).astype(int) // 8 * 8
        xs = np.linspace(0, w - size, nx).astype(int) // 8 * 8
    return np.stack([rgb[y : y + size, x : x + size] for y in ys for x in xs])


def working_copy(rgb: np.ndarray, side: int = WORK_SIDE) -> tuple[np.ndarray, float]:
    """The photo with its longer side at most ``side`` px, and the factor it was shrunk by."""
    h, w = rgb.shape[:2]
    factor = max(h, w) / side
    if factor <= 1:
        return np.ascontiguousarray(rgb), 1.0
    size = (max(1, round(w / factor)), max(1, round(h / factor)))
    if factor > 2:  # a quick pick of pixels to twice the size, then an average of 2×2
        rgb = cv2.resize(rgb, (size[0] * 2, size[1] * 2), interpolation=cv2.INTER_NEAREST)
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), factor


def _grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def _stacked(tiles: np.ndarray) -> np.ndarray:
    n, s = tiles.shape[:2]
    return tiles.reshape(n * s, *tiles.shape[2:])


# ---------------------------------------------------------------- noise
def _white_noise_gain() -> float:
    """The share of white noise's σ that the low-pass residual keeps (0.98 for σ = 2)."""
    k = cv2.getGaussianKernel(2 * int(np.ceil(3 * NOISE_LOWPASS)) + 1, NOISE_LOWPASS).ravel()
    g2 = np.outer(k, k)
    return float(np.sqrt(1 - 2 * g2[g2.shape[0] // 2, g2.shape[1] // 2] + (g2**2).sum()))


_GAIN = _white_noise_gain()
_PERCENTILE = 10
_PERCENTILE_BIAS = 0.97  # the 10th percentile of 16×16×3 block deviations of pure noise, in σ
_CALM_HALF = 0.93  # white noise's σ as the calmer half of 5×5×3 patches shows it (measured)


def _block_means(a: np.ndarray) -> np.ndarray:
    """Means over BLOCK×BLOCK blocks of a stack of TILE×TILE tiles: (n, TILE, TILE, c) -> (n k², c)."""
    n, c = a.shape[0], a.shape[-1]
    k = TILE // BLOCK
    stacked = np.ascontiguousarray(a).reshape(n * TILE, TILE, c)
    return cv2.resize(stacked, (k, n * k), interpolation=cv2.INTER_AREA).reshape(-1, c)


def flat_noise(tiles: np.ndarray) -> float:
    """Noise σ (0-255) of the flattest 16×16 blocks: texture can only raise it."""
    low = cv2.GaussianBlur(_stacked(tiles), (0, 0), NOISE_LOWPASS, borderType=cv2.BORDER_REFLECT)
    res = (_stacked(tiles) - low).reshape(tiles.shape)[_INNER]
    var = np.maximum(_block_means(res * res) - _block_means(res) ** 2, 0.0)
    raw = tiles[_INNER]
    clipped = ((raw <= 0.5 / 255) | (raw >= 254.5 / 255)).astype(np.float32)
    # A channel clipped at black or white has no noise left (a blue sky's saturated blue): such
    # block channels are left out, the block's other channels still count.
    ok = _block_means(clipped) <= 0.01
    count = ok.sum(axis=-1)
    dev = np.sqrt((var * ok).sum(axis=-1) / np.maximum(count, 1))[count > 0]
    if dev.size < 8:
        dev = np.sqrt(var.mean(axis=-1))
    return float(np.percentile(dev, _PERCENTILE) / (_GAIN * _PERCENTILE_BIAS) * 255.0)


def pca_noise(images: np.ndarray, stride: int) -> float:
    """Noise σ (0-255) in the weakest principal directions of 5×5 colour patches (Chen, Zhu and
    Heng, ICCV 2015): texture does not raise it, but it sees only the part of the noise that is
    white at this scale."""
    p = PCA_PATCH
    win = np.lib.stride_tricks.sliding_window_view(images, (p, p), axis=(1, 2))[:, ::stride, ::stride]
    x = win.reshape(-1, 3 * p * p)
    unclipped = ((x > 0.5 / 255) & (x < 254.5 / 255)).all(axis=1)
    if unclipped.sum() >= 8 * x.shape[1]:
        x = x[unclipped]
    # The calmer half of the patches: edges (which span many directions between them) go, noise
    # is everywhere and stays (it reads 0.93 of itself there, corrected below).
    per_channel = x.reshape(len(x), 3, p * p)
    energy = ((per_channel - per_channel.mean(axis=2, keepdims=True)) ** 2).sum(axis=(1, 2))
    x = x[energy <= np.median(energy)]
    x = x - x.mean(axis=0)
    # OpenCV's product and solver, not NumPy's: NumPy's BLAS threads spin after each call and
    # took 30 ms of CPU (up to a second on a busy CPU) for this 75×75 problem.
    cov = cv2.gemm(x, x, 1.0 / max(len(x), 1), None, 0.0, flags=cv2.GEMM_1_T)
    lam = cv2.eigen(cov.astype(np.float64))[1].ravel()  # descending
    for i in range(lam.size):  # the longest tail whose mean is also its median: noise alone
        tail = lam[i:]
        if (tail > tail.mean()).sum() >= (tail < tail.mean()).sum():
            return float(np.sqrt(max(tail.mean(), 0.0)) * 255.0 / _CALM_HALF)
    return float(np.sqrt(max(lam[-1], 0.0)) * 255.0 / _CALM_HALF)


def noise_sigma(tiles: np.ndarray) -> float:
    """Noise σ (0-255) from full-resolution tiles: the flat-block estimate, unless the patch
    estimate (at full resolution, or at half, where noise correlated over a pixel or two is
    white again) shows it was raised by texture."""
    inner = np.ascontiguousarray(tiles[_INNER])
    n, s = inner.shape[:2]
    half = cv2.resize(inner.reshape(n * s, s, 3), (s // 2, n * s // 2), interpolation=cv2.INTER_AREA)
    texture_free = max(pca_noise(inner, 5), 2 * pca_noise(half.reshape(n, s // 2, s // 2, 3), 3))
    return min(flat_noise(tiles), texture_free)


# ---------------------------------------------------------------- JPEG blocks
def blockiness(tiles: np.ndarray) -> float:
    """The JPEG grid's strength: mean step across the 8-px grid / mean step inside the blocks,
    the smaller of the horizontal and vertical ratios (about 1 for a photo without blocks)."""
    grey = _grey(_stacked(tiles)).reshape(tiles.shape[:3])[_INNER]
    ratios = []
    for axis in (1, 2):
        step = np.minimum(np.abs(np.diff(grey, axis=axis)), 0.1)  # edges must not drown the grid
        profile = step.mean(axis=(0, 3 - axis))  # the mean step at each position in a tile
        phase = np.array([profile[p::8].mean() for p in range(8)])
        grid = int(np.argmax(phase))  # 7 when the photo is not cropped since it was a JPEG
        ratios.append(phase[grid] / max(np.delete(phase, grid).mean(), 1e-6))
    return float(min(ratios))


# ---------------------------------------------------------------- blur
# 3×3 neighbourhoods along a direction through the centre: 0 horizontal, 1 down-right, 2 down, 3
# down-left. An edge point is a maximum of the gradient along its gradient's direction.
_LINE = [
    np.array(k, np.uint8)
    for k in (
        [[0, 0, 0], [1, 1, 1], [0, 0, 0]],
        [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
        [[0, 1, 0], [0, 1, 0], [0, 1, 0]],
        [[0, 0, 1], [0, 1, 0], [1, 0, 0]],
    )
]


def _gradient(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (
        cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8),
        cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8),
    )


def edge_blur(grey: np.ndarray) -> float | None:
    """The blur σ (px) of a photo's strongest edges, the widest direction counted; None where
    there are too few edges to judge."""
    h, w = grey.shape
    if min(h, w) < 32:
        return None
    fine = cv2.dilate(cv2.magnitude(*_gradient(grey)), np.ones((3, 3), np.uint8))  # edges move a pixel
    cx, cy = _gradient(cv2.GaussianBlur(grey, (0, 0), EDGE_SCALE))
    coarse = cv2.magnitude(cx, cy)
    ax, ay = np.abs(cx), np.abs(cy)
    tan = np.float32(np.tan(np.pi / 8))
    across = ay <= tan * ax
    down = ax <= tan * ay
    diagonal = ~(across | down)
    falling = (cx * cy) > 0
    peak = np.zeros(coarse.shape, bool)
    for mask, line in zip((across, diagonal & falling, down, diagonal & ~falling), _LINE, strict=True):
        peak |= mask & (coarse >= cv2.dilate(coarse, line))
    m = 8
    peak[:m] = peak[-m:] = False
    peak[:, :m] = peak[:, -m:] = False
    peak &= coarse >= EDGE_FLOOR
    ys, xs = np.nonzero(peak)
    if ys.size < 50:
        return None
    strength = coarse[ys, xs]
    direction = np.where(across[ys, xs], 0, np.where(down[ys, xs], 2, np.where(falling[ys, xs], 1, 3)))
    ratio = fine[ys, xs] / strength
    sigma_e = np.minimum(EDGE_SCALE / np.sqrt(np.maximum(ratio**2 - 1, 1e-3)), 20.0)
    widths = []
    for d in range(4):  # the strongest fifth of each direction's edges
        here = direction == d
        if here.sum() < max(20, 0.05 * ys.size):
            continue
        top = strength[here] >= np.percentile(strength[here], 80)
        widths.append(float(np.median(sigma_e[here][top])))
    if not widths:
        return None
    return float(np.sqrt(max(max(widths) ** 2 - EDGE_SHARP**2, 0.0)))


# ---------------------------------------------------------------- haze
def haze_level(rgb: np.ndarray) -> float | None:
    """Median dark channel less median colourfulness (max - min of the channels), on a thumbnail
    with patches of 1/40 of it; None for a grey photo, which has no colour to judge by."""
    small, _ = working_copy(rgb, HAZE_SIDE)
    lo = cv2.min(cv2.min(small[..., 0], small[..., 1]), small[..., 2])
    hi = cv2.max(cv2.max(small[..., 0], small[..., 1]), small[..., 2])
    if float(np.percentile(hi - lo, 99)) < 2 / 255:
        return None
    patch = max(3, round(max(lo.shape) / 40)) | 1
    dark = cv2.erode(lo, np.ones((patch, patch), np.uint8))
    return float(np.median(dark) - np.median(hi - lo))


# ---------------------------------------------------------------- the suggestion
def suggest(rgb: np.ndarray) -> Suggestion:
    """Measure a photo (H×W×3, float in [0, 1] or 8/16-bit) and suggest at most one task."""
    started = time.perf_counter()
    rgb = _rgb(rgb)
    h, w = rgb.shape[:2]
    tiles = full_res_tiles(rgb)
    work, factor = working_copy(rgb)

    sigma = noise_sigma(tiles) if tiles is not None else None
    blocks = blockiness(tiles) if tiles is not None else None
    blur = edge_blur(_grey(work))
    haze = haze_level(work)
    noisy = sigma is not None and sigma >= NOISY_SIGMA
    blocky = blocks is not None and blocks >= BLOCKY
    blurred = blur is not None and blur >= BLURRED_PX
    hazy = haze is not None and haze >= HAZY
    small = max(h, w) < SMALL_SIDE
    blur_px = None if blur is None else blur * factor  # in px of the photo itself

    findings = (
        Finding("noise", _r(sigma), "sigma (0-255)", noisy, _say("noise σ {:.1f}", sigma)),
        Finding("jpeg", _r(blocks), "grid step ratio", blocky, _say("JPEG blocks {:.2f}", blocks)),
        Finding("blur", _r(blur_px), "px", blurred, _say("edge blur {:.1f} px", blur_px)),
        Finding("haze", _r(haze), "dark channel - colourfulness", hazy, _say("haze {:.2f}", haze, 0.0)),
        Finding("size", float(max(h, w)), "px", small, f"{w}×{h}"),
    )
    said = {
        "noise": f"Looks noisy (σ ≈ {sigma or 0:.0f}) — {{}} suggested",
        "jpeg": "Blocky JPEG compression — {} suggested",
        "blur": f"Looks blurred (edges ≈ {blur_px or 0:.1f} px) — {{}} suggested",
        "haze": "Looks hazy — {} suggested",
        "size": f"Small ({w}×{h}): {{}}?",
    }
    for f in findings:  # the first flagged finding a task fixes decides
        task = next((t for t in TASKS.values() if f.flagged and f.name in t.fixes), None)
        if task is not None:
            text = said[f.name].format(task.label)
            return Suggestion(w, h, findings, task.name, text, time.perf_counter() - started)
    return Suggestion(w, h, findings, None, "", time.perf_counter() - started)


def _r(v: float | None) -> float | None:
    return None if v is None else round(float(v), 3)


def _say(template: str, v: float | None, floor: float | None = None) -> str:
    """A finding in words ("" where it was not judged); ``floor``: the least value shown."""
    return "" if v is None else template.format(v if floor is None else max(v, floor))


def benchmark(repeats: int = 7, size: tuple[int, int] = (3000, 4000)) -> dict[str, float]:
    """Median wall and CPU seconds of :func:`suggest` on a synthetic photo of ``size`` (h, w)."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rng = np.random.default_rng(0)
    rgb = np.stack([0.5 + 0.3 * np.sin(xx / 40), 0.5 + 0.3 * np.cos(yy / 55), (xx + yy) / (h + w)], axis=2)
    rgb = np.clip(rgb + rng.normal(0, 4 / 255, rgb.shape), 0, 1).astype(np.float32)
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        suggest(rgb)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return {"wall_s": float(np.median(wall)), "cpu_s": float(np.median(cpu)), "megapixels": h * w / 1e6}
