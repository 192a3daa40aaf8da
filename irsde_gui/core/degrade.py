"""Synthetic degradations: what the models learn to undo, and what validation measures.

Every function takes a batch of clean images ``x0`` (B x 3 x H x W, float in
[0, 1], on any device) and a ``torch.Generator`` (on the CPU), and returns the
degraded batch ``mu`` on the same device. All randomness comes from the
generator, so a seed gives the same degradation on every run and device;
the heavy work (convolutions, blending) runs on the images' device, so on a
GPU the degradations cost almost nothing.

- ``denoise``: additive white Gaussian noise, sigma drawn from 0-50 (0-255 scale); training mixes
  it with camera noise and JPEG artefacts (:mod:`.camera`, :func:`denoise_camera_mix`).
- ``deblur``: camera shake (smooth sweeps and looping hand tremor), Gaussian or defocus (disk) kernels up to
  31 px, plus light noise. Never the benchmark kernels: those are for validation.
- ``derain``: several layers of synthetic streaks (density, length, width,
  angle, brightness drawn per layer), screen-blended over the photo.
- ``sr``: x4 antialiased bicubic downsampling (sometimes a slight blur or
  noise first); ``mu`` is the low-res image upsampled back (:func:`upsample`). Training mixes it
  with real-world low-res photos (:mod:`.practical`, :func:`sr_practical_mix`).
- ``inpaint``: free-form brush strokes and boxes covering 5-40 % of the image,
  filled with a constant in ``mu``.
- ``dehaze``: ``I = J t + A (1 - t)``, ``t = exp(-beta d)`` with a random smooth
  depth map ``d`` (farther towards the top), random airlight and ``beta``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from . import camera, holes, practical, rain
from .holes import free_form_mask
from .resize import SR_SCALE, downsample, upsample

Tensor = torch.Tensor


def _uniform(g: torch.Generator, n: int, lo: float, hi: float) -> Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64)


def on_device(g: torch.Generator, device) -> torch.Generator:
    """A generator on ``device`` for large random tensors, seeded from ``g`` (``g`` itself on the CPU).

    Drawing big noise fields where they are used keeps GPU training from waiting on
    the CPU; the result stays a function of ``g``'s seed on each kind of device.
    """
    device = torch.device(device)
    if device.type == "cpu":
        return g
    dg = torch.Generator(device=device)
    dg.manual_seed(int(torch.randint(0, 2**62, (1,), generator=g)))
    return dg


def randn(shape, g: torch.Generator, device, dtype=torch.float32) -> Tensor:
    return torch.randn(shape, generator=on_device(g, device), device=device, dtype=dtype)


def rand(shape, g: torch.Generator, device, dtype=torch.float32) -> Tensor:
    return torch.rand(shape, generator=on_device(g, device), device=device, dtype=dtype)


def _randn_like(x: Tensor, g: torch.Generator) -> Tensor:
    return randn(x.shape, g, x.device, torch.float32).to(x.dtype)


def _np_rng(g: torch.Generator) -> np.random.Generator:
    """A numpy generator seeded from the torch generator (keeps one source of randomness)."""
    return np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=g)))


# ----------------------------------------------------------------- noise
def add_noise(x0: Tensor, sigma: Tensor | float, g: torch.Generator) -> Tensor:
    """``x0 + sigma z`` with per-sample ``sigma`` on the [0, 1] scale (no clipping)."""
    s = torch.as_tensor(sigma, dtype=x0.dtype).to(x0.device).reshape(-1, 1, 1, 1)
    return x0 + s * _randn_like(x0, g)


def denoise(x0: Tensor, g: torch.Generator, max_sigma: float = 50.0) -> Tensor:
    sigma = _uniform(g, x0.shape[0], 0.0, max_sigma / 255.0)
    return add_noise(x0, sigma, g)


# ----------------------------------------------------------------- blur kernels
def motion_kernels(rng: np.random.Generator, count: int, size: int = 31, steps: int = 400) -> np.ndarray:
    """Camera-shake blur: random curved trajectories with jerks and varying speed, rasterised sub-pixel.

    The heading follows a random walk (how much it bends is drawn per kernel),
    with occasional sudden turns; slower stretches leave brighter traces.
    Vectorised over ``count`` kernels; returns ``count x size x size``, each summing to 1.
    """
    length = rng.uniform(0.2, 1.0, (count, 1)) * (size - 4)
    bend = rng.uniform(0.0, 0.25, (count, 1))
    heading = rng.uniform(0, 2 * np.pi, (count, 1)) + np.cumsum(
        bend * rng.normal(size=(count, steps)), axis=1
    )
    jerks = rng.random((count, steps)) < rng.uniform(0, 3.0 / steps, (count, 1))
    heading += np.cumsum(jerks * rng.uniform(-2.0, 2.0, (count, steps)), axis=1)
    wobble = np.cumsum(rng.normal(size=(count, steps)), axis=1)
    wobble -= wobble.mean(axis=1, keepdims=True)
    speed = np.exp(rng.uniform(0, 0.06, (count, 1)) * wobble)
    speed = speed / speed.sum(axis=1, keepdims=True) * length
    pos = np.cumsum(speed * np.exp(1j * heading), axis=1)
    # Keep the whole trace inside the kernel: shrink the rare ones that leave it.
    span = np.maximum(np.ptp(pos.real, axis=1), np.ptp(pos.imag, axis=1))[:, None]
    pos = pos * np.minimum(1.0, (size - 4) / np.maximum(span, 1e-9))
    return _rasterise(_centre(pos, size), size)


def shake_kernels(
    rng: np.random.Generator, count: int, size: int = 31, steps: int = 300, dwell: float = 0.3
) -> np.ndarray:
    """Hand tremor: a point with inertia, jittered at every instant, pulled back towards where it
    started and knocked by occasional jolts. Unlike :func:`motion_kernels`' sweeps, these trails
    loop, hook and double back, as a hand-held camera's do during a long exposure.

    The exposure catches a random part of the tremor, scaled so that its larger extent spans
    30-100 % of the kernel; slower stretches leave brighter traces, ``dwell`` bounding how
    unevenly it moves. Returns ``count x size x size``.
    """
    jitter = rng.uniform(0.03, 0.3, count)
    pull = rng.uniform(0.0, 0.8, count) * 8.0 / steps
    jolts = rng.random((count, steps)) < rng.uniform(0.0, 0.02, (count, 1))
    turns = np.exp(1j * (np.pi + rng.uniform(-0.5, 0.5, (count, steps))))
    noise = rng.normal(size=(count, steps)) + 1j * rng.normal(size=(count, steps))
    v = np.exp(1j * rng.uniform(0, 2 * np.pi, count))
    x = np.zeros(count, complex)
    pos = np.empty((count, steps), complex)
    for t in range(steps):
        pos[:, t] = x
        v = np.where(jolts[:, t], v * turns[:, t], v) + jitter * (noise[:, t] - pull * x)
        v = v / np.maximum(np.abs(v), 1e-9)
        x = x + v
    caught = np.arange(steps)[None] < np.maximum(rng.uniform(0.15, 0.7, (count, 1)) * steps, 8)
    part = np.where(caught, pos, np.nan)
    span = np.maximum(
        np.nanmax(part.real, 1) - np.nanmin(part.real, 1), np.nanmax(part.imag, 1) - np.nanmin(part.imag, 1)
    )[:, None]
    part = part * (rng.uniform(0.3, 1.0, (count, 1)) * (size - 4) / np.maximum(span, 1e-9))
    wobble = np.cumsum(rng.normal(size=(count, steps)), axis=1)
    # How unevenly the camera moves: recorded shakes linger at points and rush between them,
    # leaving faint stretches (up to a third of their mass under 15 % of the peak). Up to
    # 0.3 gives a median 12 % and a 90th percentile 27 % (0.1, the mix until 2026-12-05: 7 %, 12 %).
    linger = np.exp(rng.uniform(0, dwell, (count, 1)) * (wobble - wobble.mean(axis=1, keepdims=True)))
    part = np.where(caught, _centre(part, size, linger * caught), 0)
    return _rasterise(part, size, linger * caught)


def _centre(pos: np.ndarray, size: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Centre each trail (rows of complex positions, NaN where unused) on its centre of mass,
    ``weights`` being how long the camera dwelt at each position (1 where None).

    Where the photo sat under the blur cannot be told from the blurred photo, so blind
    deblurring is scored at the best shift (:func:`.metrics.best_shift`), and a network trained
    on kernels centred this way never has to guess a shift: a blur whose centre of mass is the
    array's centre moves no photo's mean position. A trail is shrunk about that centre, where
    needed, to stay clear of the edge; bilinear splatting (:func:`_rasterise`) keeps the
    centre of mass where it is.
    """
    used = np.isfinite(pos)
    w = used * (1.0 if weights is None else weights)
    filled = np.where(used, pos, 0)
    mass = (w * filled).sum(axis=1, keepdims=True) / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    p = np.where(used, filled - mass, np.nan)
    reach = np.nanmax(np.maximum(np.abs(p.real), np.abs(p.imag)), axis=1, keepdims=True)
    return p * np.minimum(1.0, (size - 4) / 2 / np.maximum(reach, 1e-9))


def _rasterise(pos: np.ndarray, size: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Splat ``count x steps`` complex positions (centred on 0) bilinearly into normalised kernels."""
    count, steps = pos.shape
    c = (size - 1) / 2
    xs, ys = pos.real + c, pos.imag + c
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    w0 = np.ones_like(fx) if weights is None else weights
    ker = np.zeros((count, size, size), np.float64)
    idx = np.repeat(np.arange(count)[:, None], steps, axis=1)
    for dx, dy, w in (
        (0, 0, (1 - fx) * (1 - fy)),
        (1, 0, fx * (1 - fy)),
        (0, 1, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        xi, yi = np.clip(x0 + dx, 0, size - 1), np.clip(y0 + dy, 0, size - 1)
        np.add.at(ker, (idx, yi, xi), w * w0)
    return (ker / ker.sum(axis=(1, 2), keepdims=True)).astype(np.float32)


def gaussian_kernel(rng: np.random.Generator, size: int = 31) -> np.ndarray:
    """Anisotropic Gaussian blur with random widths and angle."""
    s1, s2 = rng.uniform(0.6, 5.0), rng.uniform(0.6, 5.0)
    a = rng.uniform(0, np.pi)
    c = (size - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size] - c
    u = xx * np.cos(a) + yy * np.sin(a)
    v = -xx * np.sin(a) + yy * np.cos(a)
    ker = np.exp(-0.5 * (u**2 / s1**2 + v**2 / s2**2))
    return (ker / ker.sum()).astype(np.float32)


def disk_kernel(rng: np.random.Generator, size: int = 31) -> np.ndarray:
    """Defocus blur: a disk of random radius, antialiased by supersampling."""
    r = rng.uniform(1.0, (size - 1) / 2 * 0.8)
    ss = 4
    c = (size * ss - 1) / 2
    yy, xx = np.mgrid[0 : size * ss, 0 : size * ss] - c
    disk = (xx**2 + yy**2 <= (r * ss) ** 2).astype(np.float64)
    ker = disk.reshape(size, ss, size, ss).mean(axis=(1, 3))
    return (ker / ker.sum()).astype(np.float32)


def random_kernels(rng: np.random.Generator, count: int, size: int = 31) -> np.ndarray:
    """70 % hand tremor, 15 % smooth sweeps, 5 % Gaussian, 10 % defocus.

    Camera shake is the hard part and gets most of the draws. Against the earlier mix (45 %
    tremor, 20 % sweeps, 15 % Gaussian, 20 % defocus), continuing the deblur run from step
    62,147 with each mix for about 3,900 steps scored +0.10 +/- 0.04 dB on the deblur benchmark
    (24 photos, recorded kernels used only to validate) and -0.03 +/- 0.03 dB on the old mix."""
    out = motion_kernels(rng, count, size)
    tremor = shake_kernels(rng, count, size)
    for i, p in enumerate(rng.random(count)):
        if p < 0.7:
            out[i] = tremor[i]
        elif p >= 0.9:
            out[i] = disk_kernel(rng, size)
        elif p >= 0.85:
            out[i] = gaussian_kernel(rng, size)
    return out


def blur(x: Tensor, kernels: Tensor) -> Tensor:
    """Convolve each image with its own kernel (B x k x k), reflect padding."""
    b, c, h, w = x.shape
    k = kernels.shape[-1]
    p = k // 2
    mode = "reflect" if p < min(h, w) else "replicate"
    xp = F.pad(x.reshape(1, b * c, h, w), (p, p, p, p), mode=mode)
    weight = kernels.to(x.device, x.dtype).flip(-1, -2).repeat_interleave(c, dim=0)[:, None]
    return F.conv2d(xp, weight, groups=b * c).reshape(b, c, h, w)


def deblur(x0: Tensor, g: torch.Generator, max_noise: float = 5.0) -> Tensor:
    rng = _np_rng(g)
    kernels = torch.from_numpy(random_kernels(rng, x0.shape[0]))
    sigma = _uniform(g, x0.shape[0], 0.0, max_noise / 255.0)
    return add_noise(blur(x0, kernels), sigma, g)


def blur_with(x0: Tensor, kernel: np.ndarray, noise_sigma: float, g: torch.Generator) -> Tensor:
    """A given kernel (e.g. a benchmark kernel) plus Gaussian noise: for validation."""
    k = np.asarray(kernel, np.float32)
    k = k / k.sum()
    kt = torch.from_numpy(k)[None].expand(x0.shape[0], -1, -1)
    return add_noise(blur(x0, kt), torch.full((x0.shape[0],), noise_sigma), g)


# ----------------------------------------------------------------- rain
def _line_kernels(lengths, angles, widths, size: int) -> Tensor:
    c = (size - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size] - c
    ks = []
    for L, a, w in zip(lengths, angles, widths):
        u = xx * np.cos(a) + yy * np.sin(a)
        v = -xx * np.sin(a) + yy * np.cos(a)
        k = np.clip(L / 2 - np.abs(u) + 0.5, 0, 1) * np.exp(-0.5 * (v / max(w, 0.3)) ** 2)
        ks.append(k / k.sum())
    return torch.from_numpy(np.stack(ks).astype(np.float32))


def rain_layer(shape, g: torch.Generator, device, size: int = 31) -> Tensor:
    """One layer of streaks for each image: sparse drops smeared along a direction."""
    b, _, h, w = shape
    density = _uniform(g, b, 0.002, 0.03)
    dens = density.view(-1, 1, 1, 1).float().to(device)
    drops = (rand((b, 1, h, w), g, device) < dens).float()
    drops = drops * (0.5 + 0.5 * rand((b, 1, h, w), g, device))
    lengths = _uniform(g, b, 6, size - 1).numpy()
    angles = (math.pi / 2 + _uniform(g, b, -0.5, 0.5)).numpy()
    widths = _uniform(g, b, 0.3, 1.2).numpy()
    kernels = _line_kernels(lengths, angles, widths, size)
    streaks = blur(drops, kernels)
    bright = _uniform(g, b, 0.6, 1.0).to(device, torch.float32).view(-1, 1, 1, 1)
    streaks = streaks / streaks.amax(dim=(2, 3), keepdim=True).clamp_min(1e-6)
    return (streaks * bright).clamp(0, 1)


def derain(x0: Tensor, g: torch.Generator, layers: tuple[int, int] = (1, 3)) -> Tensor:
    """Streaks made as photo editors make rain (sparse drops smeared along a direction), in
    ``layers`` (lo, hi) layers: the evaluation's light rain draws 1-3."""
    layers = int(torch.randint(layers[0], layers[1] + 1, (1,), generator=g))
    rain = torch.zeros_like(x0[:, :1])
    for _ in range(layers):
        rain = 1 - (1 - rain) * (1 - rain_layer(x0.shape, g, x0.device).to(x0.dtype))
    return 1 - (1 - x0) * (1 - rain)


# ----------------------------------------------------------------- super-resolution
def sr_lowres(x0: Tensor, g: torch.Generator) -> Tensor:
    """The low-res photo: sometimes slightly blurred or noisy first, for robustness."""
    b = x0.shape[0]
    x = x0
    if bool(torch.rand(1, generator=g) < 0.3):
        rng = _np_rng(g)
        ks = []
        for _ in range(b):
            s = rng.uniform(0.2, 1.2)
            ax = np.arange(7) - 3
            k1 = np.exp(-0.5 * (ax / s) ** 2)
            ks.append(np.outer(k1, k1) / np.outer(k1, k1).sum())
        x = blur(x, torch.from_numpy(np.stack(ks).astype(np.float32)))
    lr = downsample(x)
    if bool(torch.rand(1, generator=g) < 0.2):
        lr = add_noise(lr, _uniform(g, b, 0, 3 / 255), g).clamp(0, 1)
    return lr


def sr(x0: Tensor, g: torch.Generator) -> Tensor:
    h, w = x0.shape[-2:]
    if h % SR_SCALE or w % SR_SCALE:
        raise ValueError(f"sr training patches must be multiples of {SR_SCALE}, got {h}x{w}")
    return upsample(sr_lowres(x0, g))


# ----------------------------------------------------------------- inpainting masks
class MaskBank:
    """Pre-drawn 256x256 training masks, served as random crops, flips and rotations.

    Drawing strokes costs about a millisecond per mask on the CPU, which would hold
    back GPU training; the bank is drawn once per process from a fixed seed.
    """

    SIZE = 256

    def __init__(self, count: int = 1024, lo: float = 0.05, hi: float = 0.40, seed: int = 12345):
        rng = np.random.default_rng(seed)
        self.lo, self.hi = lo, hi
        self.masks = np.stack([free_form_mask(rng, self.SIZE, self.SIZE, lo, hi) for _ in range(count)])

    def draw(self, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
        if h > self.SIZE or w > self.SIZE:
            return free_form_mask(rng, h, w, self.lo, self.hi)
        for _ in range(8):
            m = np.rot90(self.masks[rng.integers(len(self.masks))], int(rng.integers(4)))
            if rng.random() < 0.5:
                m = m[:, ::-1]
            y, x = int(rng.integers(0, self.SIZE - h + 1)), int(rng.integers(0, self.SIZE - w + 1))
            crop = m[y : y + h, x : x + w]
            if self.lo <= crop.mean() <= self.hi:
                return np.ascontiguousarray(crop)
        return free_form_mask(rng, h, w, self.lo, self.hi)


_BANKS: dict[tuple[float, float], MaskBank] = {}


def masks(shape, g: torch.Generator, lo: float = 0.05, hi: float = 0.40) -> Tensor:
    """Training masks (B x 1 x H x W, 1 = hole) covering ``lo``..``hi`` of each image."""
    b, _, h, w = shape
    rng = _np_rng(g)
    bank = _BANKS.get((lo, hi))
    if bank is None:
        bank = _BANKS[(lo, hi)] = MaskBank(lo=lo, hi=hi)
    return torch.from_numpy(np.stack([bank.draw(rng, h, w) for _ in range(b)]))[:, None]


def apply_mask(x0: Tensor, mask: Tensor, fill: float) -> Tensor:
    """``x0`` with the constant ``fill`` where ``mask`` is 1 (the inpainting task's convention)."""
    m = mask.to(x0.device, x0.dtype)
    return x0 * (1 - m) + fill * m


def inpaint(x0: Tensor, g: torch.Generator, fill: float) -> Tensor:
    return apply_mask(x0, masks(x0.shape, g), fill)


# ----------------------------------------------------------------- haze
def depth_maps(shape, g: torch.Generator, device, max_zoom: float = 1.0) -> Tensor:
    """Smooth random depth in [0, 1], on average larger towards the top of the frame.

    With ``max_zoom`` > 1 each map is a random window of a map made for a photo up to that many
    times larger, so a training patch sees haze as part of a whole photo sees it: often nearly
    uniform, without the clear foreground that a map spanning [0, 1] inside every patch gives."""
    b, _, h, w = shape
    if max_zoom > 1.0:
        zooms = _uniform(g, b, 1.0, max_zoom).tolist()
        maps = []
        for z in zooms:
            hh, ww = max(h, round(h * z)), max(w, round(w * z))
            big = depth_maps((1, 1, hh, ww), g, device)
            top = int(torch.randint(0, hh - h + 1, (1,), generator=g))
            left = int(torch.randint(0, ww - w + 1, (1,), generator=g))
            maps.append(big[..., top : top + h, left : left + w])
        return torch.cat(maps)
    # The few random numbers come from ``g`` on the CPU; the maps (up to 16 times a patch's area
    # when zoomed) are interpolated where they are used, which kept a GPU run waiting on the CPU.
    coarse = torch.rand((b, 1, 4, 4), generator=g).to(device)
    fine = torch.rand((b, 1, 8, 8), generator=g).to(device)
    d = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)
    d = d + 0.3 * F.interpolate(fine, size=(h, w), mode="bicubic", align_corners=False)
    ramp = torch.linspace(1.0, 0.0, h, device=device).view(1, 1, h, 1)
    prior = _uniform(g, b, 0.0, 1.0).float().to(device).view(-1, 1, 1, 1)
    d = d + prior * ramp
    lo = d.amin(dim=(2, 3), keepdim=True)
    hi = d.amax(dim=(2, 3), keepdim=True)
    return (d - lo) / (hi - lo).clamp_min(1e-6)


def haze(x0: Tensor, depth: Tensor, beta: Tensor, airlight: Tensor) -> Tensor:
    """The atmospheric scattering model ``I = J t + A (1 - t)``, ``t = exp(-beta d)``."""
    t = torch.exp(-beta.to(x0).view(-1, 1, 1, 1) * depth.to(x0))
    return x0 * t + airlight.to(x0).view(-1, 3, 1, 1) * (1 - t)


def dehaze(x0: Tensor, g: torch.Generator, max_zoom: float = 1.0) -> Tensor:
    b = x0.shape[0]
    depth = depth_maps(x0.shape, g, x0.device, max_zoom)
    beta = _uniform(g, b, 0.4, 2.2).float()
    a = _uniform(g, b, 0.7, 1.0).float().view(-1, 1)
    tint = 1 + _uniform(g, b * 3, -0.05, 0.05).float().view(-1, 3)
    return haze(x0, depth, beta, (a * tint).clamp(0, 1))


def dehaze_patches(x0: Tensor, g: torch.Generator) -> Tensor:
    """Training: haze on patches as it lies on photos up to 4 times larger (see :func:`depth_maps`).
    A model trained on haze spanning the full depth range inside each 128 px patch beat the dark
    channel prior by 4.3 dB on 128 px crops but lost to it by 1.6 dB on whole CBSD68 photos."""
    return dehaze(x0, g, max_zoom=4.0)


# ----------------------------------------------------------------- training mixes
# Each returns (clean, degraded): a mix may change the clean photo too (e.g. make it black and
# white). Which task trains on which is for the task to say (``Task.training_mixes``).
def denoise_camera_mix(
    x0: Tensor,
    g: torch.Generator,
    colour_nr: bool = False,
    sharpen: float = 0.0,
    fade: float = 0.0,
    shape: float = 0.0,
) -> tuple[Tensor, Tensor]:
    """What people bring to denoise: camera noise (58 %), white Gaussian noise (25 %, so the blind
    Gaussian task holds), and clean photos saved as poor JPEGs (17 %; 12 % until step 19,000 of
    the run that started the mix, which then removed 1.0 of the 1.2 dB its floor asks at JPEG
    quality 20); 8 % of photos black-and-white. ``colour_nr``: the camera noise often reduced as
    cameras do, colour apart from brightness (:func:`.camera.colour_noise_reduction`);
    ``sharpen``: the share of camera photos whose grain the camera sharpened
    (:func:`.camera.sharpen_grain`); ``fade``: whose colour noise it weakened
    (:func:`.camera.fade_colour`); ``shape``: whose noise its tone curve weakened in the shadows
    and highlights (:func:`.camera.shape_by_tone`)."""
    b = x0.shape[0]
    kind = torch.rand(b, generator=g)
    grey = (torch.rand(b, generator=g) < 0.08).view(-1, 1, 1, 1).to(x0.device)
    x0 = torch.where(grey, camera.greyscale(x0), x0)
    mu = denoise(x0, g)
    jpeg, cam = (kind >= 0.25) & (kind < 0.42), kind >= 0.42
    if jpeg.any():
        mu[jpeg.to(x0.device)] = camera.jpeg_only(x0[jpeg.to(x0.device)], g)
    if cam.any():
        mu[cam.to(x0.device)] = camera.camera_noise(
            x0[cam.to(x0.device)], g, colour_nr=colour_nr, sharpen=sharpen, fade=fade, shape=shape
        )
    return x0, mu


def denoise_colour_nr_mix(x0: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """:func:`denoise_camera_mix` with the colour blotches in-camera noise reduction leaves: on
    the real photos (PolyU) the camera-mix model lost to non-local means on, it left all the
    colour noise 2-8 px wide (109 %, ``tools/noise_bands.py``). Tried on 2026-12-04 (5,300 steps
    from the shipped model): PolyU 37.84 dB against 37.98, the colour noise left as before (106 %)
    and more of the grain: that colour difference is not noise a denoiser can tell, and this mix
    is not the default."""
    return denoise_camera_mix(x0, g, colour_nr=True)


def denoise_sharpened_mix(x0: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """:func:`denoise_camera_mix` with the grain of half the camera photos sharpened, as some
    cameras sharpen after their noise reduction. Tried on 2026-12-04 against the fine grain the
    camera-mix model left on PolyU (54 %), then measured to move the grain away from PolyU's
    (``tools/noise_stats.py``): an option, not the default."""
    return denoise_camera_mix(x0, g, sharpen=0.5)


def denoise_faded_colour_mix(x0: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """:func:`denoise_camera_mix` with the colour noise of half the camera photos weakened, as
    cameras' colour noise reduction leaves it (:func:`.camera.fade_colour`): real camera JPEGs
    carry grain with little colour noise, which the camera mix alone rarely shows."""
    return denoise_camera_mix(x0, g, fade=0.5)


def denoise_tone_shaped_mix(x0: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """:func:`denoise_faded_colour_mix` with the noise of three camera photos in four weakened in
    the shadows and highlights, as camera JPEGs carry it (:func:`.camera.shape_by_tone`): the
    model trained without it removed a fifth too little of PolyU's grain (its change scaled by 1.2
    in brightness scored +0.09 dB there, while on white Gaussian noise 1.0 scores best)."""
    return denoise_camera_mix(x0, g, fade=0.5, shape=0.75)


def _sr_shares(x0: Tensor, g: torch.Generator, histories) -> tuple[Tensor, Tensor]:
    """×4 pairs whose small photo each of ``histories`` ((low, high, make) on one uniform draw per
    photo, made in that order) makes for its band of the batch; clean bicubic shrinks elsewhere."""
    u = torch.rand(x0.shape[0], generator=g).to(x0.device)
    lr = sr_lowres(x0, g)
    for low, high, make in histories:
        band = (u >= low) & (u < high)
        if band.any():
            lr[band] = make(x0[band], g).to(lr.dtype)
    return x0, upsample(lr)


def sr_practical_mix(x0: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """×4 from small photos as people have them (:mod:`.practical`: blur, resizes, noise, JPEG,
    twice) for two thirds of the batch, clean bicubic shrinks for the rest, so that clean images
    keep their detail."""
    return _sr_shares(x0, g, [(0.0, 2 / 3, practical.practical_lowres)])


def sr_photos_mix(x0: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """×4 from small photos, a third each: saved once (:func:`.practical.saved_once_lowres`: slight
    blur, one shrink, a little noise, one JPEG: most photos from phones and the web), through the
    two-round history of :func:`.practical.practical_lowres`, and clean bicubic shrinks."""
    return _sr_shares(
        x0, g, [(0.0, 1 / 3, practical.saved_once_lowres), (2 / 3, 1.0, practical.practical_lowres)]
    )


def sr_web_mix(x0: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """×4 from small photos weighted towards the commonest: half saved once
    (:func:`.practical.saved_once_lowres`), a third through the two-round history of
    :func:`.practical.practical_lowres`, a sixth clean bicubic shrinks. For the shipped model's
    low-res member: the clean member beside it keeps clean images' detail."""
    return _sr_shares(
        x0, g, [(0.0, 1 / 2, practical.saved_once_lowres), (1 / 2, 5 / 6, practical.practical_lowres)]
    )


def derain_mix(x0: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Rain from drizzle to downpour at several depths, with its veil, splashes and JPEG
    (:mod:`.rain`), for most of the batch; the streaks of :func:`derain` for the rest, in up to
    six layers, as dense as a downpour drawn that way (the downpour network, which saw at most
    three, scored 2.8 dB under the light-rain network on three times the light preset's streaks)."""
    mu = derain(x0, g, layers=(1, 6))
    heavy = (torch.rand(x0.shape[0], generator=g) < 0.7).to(x0.device)
    if heavy.any():
        mu[heavy] = rain.rain(x0[heavy], g, photo_size=(320, 1024)).to(mu.dtype)
    return x0, mu


def inpaint_removal(
    x0: Tensor, g: torch.Generator, fill: float, objects: float = holes.REMOVAL_OBJECTS
) -> tuple[Tensor, Tensor]:
    """Holes as people paint them to remove things (:func:`holes.removal_mask`: objects, wide
    strokes, boxes, thin strokes; up to half the patch), holding ``fill``; ``objects`` is the
    share of object blobs (the 'objects' mix: 0.8, as most removals are of a thing)."""
    b, _, h, w = x0.shape
    rng = _np_rng(g)
    m = torch.from_numpy(np.stack([holes.removal_mask(rng, h, w, objects=objects) for _ in range(b)]))
    return x0, apply_mask(x0, m[:, None], fill)
