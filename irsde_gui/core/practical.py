"""Low-resolution photos as they really come, for training and evaluating ×4 upscaling (``sr``).

A small photo found on a phone or the web was rarely made by a clean bicubic shrink. It went
through a lens and a sensor (blur), was resized, perhaps more than once and by any method, picked
up noise, and was saved as a JPEG, often twice. :func:`practical_lowres` draws such a history per
photo in two rounds (the "high-order" degradation model that Real-ESRGAN, Wang et al. 2021,
popularised; written here from its description): blur, resize, noise, JPEG, then again, and
sometimes a ringing (sinc) filter, which sharpening and some resizers leave.

Randomness comes from a ``torch.Generator`` on the CPU: a seed gives the same photos.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from . import camera

Tensor = torch.Tensor
SCALE = 4


def _u(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand(1, generator=g, dtype=torch.float64))


def _chance(g: torch.Generator, p: float) -> bool:
    return bool(torch.rand(1, generator=g) < p)


def _pick(g: torch.Generator, options):
    return options[int(torch.randint(0, len(options), (1,), generator=g))]


# ----------------------------------------------------------------- blur kernels
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    r = (size - 1) / 2
    return np.mgrid[-r : r + 1, -r : r + 1][::-1]  # x, y


def _inv_covariance(sx: float, sy: float, theta: float) -> np.ndarray:
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    cov = rot @ np.diag([sx**2, sy**2]) @ rot.T
    return np.linalg.inv(cov)


def _quadratic(size: int, sx: float, sy: float, theta: float) -> np.ndarray:
    """``d^T C^-1 d`` over the kernel's grid, for a covariance with axes ``sx``, ``sy`` at ``theta``."""
    x, y = _grid(size)
    inv = _inv_covariance(sx, sy, theta)
    return inv[0, 0] * x * x + 2 * inv[0, 1] * x * y + inv[1, 1] * y * y


def gaussian_kernel(size: int, sx: float, sy: float, theta: float) -> np.ndarray:
    k = np.exp(-0.5 * _quadratic(size, sx, sy, theta))
    return (k / k.sum()).astype(np.float32)


def generalized_gaussian_kernel(size: int, sx: float, sy: float, theta: float, beta: float) -> np.ndarray:
    """``exp(-0.5 q^beta)``: beta < 1 a sharp peak with long tails, beta > 1 a flat top."""
    k = np.exp(-0.5 * _quadratic(size, sx, sy, theta) ** beta)
    return (k / k.sum()).astype(np.float32)


def plateau_kernel(size: int, sx: float, sy: float, theta: float, beta: float) -> np.ndarray:
    """``1 / (1 + q^beta)``: a plateau that falls off like a defocused lens."""
    k = 1 / (1 + _quadratic(size, sx, sy, theta) ** beta)
    return (k / k.sum()).astype(np.float32)


def sinc_kernel(size: int, cutoff: float) -> np.ndarray:
    """An ideal circular low-pass filter (cut-off ``cutoff`` in radians per pixel), windowed to
    ``size``: the ringing that sharpening and some resizers leave near edges."""
    x, y = _grid(size)
    r = np.hypot(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = cutoff * _bessel_j1(cutoff * r) / (2 * np.pi * r)
    k[r == 0] = cutoff**2 / (4 * np.pi)
    return (k / k.sum()).astype(np.float32)


def _bessel_j1(x: np.ndarray) -> np.ndarray:
    """The Bessel function J1 by its integral, ``(1/pi) int_0^pi cos(t - x sin t) dt`` (exact enough
    for kernels, and no SciPy)."""
    t = np.linspace(0, np.pi, 257)
    vals = np.cos(t[None] - x.reshape(-1, 1) * np.sin(t[None]))
    integral = (vals[:, 1:] + vals[:, :-1]).sum(axis=1) * (t[1] - t[0]) / 2  # the trapezoid rule
    return integral.reshape(x.shape) / np.pi


def random_blur_kernel(g: torch.Generator, sigma_range: tuple[float, float]) -> np.ndarray:
    """One of the four blur shapes, isotropic or not, at a random size (7-21 px) and angle."""
    size = 2 * int(torch.randint(3, 11, (1,), generator=g)) + 1
    sx = _u(g, *sigma_range)
    sy = sx if _chance(g, 0.5) else _u(g, *sigma_range)
    theta = _u(g, 0, math.pi)
    kind = _pick(g, ("gaussian", "gaussian", "generalized", "plateau"))
    if kind == "gaussian":
        return gaussian_kernel(size, sx, sy, theta)
    if kind == "generalized":
        return generalized_gaussian_kernel(size, sx, sy, theta, _u(g, 0.5, 4.0))
    return plateau_kernel(size, sx, sy, theta, _u(g, 1.0, 2.0))


def convolve(x: Tensor, kernel: np.ndarray) -> Tensor:
    """``x`` (1 x C x H x W) filtered by one kernel, reflecting at the borders."""
    k = torch.from_numpy(kernel).to(x.device, x.dtype)
    r = kernel.shape[0] // 2
    c = x.shape[1]
    pad = (
        F.pad(x, (r, r, r, r), mode="reflect")
        if min(x.shape[-2:]) > r
        else F.pad(x, (r, r, r, r), "replicate")
    )
    return F.conv2d(pad, k.view(1, 1, *k.shape).expand(c, 1, *k.shape), groups=c)


# ----------------------------------------------------------------- noise
def gaussian_noise(x: Tensor, g: torch.Generator, sigma: float, grey: bool) -> Tensor:
    shape = (1, 1, *x.shape[-2:]) if grey else x.shape
    z = torch.randn(shape, generator=g, dtype=x.dtype).to(x.device)
    return x + sigma * z


def poisson_noise(x: Tensor, g: torch.Generator, scale: float, grey: bool) -> Tensor:
    """Shot noise: photon counts of ``x * 255`` drawn per pixel, their deviation scaled by ``scale``
    (about 0.05-3; 1 is about 11 of 255 at mid-grey)."""
    base = camera.greyscale(x)[:, :1] if grey else x
    vals = 255.0  # photons per unit intensity
    counts = torch.poisson(base.clamp(0, 1).cpu().double() * vals, generator=g) / vals
    noise = (counts.to(x.device, x.dtype) - base) * scale
    return x + noise


def _noise(x: Tensor, g: torch.Generator, sigma_range, poisson_range) -> Tensor:
    grey = _chance(g, 0.4)
    if _chance(g, 0.5):
        return gaussian_noise(x, g, _u(g, *sigma_range) / 255, grey)
    return poisson_noise(x, g, _u(g, *poisson_range), grey)


# ----------------------------------------------------------------- the chain
def _resize_by(x: Tensor, g: torch.Generator, scale_range, size: tuple[int, int]) -> Tensor:
    """Resize by a random factor of ``size`` (which it stays above 4 px of)."""
    s = _u(g, *scale_range)
    hw = (max(4, round(size[0] * s)), max(4, round(size[1] * s)))
    return camera.resize(x, hw, _pick(g, camera.RESIZE_MODES))


def _jpeg(x: Tensor, g: torch.Generator, q_range) -> Tensor:
    return camera.jpeg(x.clamp(0, 1), [int(torch.randint(q_range[0], q_range[1] + 1, (1,), generator=g))])


# The share of photos degraded in one round. Two rounds alone (to step 12,000) left the ×4 model
# smoothing the milder photos of the practical benchmark (one round of slight blur, noise 3-8,
# JPEG 40-75): +0.19 dB over bicubic there.
P_ONE_ROUND = 0.4


def practical_lowres(hr: Tensor, g: torch.Generator) -> Tensor:
    """The ×4 low-resolution photo of each high-resolution one (B x 3 x H x W, H and W multiples
    of 4), through two rounds of blur, resize, noise and JPEG (one round for
    :data:`P_ONE_ROUND` of them), and sometimes ringing."""
    h, w = hr.shape[-2:]
    lr_size = (h // SCALE, w // SCALE)
    out = []
    for x in hr.split(1):
        # Round one: the camera and the first save.
        x = convolve(x, random_blur_kernel(g, (0.2, 2.5)))
        x = _resize_by(x, g, (0.3, 1.5), (h, w))
        x = _noise(x, g, (1, 20), (0.05, 2.0))
        x = _jpeg(x, g, (40, 95))
        # Round two: an edit, a re-upload, another resize. Many photos are saved once only
        # (straight from a phone to the web): those skip it.
        if _chance(g, 1 - P_ONE_ROUND):
            if _chance(g, 0.6):
                x = convolve(x, random_blur_kernel(g, (0.2, 1.2)))
            x = _resize_by(x, g, (0.5, 1.2), (h // 2, w // 2))
            if _chance(g, 0.7):
                x = _noise(x, g, (1, 12), (0.05, 1.0))
        # Then the final size, a sinc filter sometimes (before or after the last JPEG).
        sinc = sinc_kernel(2 * int(torch.randint(3, 11, (1,), generator=g)) + 1, _u(g, math.pi / 3, math.pi))
        use_sinc = _chance(g, 0.2)
        if _chance(g, 0.5):
            x = camera.resize(x, lr_size, _pick(g, camera.RESIZE_MODES))
            x = convolve(x, sinc) if use_sinc else x
            x = _jpeg(x, g, (40, 95))
        else:
            x = _jpeg(x, g, (40, 95))
            x = camera.resize(x, lr_size, _pick(g, camera.RESIZE_MODES))
            x = convolve(x, sinc) if use_sinc else x
        out.append(x.clamp(0, 1))
    return torch.cat(out)


def saved_once_lowres(hr: Tensor, g: torch.Generator) -> Tensor:
    """The ×4 low-resolution photo of each high-resolution one as most small photos are made: a
    lens's slight blur, one shrink by any method, a little sensor noise, and a single JPEG (a photo
    straight from a phone to the web). :func:`practical_lowres` always compresses twice and draws
    heavier blur and noise, which left such mild photos smoothed."""
    h, w = hr.shape[-2:]
    lr_size = (h // SCALE, w // SCALE)
    out = []
    for x in hr.split(1):
        x = convolve(x, random_blur_kernel(g, (0.2, 1.5)))
        x = camera.resize(x, lr_size, _pick(g, camera.RESIZE_MODES))
        if _chance(g, 0.8):
            x = _noise(x, g, (0.5, 10), (0.05, 1.0))
        out.append(_jpeg(x, g, (30, 95)))
    return torch.cat(out)


def eval_lowres(hr: Tensor, g: torch.Generator) -> Tensor:
    """The evaluation's practical ×4 photo: a slight blur, a bicubic shrink, noise of 3-8 (of 255),
    a JPEG at quality 40-75 (each drawn from ``g``: fixed seeds give fixed photos)."""
    h, w = hr.shape[-2:]
    out = []
    for x in hr.split(1):
        s = _u(g, 0.4, 1.2)
        x = convolve(x, gaussian_kernel(2 * math.ceil(3 * s) + 1, s, s, 0.0))
        x = F.interpolate(
            x, size=(h // SCALE, w // SCALE), mode="bicubic", antialias=True, align_corners=False
        )
        x = gaussian_noise(x, g, _u(g, 3, 8) / 255, grey=False).clamp(0, 1)
        x = _jpeg(x, g, (40, 75))
        out.append(x)
    return torch.cat(out)
