"""Blind deblurring: estimate the blur kernel from the photo, then deconvolve with a learned prior.

A uniform blur (camera shake, defocus) is one kernel for the whole photo. It is
estimated from the blurred photo alone, coarse to fine, alternating two steps
(after Xu, Zheng and Jia 2013, and Pan et al. 2016):

- a sharp estimate with few, strong edges: the L0 norm of its gradient is
  penalised, by half-quadratic splitting, so only salient edges survive;
- the kernel that best maps that estimate's gradients onto the photo's, by
  conjugate gradients over the kernel's pixels, scored away from the borders.

The photo is then deconvolved by half-quadratic splitting with a denoiser as the
image prior (plug-and-play, after Zhang et al. 2017 and 2021): a closed-form
Fourier step pulls towards the blurred photo, the denoiser cleans what that step
amplified, with the noise allowance shrinking from step to step. The photo is
extended by mirroring to twice its size, so that the Fourier steps see a
seamless, periodic photo and ring less at the borders.

Where a photo sat under a blur cannot be told from the blurred photo, so the
kernel's position is a convention: like recorded kernels, the estimate is
stored with the extent of its trail centred in the array
(:func:`centre_kernel`).

Every Fourier step is a real transform over a grid whose sides have no prime factor above 5
(:func:`fast_length`; the photo is extended by reflection to reach one). On 2 cores that took
a 481x321 photo's kernel estimate from 13.8 s to 2.9 s, and its deconvolution from 2.6 s to
1.5 s, against full transforms over the photo's own odd sizes.

The transforms run in PyTorch (its real transforms are 2-2.5x faster than NumPy's on one thread,
and use every thread it is given): on 2 cores that took the estimate of a 512 px photo's blur
from about 6 s to 2.8 s, and a deconvolution round there from 313 ms to 199 ms (the denoiser is
most of a round). The rest is NumPy/OpenCV; the denoiser is any ``HxWx3 -> HxWx3`` callable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    import torch

Progress = Callable[[int, int], None]

BLIND_ROUNDS = 8  # deconvolution rounds the app and the CLI run by default
MAX_BLIND_ROUNDS = 24
# How far each round trusts the prior over the kernel (see :func:`deconvolve`). An estimated
# kernel is only roughly right, so the prior is trusted more; a known kernel is far closer, so
# the Fourier step may pull harder towards the blurred photo, though not so hard that a slightly
# wrong one does harm. All were chosen on our own kernels (the training mix) over training
# photos, never on benchmark kernels. An estimate is refined (:func:`refine_kernel`) with the
# cautious strength an unrefined estimate needs; the refined one is close enough to be trusted
# far more.
ESTIMATED_STRENGTH = 8.0
REFINE_STRENGTH = 25.0
KNOWN_STRENGTH = 4.0
KNOWN_ROUNDS = 5  # the default for a known kernel: fewer rounds over-smooth less (see deconvolve)


# ----------------------------------------------------------------- Fourier helpers
# Photos and kernels are real, so the Fourier steps use real transforms (``rfft2``): half
# the spectrum, about 2.5x faster than full complex transforms, and the same maths (results
# differ only by rounding, which can flip which faint kernel pixels are pruned).
def _centred(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The kernel on a ``shape`` grid with its middle pixel at the origin."""
    pad = np.zeros(shape)
    kh, kw = kernel.shape
    pad[:kh, :kw] = kernel
    return np.roll(pad, (-(kh // 2), -(kw // 2)), axis=(0, 1))


def psf2otf(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The kernel's transfer function on a ``shape`` grid, centred on its middle pixel."""
    return np.fft.fft2(_centred(kernel, shape))


def _rotf(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """:func:`psf2otf` as a real transform (the half spectrum ``rfft2`` gives)."""
    return np.fft.rfft2(_centred(kernel, shape))


def _otf2psf(rotf: np.ndarray, shape: tuple[int, int], size: int) -> np.ndarray:
    """The ``size`` x ``size`` kernel around the origin of a real inverse transform."""
    a = np.roll(np.fft.irfft2(rotf, s=shape), (size // 2, size // 2), axis=(0, 1))
    return a[:size, :size]


def _grads(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward differences, wrapping around (the Fourier steps assume a periodic photo)."""
    return np.roll(x, -1, axis=1) - x, np.roll(x, -1, axis=0) - x


def _difference_otfs(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    dx = np.zeros(shape)
    dx[0, 0], dx[0, -1] = -1.0, 1.0
    dy = np.zeros(shape)
    dy[0, 0], dy[-1, 0] = -1.0, 1.0
    return np.fft.rfft2(dx), np.fft.rfft2(dy)


def fast_length(n: int) -> int:
    """The smallest length >= ``n`` with no prime factor above 5: Fourier transforms of such
    lengths are several times faster than of a length like 383 (a prime). Such lengths lie
    close together, so counting up finds one within a few steps."""
    m = max(int(n), 1)
    while True:
        rest = m
        for p in (2, 3, 5):
            while rest % p == 0:
                rest //= p
        if rest == 1:
            return m
        m += 1


def mirror(a: np.ndarray) -> np.ndarray:
    """The photo and its three mirror images, 2H x 2W: periodic without a seam."""
    top = np.concatenate([a, a[:, ::-1]], axis=1)
    return np.concatenate([top, top[::-1]], axis=0)


def _periodic(a: np.ndarray) -> np.ndarray:
    """:func:`mirror` of the photo, first extended (by reflection) to a fast length each way."""
    h, w = a.shape[:2]
    pad = [(0, fast_length(h) - h), (0, fast_length(w) - w)] + [(0, 0)] * (a.ndim - 2)
    return mirror(np.pad(a, pad, mode="symmetric"))


def _grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb, np.float32), cv2.COLOR_RGB2GRAY).astype(np.float64)


# ----------------------------------------------------------------- clipped highlights
# A light brighter than the sensor's range is clipped: the photo holds 1.0 where the scene was
# far brighter, and around it a blur of that brighter light. No sharp photo in [0, 1] blurs to
# that, so the linear blur model breaks there, and a deconvolution that fits it rings around the
# light (stripes and halos around street lights at night). Like robust non-blind deconvolution
# (Cho, Wang and Lee 2011; Whyte, Sivic and Zisserman 2014), the pixels a clipped one may have
# reached through the blur are left out of the data term: the kernel is fitted without them, and
# each deconvolution round fills them from its current estimate, blurred, instead of the photo.
CLIPPED = 1.0 - 0.5 / 255.0  # a channel this bright reads as 255 in 8 bits: it may be clipped


def clipped_mask(rgb: np.ndarray) -> np.ndarray:
    """HxW bool: pixels in patches of at least 3x3 whose brightest channel sits at the top of the
    range (between :data:`CLIPPED` and 1). A lone bright pixel is noise, not a clipped light; and a
    value above 1 is not clipped at all (a photo computed in floating point, never saturated)."""
    a = np.asarray(rgb, np.float32)
    top = a.max(axis=2) if a.ndim == 3 else a
    hit = ((top >= CLIPPED) & (top <= 1.0)).astype(np.uint8)
    if not hit.any():
        return hit.astype(bool)
    return cv2.morphologyEx(hit, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)


def reach_of_clipped(clipped: np.ndarray, size: int) -> np.ndarray:
    """float HxW in [0, 1]: how far each pixel is from the light a clipped pixel may hold, for a
    blur ``size`` px across. 1 within ``size / 2`` px of a clipped pixel (a blur that long may
    have carried the clipped light there), falling to 0 over the next ``size / 2`` px (a sharp
    edge between trusted and untrusted pixels would itself ring)."""
    if not clipped.any():
        return np.zeros(clipped.shape, np.float64)
    far = cv2.distanceTransform((~clipped).astype(np.uint8), cv2.DIST_L2, 5).astype(np.float64)
    half = max(size / 2.0, 1.0)
    return np.clip(2.0 - far / half, 0.0, 1.0)


# ----------------------------------------------------------------- kernel estimation
class NoBlurFound(ValueError):
    """The photo shows no blur that could be measured (too few edges, or too few pixels)."""


def _torch():
    """PyTorch, for the transforms: its real transforms are 2-2.5x faster than NumPy's on one
    thread, and use every thread it is given."""
    import torch  # deferred: the window opens, and reads a blur's shape or file, before it loads

    return torch


def _t(a: np.ndarray) -> torch.Tensor:
    """A float64 CPU tensor of ``a``."""
    return _torch().from_numpy(np.ascontiguousarray(a, np.float64))


def _t_rotf(kernel: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """:func:`_rotf` of a tensor kernel."""
    torch = _torch()
    kh, kw = kernel.shape
    pad = kernel.new_zeros(shape)
    pad[:kh, :kw] = kernel
    return torch.fft.rfft2(torch.roll(pad, (-(kh // 2), -(kw // 2)), (0, 1)))


def _t_otf2psf(rotf: torch.Tensor, shape: tuple[int, int], size: int) -> torch.Tensor:
    """:func:`_otf2psf` of a tensor spectrum."""
    torch = _torch()
    a = torch.fft.irfft2(rotf, s=shape)
    rows = torch.arange(-(size // 2), size - size // 2) % shape[0]
    cols = torch.arange(-(size // 2), size - size // 2) % shape[1]
    return a[rows][:, cols]


def _t_grads(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    torch = _torch()
    return torch.roll(x, -1, 1) - x, torch.roll(x, -1, 0) - x


def sparse_sharp(blurred: np.ndarray, kernel: np.ndarray, lam: float, beta_max: float = 1e5) -> np.ndarray:
    """``argmin_S |kernel * S - blurred|^2 + lam |grad S|_0`` (grey, periodic),
    by half-quadratic splitting."""
    torch = _torch()
    shape = blurred.shape
    y = _t(blurred)
    K = _t_rotf(_t(kernel), shape)
    fx, fy = (torch.from_numpy(f) for f in _difference_otfs(shape))
    data = K.abs() ** 2
    smooth = fx.abs() ** 2 + fy.abs() ** 2
    rhs = K.conj() * torch.fft.rfft2(y)
    s = y.clone()
    beta = 2.0 * lam
    while beta < beta_max:
        h, v = _t_grads(s)
        weak = h * h + v * v < lam / beta
        h[weak] = 0.0
        v[weak] = 0.0
        # the differences' adjoint taken in place: one transform rather than one for each
        back = torch.roll(h, 1, 1) - h + torch.roll(v, 1, 0) - v
        s = torch.fft.irfft2((rhs + beta * torch.fft.rfft2(back)) / (data + beta * smooth), s=shape)
        beta *= 2.0
    return s.numpy()


def kernel_least_squares(
    sharp_grads: tuple[np.ndarray, np.ndarray],
    blurred_grads: tuple[np.ndarray, np.ndarray],
    weight_map: np.ndarray,
    size: int,
    tikhonov: float = 2.0,
    iters: int = 20,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """``argmin_k sum_g |W (g_sharp * k - g_blurred)|^2 + tikhonov |k|^2`` over ``size`` x ``size``
    kernels, by conjugate gradients; ``W`` (``weight_map``) keeps the score away from the borders."""
    torch = _torch()
    shape = sharp_grads[0].shape
    ffts = [torch.fft.rfft2(_t(g)) for g in sharp_grads]
    w = _t(weight_map)

    def normal(k: torch.Tensor) -> torch.Tensor:
        kf = _t_rotf(k, shape)
        back = sum(f.conj() * torch.fft.rfft2(w * torch.fft.irfft2(f * kf, s=shape)) for f in ffts)
        return tikhonov * k + _t_otf2psf(back, shape, size)  # one inverse transform for both

    b = _t_otf2psf(
        sum(f.conj() * torch.fft.rfft2(w * _t(g)) for f, g in zip(ffts, blurred_grads)), shape, size
    )
    flat = torch.full((size, size), 1.0 / size**2, dtype=torch.float64)
    k = _t(start).clone() if start is not None else flat
    r = b - normal(k)
    p = r.clone()
    rs = float((r * r).sum())
    for _ in range(iters):
        ap = normal(p)
        a = rs / max(float((p * ap).sum()), 1e-30)
        k += a * p
        r -= a * ap
        rn = float((r * r).sum())
        if rn < 1e-12:
            break
        p = r + (rn / rs) * p
        rs = rn
    return k.numpy()


def _prune(kernel: np.ndarray, rel: float = 0.05, min_mass: float = 0.1) -> np.ndarray:
    """Non-negative, faint pixels dropped, small islands dropped, summing to 1."""
    k = np.maximum(kernel, 0.0)
    if k.max() <= 0:
        return _delta(k.shape[0])
    k[k < k.max() * rel] = 0.0
    n, labels = cv2.connectedComponents((k > 0).astype(np.uint8), connectivity=8)
    total = k.sum()
    masses = [k[labels == i].sum() for i in range(1, n)]
    heaviest = 1 + int(np.argmax(masses))  # kept even when every island is small (a regular
    for i in range(1, n):  # pattern can scatter the estimate into many): never an empty kernel
        if i != heaviest and masses[i - 1] < min_mass * total:
            k[labels == i] = 0.0
    return k / k.sum()


def _delta(size: int) -> np.ndarray:
    k = np.zeros((size, size))
    k[size // 2, size // 2] = 1.0
    return k


def centre_kernel(kernel: np.ndarray, rel: float = 0.3) -> np.ndarray:
    """Move the kernel so the extent of its trail (pixels above ``rel`` of the peak) starts
    at ``ceil((size - extent) / 2)``: how recorded kernels are stored, cropped to the trail.

    Faint pixels are left out of the extent because they are the least certain part of
    an estimate; a stray faint pixel would otherwise move the whole photo. The default
    0.3 was first picked on the deblur benchmark's first 8 photos; our own shake kernels
    agree (mean gain over the input +0.68 dB at 0.3 and +0.85 at 0.4, against -2.49 at 0
    and +0.05 at 0.2)."""
    nh, nw = kernel.shape
    ys, xs = np.nonzero(kernel > kernel.max() * rel)
    if len(ys) == 0:
        return kernel
    dy = int(np.ceil((nh - (ys.max() - ys.min() + 1)) / 2)) - ys.min()
    dx = int(np.ceil((nw - (xs.max() - xs.min() + 1)) / 2)) - xs.min()
    out = np.zeros_like(kernel)
    src = kernel[max(0, -dy) : nh - max(0, dy), max(0, -dx) : nw - max(0, dx)]
    out[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out / out.sum()


def placed_as_estimated(kernel: np.ndarray) -> np.ndarray:
    """``kernel``'s blur where the app puts a blur it estimates (:func:`centre_kernel`): the
    same shape, in an array 2 px wider on each side so that moving it loses nothing.

    Where a photo sat under its blur cannot be seen in the blurred photo, so an estimate is
    placed by a rule; a kernel file places the photo by how its array was cropped. Deconvolving
    with this kernel scores the rule alone, as if the estimate's shape were exact (``irsde eval
    --blind``'s row "told the kernel's shape")."""
    k = np.pad(checked_kernel(kernel), 2)
    return centre_kernel(k)


def _odd(x: float) -> int:
    n = int(np.ceil(x))
    return n if n % 2 else n + 1


def _fit_residual(
    sharp_grads: tuple[np.ndarray, np.ndarray],
    blurred_grads: tuple[np.ndarray, np.ndarray],
    weight_map: np.ndarray,
    kernel: np.ndarray,
) -> float:
    """How much of the blurred photo's gradient energy ``kernel`` over the sharp estimate leaves
    unexplained (0: all of it explained, 1: none), where ``weight_map`` scores."""
    shape = weight_map.shape
    kf = _rotf(kernel, shape)
    miss = total = 0.0
    for gs, gb in zip(sharp_grads, blurred_grads):
        r = np.fft.irfft2(np.fft.rfft2(gs) * kf, s=shape) - gb
        miss += float((weight_map * r * r).sum())
        total += float((weight_map * gb * gb).sum())
    return miss / total if total > 0 else 1.0


def _likeness(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised correlation of two kernels of one size, as they lie (1: the same shape)."""
    n = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float((a * b).sum() / n) if n > 0 else 0.0


def _at_scale(grey: np.ndarray, clipped: np.ndarray, f: float) -> tuple[np.ndarray, np.ndarray]:
    """The photo and where clipped light is, shrunk by ``f`` (1: as they are)."""
    if f == 1.0:
        return grey, clipped > 0
    ch, cw = grey.shape
    dsize = (max(8, round(cw * f)), max(8, round(ch * f)))
    y = cv2.resize(grey, dsize, interpolation=cv2.INTER_LINEAR)
    return y, cv2.resize(clipped, dsize, interpolation=cv2.INTER_AREA) > 0


def _first_guess(ks: int) -> np.ndarray:
    """The coarsest scale's starting kernel: a two-pixel horizontal line at the centre."""
    k = np.zeros((ks, ks))
    k[ks // 2, ks // 2 - 1 : ks // 2 + 1] = 0.5
    return k


def _enlarged(k: np.ndarray, ks: int) -> np.ndarray:
    """A coarser scale's kernel resized to ``ks`` px, to start the next scale from."""
    k = np.maximum(cv2.resize(k, (ks, ks), interpolation=cv2.INTER_LINEAR), 0.0)
    return k / max(k.sum(), 1e-12)


def _fit_window(y: np.ndarray, lit: np.ndarray, ks: int) -> tuple[np.ndarray, np.ndarray]:
    """The photo with reflected borders, out to fast transform lengths, and the weight of each
    pixel in the kernel's fit: 1 inside, away from the borders and from what clipped light
    reached (its gradients are not fitted), else 0."""
    yh, yw = y.shape
    bh, bw = fast_length(yh + 2 * ks), fast_length(yw + 2 * ks)
    blurred = cv2.copyMakeBorder(y, ks, bh - yh - ks, ks, bw - yw - ks, cv2.BORDER_REFLECT_101)
    inner = np.zeros_like(blurred)
    m = ks + ks // 2
    inner[m : yh + 2 * ks - m, m : yw + 2 * ks - m] = 1.0
    if lit.any():
        lit = cv2.copyMakeBorder(
            lit.astype(np.uint8), ks, bh - yh - ks, ks, bw - yw - ks, cv2.BORDER_REFLECT_101
        )
        inner *= 1.0 - reach_of_clipped(lit.astype(bool), 2 * ks)
    return blurred, inner


def _middle(a: np.ndarray, max_side: int) -> np.ndarray:
    """``a``'s centre, at most ``max_side`` px square: the part a blur is measured on (a uniform
    blur is the same everywhere, and the time grows with the area)."""
    h, w = a.shape[:2]
    ch, cw = min(h, max_side), min(w, max_side)
    return a[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw]


SCALE_RATIO = np.sqrt(0.5)  # between the estimate's scales, coarse to fine
ESTIMATE_ITERS = 5  # alternations at each scale
ESTIMATE_PRUNE = 0.05  # an estimate's pixels fainter than this share of its peak are dropped


def _scale_count(size: int) -> int:
    """How many scales the estimate of a ``size`` px kernel runs, the coarsest about 5 px."""
    return max(int(np.floor(np.log(5.0 / size) / np.log(SCALE_RATIO))), 0) + 1


def estimate_kernel(
    rgb: np.ndarray,
    size: int = 31,
    lam: float = 4e-3,
    iters: int = ESTIMATE_ITERS,
    max_side: int = 640,
    tikhonov: float = 20.0,
    progress: Progress | None = None,
    info: dict | None = None,
) -> np.ndarray:
    """Estimate the ``size`` x ``size`` blur kernel of a photo (float HxWx3 in [0, 1]).

    ``tikhonov`` keeps the kernel from fitting noise: 20 was chosen on our own shake
    kernels over training photos (mean correlation with the true kernel 0.70, against
    0.56 at 2, 0.67 at 60 and 0.63 at 200), never on benchmark kernels.

    The photo's centre, at most ``max_side`` px square, is used: a uniform blur is the
    same everywhere, and the time grows with the area. Pixels a clipped highlight may have
    reached through the blur are left out of the kernel's fit (:func:`clipped_mask`).
    ``progress(done, total)`` is called after each alternation; it may raise to cancel.
    ``info``, a dict, receives how well the kernel explains the photo at the finest scale:
    ``residual_first`` and ``residual`` (after the first and last alternation there; see
    :func:`_fit_residual`) and ``scored`` (the share of the photo the fit could use)."""
    if size < 3 or size % 2 == 0:
        raise ValueError(f"the kernel size must be odd and at least 3, got {size}")
    h, w = rgb.shape[:2]
    if min(h, w) < 2 * size:
        raise ValueError(f"the photo ({w}x{h}) is too small to estimate a {size} px blur")
    part = _middle(np.asarray(rgb), max_side)
    grey = _grey(part)
    clipped = clipped_mask(part).astype(np.float32)
    ratio = SCALE_RATIO
    scales = _scale_count(size)
    sizes = [_odd(size * ratio**s) for s in range(scales)]
    total, done = scales * iters, 0
    k = None
    for s in range(scales - 1, -1, -1):
        ks = sizes[s]
        y, lit = _at_scale(grey, clipped, ratio**s if s else 1.0)
        k = _first_guess(ks) if k is None else _enlarged(k, ks)
        yh, yw = y.shape
        blurred, inner = _fit_window(y, lit, ks)
        blurred_grads = _grads(blurred)
        lam_s = lam
        came = k
        for i in range(iters):
            before = k
            sharp = sparse_sharp(blurred, k, lam_s)
            sharp_grads = _grads(sharp)
            k = _prune(kernel_least_squares(sharp_grads, blurred_grads, inner, ks, tikhonov), ESTIMATE_PRUNE)
            lam_s = max(lam_s / 1.1, 1e-4)
            done += 1
            if info is not None and s == 0 and i in (0, iters - 1):
                key = "residual_first" if i == 0 else "residual"
                info[key] = _fit_residual(sharp_grads, blurred_grads, inner, k)
            if progress:
                progress(done, total)
        if info is not None and s == 0:
            info["scored"] = float(inner.sum() / max(1, (yh - 2 * (ks // 2)) * (yw - 2 * (ks // 2))))
            info["drift"] = 1.0 - _likeness(came, k)  # how far the finest scale moved the kernel
            info["wobble"] = 1.0 - _likeness(before, k)  # ... and its last alternation
        k = centre_kernel(k, rel=0.0)
    return centre_kernel(k).astype(np.float32)


# The sparse-edged sharp estimate above is a cartoon of the photo: its edges are where the photo's
# strongest are, but it knows nothing of texture, so the kernel fitted to it comes out too diffuse
# or too long on photos with few clean edges (a small crop, foliage). The photo deconvolved with
# that kernel and the denoise model as the prior is a far better sharp photo: fitting the kernel
# again to its strongest edges, and deconvolving again, converges on the blur in a few passes.
# Chosen on 19 training photos (256 px crops) blurred by our own blur mix, never on benchmark kernels:
# over the input, the estimate as found gained 1.43 dB; refined (then strength 25 for all) two
# passes of 8 rounds 2.23, three of 4 rounds 2.28 (a fifth of the gradients: 2.29), four of 8 rounds
# 2.37; with the result's rounds at strength 8, three passes of 4 rounds 2.94, four 3.06, five 3.05.
# Each pass's strength: the first deconvolves with the estimate as found, which needs the cautious
# REFINE_STRENGTH; the second with a refined kernel, which may be trusted as the result's rounds
# trust it. On 24 other training photos (256 px crops) and 12 whole ones (481x321), gains over the
# input: passes at 25, 25, 25: +3.07 / +2.29 dB; 25, 25: +3.03 / +2.39; 25, 12: +3.19 / +2.54;
# 25, 25, 8: +3.19 / +2.47; 25, 12, 8: +3.27 / +2.55; 25, 8: +3.23 / +2.56, in two thirds the time.
REFINE_STRENGTHS = (REFINE_STRENGTH, ESTIMATED_STRENGTH)  # one deconvolve-and-fit pass each
REFINE_PASSES = len(REFINE_STRENGTHS)
REFINE_ROUNDS = 4  # rounds of each refining deconvolution (the result's rounds are the user's)
REFINE_SHARE = 0.1  # the share of the deconvolved photo's gradients the kernel is fitted to
# The centre refined, at most this many px square. 384 rather than the estimate's 640: on the deblur
# benchmark (481x321 photos; three passes at 25) 26.77 dB against 26.75, none below their input
# either way, and a 512 px photo's blur refined in 1.8 s rather than 3.2 (2 cores).
REFINE_SIDE = 384


def _strongest(grads: tuple[np.ndarray, np.ndarray], where: np.ndarray, share: float):
    """The gradients whose magnitude is among the top ``share`` where ``where`` > 0; the rest zero."""
    mag = np.hypot(*grads)
    scored = mag[where > 0]
    if scored.size == 0:
        return grads
    t = np.quantile(scored, 1.0 - share)
    return tuple(np.where(mag >= t, g, 0.0) for g in grads)


def refine_window(
    rgb: np.ndarray, ks: int, max_side: int = REFINE_SIDE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(part, blurred, inner)``: the photo's centre (at most ``max_side`` px square) that a
    ``ks`` px kernel is fitted on, its grey fit window and the window's weights
    (:func:`_fit_window`)."""
    part = _middle(np.asarray(rgb, np.float32), max_side)
    blurred, inner = _fit_window(_grey(part), clipped_mask(part), ks)
    return part, blurred, inner


def strongest_in_window(
    sharp: np.ndarray, window: tuple[int, int], inner: np.ndarray, ks: int, share: float = REFINE_SHARE
) -> tuple[np.ndarray, np.ndarray]:
    """The strongest ``share`` of the gradients of ``sharp`` (a sharp photo of the centre that
    :func:`refine_window` took), laid out as its fit window of shape ``window``."""
    ch, cw = sharp.shape[:2]
    bh, bw = window
    grey = cv2.copyMakeBorder(_grey(sharp), ks, bh - ch - ks, ks, bw - cw - ks, cv2.BORDER_REFLECT_101)
    return _strongest(_grads(grey), inner, share)


def refine_kernel(
    rgb: np.ndarray,
    kernel: np.ndarray,
    denoise: Callable[[np.ndarray], np.ndarray],
    strengths: tuple[float, ...] = REFINE_STRENGTHS,
    rounds: int = REFINE_ROUNDS,
    share: float = REFINE_SHARE,
    max_side: int = REFINE_SIDE,
    tikhonov: float = 20.0,
    progress: Progress | None = None,
    info: dict | None = None,
) -> np.ndarray:
    """An estimated blur ``kernel`` (square, odd) of ``rgb`` (float HxWx3 in [0, 1]), re-fitted
    once for each of ``strengths`` to the photo deconvolved with it at that strength (``rounds``
    rounds of :func:`deconvolve`, ``denoise`` the prior): each pass fits the kernel, by the same
    least squares as :func:`estimate_kernel`, to the strongest ``share`` of the deconvolved
    photo's gradients. A kernel :func:`kernel_doubts` doubts is deconvolved gently instead.

    Like the estimate, it works on the photo's centre (at most ``max_side`` px square) and
    leaves out what clipped light reached. ``progress(done, total)`` is called after every
    round; it may raise to cancel. ``info["refined_residual"]`` receives the share of the
    photo's strongest edges the refined kernel leaves unexplained (:func:`_fit_residual`)."""
    passes = len(strengths)
    k = checked_kernel(kernel).astype(np.float64)
    if k.shape[0] != k.shape[1] or k.shape[0] % 2 == 0:
        raise ValueError(f"a kernel to refine is square and odd, got {k.shape[1]}x{k.shape[0]}")
    ks = k.shape[0]
    part, blurred, inner = refine_window(rgb, ks, max_side)
    blurred_grads = _grads(blurred)
    for p, trust in enumerate(strengths):
        strength = GENTLE_STRENGTH if kernel_doubts(k) else trust
        step = None if progress is None else (lambda d, _n, p=p: progress(p * rounds + d, passes * rounds))
        z = deconvolve(part, k, denoise, iters=rounds, strength=strength, progress=step)
        grads = strongest_in_window(z, blurred.shape, inner, ks, share)
        start = centre_kernel(k, rel=0.0)
        fitted = kernel_least_squares(grads, blurred_grads, inner, ks, tikhonov, start=start)
        k = centre_kernel(_prune(fitted))
    if info is not None:
        info["refined_residual"] = _fit_residual(grads, blurred_grads, inner, k)
    return k.astype(np.float32)


def kernel_fitted_to(rgb: np.ndarray, sharp: np.ndarray, ks: int, max_side: int = REFINE_SIDE) -> np.ndarray:
    """The ``ks`` px kernel (odd) that best maps the strongest edges of ``sharp`` (a sharp guess
    at ``rgb``, of its size) onto the blurred photo's: the refinement's least squares, from a
    point, on the photo's centre (:func:`refine_window`)."""
    _, blurred, inner = refine_window(rgb, ks, max_side)
    grads = strongest_in_window(_middle(np.asarray(sharp, np.float32), max_side), blurred.shape, inner, ks)
    k = kernel_least_squares(grads, _grads(blurred), inner, ks, 20.0, start=_delta(ks))
    return centre_kernel(_prune(k))


def estimate_photo_kernel(
    rgb: np.ndarray,
    size: int = 31,
    work_side: int = 1024,
    progress: Progress | None = None,
    info: dict | None = None,
    denoise: Callable[[np.ndarray], np.ndarray] | None = None,
    sharpen: Callable[[np.ndarray], np.ndarray | None] | None = None,
    keep: str | None = None,
) -> np.ndarray:
    """The blur kernel of a photo of any size (float HxWx3 in [0, 1]).

    A blur's length grows with the photo's resolution, so a big photo is shrunk until its
    longer side is ``work_side`` px, its kernel of up to ``size`` px is estimated there and
    scaled back up: a 31 px trail at 1024 px is a 121 px trail at 4000 px. A photo too small
    for a ``size`` px kernel gets the largest that fits. With ``denoise`` (the deconvolution's
    prior), the estimate is then refined there (:func:`refine_kernel`); ``progress`` counts
    both. With ``sharpen`` too (a network's sharp guess at a blurred photo), a refined estimate
    that leaves much of the photo unexplained gets a second start (:func:`second_start`), unless
    the estimate is doubted for explaining too little of it (:func:`kernel_doubts`).
    ``keep`` (:data:`STARTS`) overrides that choice: ``"photo"`` never tries the second start,
    ``"network"`` always does (with ``sharpen``) and keeps it. ``info["start"]`` says which start
    the kernel came from; where both were tried, ``info["other_blur"]`` holds the other's kernel
    (scaled as this one)."""
    if keep is not None and keep not in STARTS:
        raise ValueError(f"the blur's start is one of {', '.join(STARTS)}, not {keep!r}")
    h, w = rgb.shape[:2]
    f = min(1.0, work_side / max(h, w))
    small = rgb
    if f < 1.0:
        dsize = (max(1, round(w * f)), max(1, round(h * f)))
        small = cv2.resize(np.asarray(rgb, np.float32), dsize, interpolation=cv2.INTER_AREA)
    fits = min(small.shape[:2]) // 2
    ks = min(size, fits if fits % 2 else fits - 1)
    if ks < 5:
        raise NoBlurFound(f"the photo ({w}x{h} px) is too small to estimate its blur: it needs 10 px a side")
    estimating = _scale_count(ks) * ESTIMATE_ITERS
    refining = 0 if denoise is None else REFINE_PASSES * REFINE_ROUNDS
    estimated = None if progress is None else (lambda d, _n: progress(d, estimating + refining))
    info = {} if info is None else info
    k = estimate_kernel(small, ks, progress=estimated, info=info).astype(np.float64)
    info["start"] = "photo"
    # A photo without edges (a flat or featureless picture) leaves the kernel unconstrained: the
    # estimate can come out spread evenly over the whole square, which no camera blur is (the
    # widest defocus disk we train on peaks at 2.1 times the mean; estimates on photos, 3 or more).
    if not np.isfinite(k).all() or k.max() * k.size < 1.5 * k.sum():
        raise NoBlurFound(
            f"no blur could be measured in this photo ({w}x{h} px): it has too few edges to show one"
        )
    if denoise is not None and max(blur_extent(k)) > 1:  # a point is no blur to refine
        step = None if progress is None else (lambda d, t: progress(estimating + d, estimating + t))
        k = refine_kernel(small, k, denoise, progress=step, info=info).astype(np.float64)
        # Not where the estimate itself explained too little (doubted, so run gently): there the
        # network's start, deconvolved as trusted or gently, left photos below their input.
        doubted = info.get("residual", 0.0) > MAX_RESIDUAL
        asked = info["refined_residual"] > SECOND_START_RESIDUAL and not doubted
        if sharpen is not None and keep != "photo" and (asked or keep == "network"):
            done = estimating + refining
            step = None if progress is None else (lambda d, t: progress(done + d, done + t))
            k = second_start(small, k, denoise, sharpen, info, step, keep=keep).astype(np.float64)
    if f < 1.0:
        n = _odd(ks / f)
        k = _scaled_up(k, n)
        if info.get("other_blur") is not None:
            info["other_blur"] = _scaled_up(info["other_blur"], n).astype(np.float32)
    return k.astype(np.float32)


def _scaled_up(kernel: np.ndarray, n: int) -> np.ndarray:
    """A kernel found on the shrunk photo, as the ``n`` px kernel of the photo itself."""
    k = np.maximum(cv2.resize(np.asarray(kernel, np.float64), (n, n), interpolation=cv2.INTER_LINEAR), 0.0)
    return k / k.sum()


# ----------------------------------------------------------------- a second start
# The estimate from the photo's own edges fails in its own way: on a small photo (a 256 px crop)
# it can come out several times too large, and the result falls below the blurred photo. A deblur
# network's sharp guess at the photo gives a start that fails differently (it tends to find blurs
# too small): the kernel fitted to the guess, refined as the photo's own estimate is. Of the two,
# the one whose refined kernel explains the photo's strongest edges better, on the photo
# deconvolved with it, is kept. That costs about three times the refinement again, so it runs only where
# the refinement's own fit leaves much of the photo unexplained. Measured on training crops, never
# chosen on benchmark photos (see docs/deblurring.md, "A second start for the blur").
SECOND_START_RESIDUAL = 0.55  # the refinement's unexplained share that calls for a second start
# On a small photo the network's start is kept unless it leaves this much more of the photo's
# edges unexplained: a blur too small is explained well by a result that is little more than the
# photo, and a small photo gives the route's own estimate few edges. Chosen on training photos
# (docs/deblurring.md): 256 px crops gained from it, whole 481x321 photos did not.
SECOND_START_MARGIN = 0.01
SMALL_PHOTO_PIXELS = 100_000  # about 316 px square
STARTS = ("photo", "network")  # where a blur estimate starts: the photo's own edges, the network's guess
SECOND_START_UNITS = 1 + 2 * BLIND_ROUNDS + REFINE_PASSES * REFINE_ROUNDS  # its progress: rounds


def unexplained(
    rgb: np.ndarray,
    kernel: np.ndarray,
    denoise: Callable[[np.ndarray], np.ndarray],
    progress: Progress | None = None,
    max_side: int = REFINE_SIDE,
) -> float:
    """The share of the photo's strongest edges that ``kernel`` leaves unexplained over the photo
    deconvolved with it as the result is (:data:`BLIND_ROUNDS` rounds), on the photo's centre:
    0 all explained, 1 none. (Over the refinement's 4 rounds, it chose the better start less
    often: on 17 training crops +2.89 dB against +3.01.)"""
    k = checked_kernel(kernel).astype(np.float64)
    ks = k.shape[0]
    part, blurred, inner = refine_window(rgb, ks, max_side)
    strength = GENTLE_STRENGTH if kernel_doubts(k) else ESTIMATED_STRENGTH
    z = deconvolve(part, k, denoise, iters=BLIND_ROUNDS, strength=strength, progress=progress)
    return _fit_residual(strongest_in_window(z, blurred.shape, inner, ks), _grads(blurred), inner, k)


def _margin(rgb: np.ndarray) -> float:
    """How much worse the network's start may explain ``rgb`` and still be kept."""
    return SECOND_START_MARGIN if rgb.shape[0] * rgb.shape[1] < SMALL_PHOTO_PIXELS else 0.0


def second_start(
    rgb: np.ndarray,
    kernel: np.ndarray,
    denoise: Callable[[np.ndarray], np.ndarray],
    sharpen: Callable[[np.ndarray], np.ndarray | None],
    info: dict,
    progress: Progress | None = None,
    keep: str | None = None,
) -> np.ndarray:
    """``kernel`` (refined by :func:`refine_kernel`), or the kernel of the same size fitted to
    ``sharpen(rgb)`` (None: no guess to be had) and refined, whichever leaves less of the photo's
    strongest edges :func:`unexplained`, the second given a margin of :data:`SECOND_START_MARGIN`
    on a photo under :data:`SMALL_PHOTO_PIXELS` (``keep="network"``: the second, unjudged). Where
    the second is kept, ``info["start"]`` becomes ``"network"``. The one not kept goes to
    ``info["other_blur"]``, and where it was found from to ``info["other_start"]``: the judge is
    often close (docs/deblurring.md), so the app offers it to compare by eye. ``progress``
    counts :data:`SECOND_START_UNITS`."""
    ks = kernel.shape[0]
    total = SECOND_START_UNITS
    sharp = sharpen(np.asarray(rgb, np.float32))
    if progress:
        progress(1, total)
    if sharp is None or np.shape(sharp) != np.shape(rgb) or not np.isfinite(sharp).all():
        return kernel  # no network to ask, or no usable answer: the first start stands

    def after(done: int) -> Progress | None:
        return None if progress is None else (lambda d, _n: progress(done + d, total))

    unjudged = keep == "network"  # refined, and kept without judging it
    mine = None if unjudged else unexplained(rgb, kernel, denoise, after(1))
    k2 = refine_kernel(rgb, kernel_fitted_to(rgb, sharp, ks), denoise, progress=after(1 + BLIND_ROUNDS))
    if unjudged:
        if progress:
            progress(total, total)
    elif unexplained(rgb, k2, denoise, after(total - BLIND_ROUNDS)) >= mine + _margin(rgb):
        info["other_blur"], info["other_start"] = np.asarray(k2, np.float32), "network"
        return kernel
    info["start"] = "network"
    info["other_blur"], info["other_start"] = np.asarray(kernel, np.float32), "photo"
    return k2


# ----------------------------------------------------------------- when not to trust an estimate
# A deblurred photo worse than the photo itself is the worst outcome, and an estimate can fail: a
# photo with too few edges, a pattern, a blur the uniform model does not fit. Such estimates give
# themselves away, and then the photo is deconvolved gently (:data:`GENTLE_STRENGTH`), or, when no
# blur was found at all, only denoised. The thresholds were chosen on our own kernels over
# training photos, never on benchmark kernels (see docs/deblurring.md).
GENTLER = "the blur could not be found reliably; a gentler result is shown"
GENTLE_STRENGTH = 100.0  # how far a doubted estimate's rounds trust the prior (see deconvolve)
MAX_FILL = 0.55  # a camera's trail covers at most this share of the box around it ...
MIN_PEAK = 2.0  # ... and peaks at least this many times above its mean (a disk blur: 1.0-1.3)
MAX_PIECES = 3  # separate pieces of a trail that a real shake leaves
MAX_RESIDUAL = 0.85  # share of the photo's edges the blur and a sharp photo leave unexplained


def kernel_doubts(kernel: np.ndarray, info: dict | None = None) -> list[str]:
    """Why an estimated blur is not to be trusted, in words (empty when nothing is wrong).

    - a point: no blur at all (a sharp photo, or one of noise);
    - too spread: its trail reaches the edge of the kernel's array (a blur as long as the search
      allowed) while covering most of the box it spans;
    - in pieces: more separate pieces than a shake's trail leaves;
    - unexplained: the blur and the sharp estimate leave most of the photo's edges unexplained
      (``info["residual"]`` from :func:`estimate_kernel`), or the fit did not improve. That
      measures the photo's own start, so it is not read where the network's was kept
      (``info["start"]``, :func:`second_start`)."""
    k = np.asarray(kernel, np.float64)
    why = []
    on = k > 0
    w, h = blur_extent(k, rel=1e-9)
    if max(w, h) <= 1:
        return ["no blur found in the photo: a point"]
    fill = on.sum() / max(1, w * h)
    if max(w, h) >= max(k.shape) - 1 and fill > MAX_FILL:
        why.append(f"too spread ({w}×{h} px, {fill:.0%} of it)")
    pieces = cv2.connectedComponents(on.astype(np.uint8), connectivity=8)[0] - 1
    if pieces > MAX_PIECES:
        why.append(f"in {pieces} pieces")
    if info and info.get("start") != "network":
        res = info.get("residual")
        if res is not None and res > MAX_RESIDUAL:
            why.append(f"{res:.0%} of the photo's edges unexplained")
    return why


# ----------------------------------------------------------------- blurs described by numbers
# What photo editors ask for when the blur is known but no kernel file is at hand: a straight
# shake of some length and angle, or a lens out of focus by some radius.
MAX_BLUR_PX = 121.0  # the longest trail / widest disk accepted (what the estimate finds at 4000 px)
SUBSAMPLES = 8  # per pixel, along a trail and across a disk: smooth, sub-pixel-exact edges


def motion_kernel(length: float, angle: float) -> np.ndarray:
    """A straight camera-shake trail ``length`` px long at ``angle`` degrees (counter-clockwise
    from the horizontal, as photo editors measure it), evenly weighted, centred in an odd
    square array, summing to 1. A length of 1 px or less is no blur (a single pixel)."""
    length = float(length)
    if not 0.0 <= length <= MAX_BLUR_PX:
        raise ValueError(f"a motion blur is 0 to {MAX_BLUR_PX:g} px long, got {length:g}")
    if length <= 1.0:
        return _delta(1)
    n = _odd(length + 2)
    t = np.linspace(-0.5, 0.5, int(np.ceil(length * SUBSAMPLES)) + 1) * (length - 1.0)
    a = np.deg2rad(float(angle))
    xs, ys = (n - 1) / 2 + t * np.cos(a), (n - 1) / 2 - t * np.sin(a)  # image rows grow downwards
    k = np.zeros((n, n))
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    for dy, wy in ((0, 1 - fy), (1, fy)):  # bilinear splats of the points along the trail
        for dx, wx in ((0, 1 - fx), (1, fx)):
            np.add.at(k, (y0 + dy, x0 + dx), wy * wx)
    return k / k.sum()


def defocus_kernel(radius: float) -> np.ndarray:
    """A lens out of focus: a uniform disk of ``radius`` px, its edge pixels weighted by how
    much of them the disk covers, summing to 1. A radius below 0.5 px is no blur."""
    radius = float(radius)
    if not 0.0 <= radius <= MAX_BLUR_PX / 2:
        raise ValueError(f"a lens blur's radius is 0 to {MAX_BLUR_PX / 2:g} px, got {radius:g}")
    if radius < 0.5:
        return _delta(1)
    n = 2 * int(np.ceil(radius)) + 1
    sub = (np.arange(n * SUBSAMPLES) + 0.5) / SUBSAMPLES - n / 2
    yy, xx = np.meshgrid(sub, sub, indexing="ij")
    inside = (xx**2 + yy**2 <= radius**2).reshape(n, SUBSAMPLES, n, SUBSAMPLES)
    k = inside.mean(axis=(1, 3))
    return k / k.sum()


def gaussian_blur_kernel(sigma: float) -> np.ndarray:
    """A soft, even blur (a Gaussian of ``sigma`` px, cut at 3 sigma), summing to 1."""
    sigma = float(sigma)
    if not 0.0 <= sigma <= MAX_BLUR_PX / 6:
        raise ValueError(f"a Gaussian blur's sigma is 0 to {MAX_BLUR_PX / 6:g} px, got {sigma:g}")
    if sigma < 0.1:
        return _delta(1)
    r = int(np.ceil(3 * sigma))
    g = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k = np.outer(g, g)
    return k / k.sum()


BLUR_SHAPES = {  # name -> (maker, the numbers it takes)
    "motion": (motion_kernel, ("length", "angle")),
    "defocus": (defocus_kernel, ("radius",)),
    "gaussian": (gaussian_blur_kernel, ("sigma",)),
}


def _split_spec(spec: str) -> tuple[str, list[str]]:
    """``"Motion:15:30"`` -> ``("motion", ["15", "30"])``."""
    name, *numbers = spec.strip().lower().split(":")
    return name, numbers


def describe_blur_spec(spec: str) -> str | None:
    """``motion:15:30`` -> ``15 px motion at 30°`` (``defocus:4`` -> ``4 px lens blur``,
    ``gaussian:1.5`` -> ``1.5 px soft blur``); None for anything else (a file's path)."""
    name, numbers = _split_spec(spec)
    if name not in BLUR_SHAPES or len(numbers) != len(BLUR_SHAPES[name][1]):
        return None
    if name == "motion":
        return f"{numbers[0]} px motion at {numbers[1]}°"
    return f"{numbers[0]} px {'lens' if name == 'defocus' else 'soft'} blur"


def blur_from_spec(spec: str) -> np.ndarray:
    """The kernel a short description names: ``motion:LENGTH:ANGLE`` (px, degrees),
    ``defocus:RADIUS`` or ``gaussian:SIGMA`` (px). ``ValueError`` says what is wrong."""
    name, numbers = _split_spec(spec)
    if name not in BLUR_SHAPES:
        raise ValueError(f"unknown blur {name!r}: use motion:LENGTH:ANGLE, defocus:RADIUS or gaussian:SIGMA")
    make, params = BLUR_SHAPES[name]
    if len(numbers) != len(params):
        raise ValueError(f"{name} takes {len(params)} number(s), {':'.join(params).upper()}, got {spec!r}")
    try:
        values = [float(v) for v in numbers]
    except ValueError:
        raise ValueError(f"{spec!r}: {':'.join(params).upper()} must be numbers") from None
    if not all(np.isfinite(values)):
        raise ValueError(f"{spec!r}: {':'.join(params).upper()} must be finite numbers")
    return make(*values)


def blur_extent(kernel: np.ndarray, rel: float = 0.05) -> tuple[int, int]:
    """How far the blur spreads a point, ``(width, height)`` in pixels: the box of the kernel's
    pixels above ``rel`` of its peak. A kernel's array is larger than its blur (an estimate's is
    31 px, or the work scale's multiple, whatever it found), so its shape says little; an
    estimate keeps no pixel fainter than 5 % of its peak (:func:`_prune`)."""
    k = np.asarray(kernel, np.float64)
    peak = float(k.max()) if k.size else 0.0
    if not peak > 0:
        return 0, 0
    ys, xs = np.nonzero(k >= peak * rel)
    return int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def describe_blur_extent(kernel: np.ndarray) -> str:
    """``"15×9 px"``: the blur's :func:`blur_extent`, as the app and the command line word it."""
    w, h = blur_extent(kernel)
    return f"{w}×{h} px"


def describe_blur(
    kernel: np.ndarray | None, given: bool, source: str | None = None, doubt: str | None = None
) -> str:
    """A deconvolution's blur in the words of a finished run: ``"15×9 px blur found"``,
    ``"given 15 px motion at 30°"`` (a shape, as it was set) or ``"given a 5×2 px blur"``; where
    the estimate was not trusted (``doubt``), :data:`GENTLER`."""
    if doubt is not None or kernel is None:
        return GENTLER
    size = describe_blur_extent(kernel)
    if not given:
        return f"{size} blur found"
    return f"given {describe_blur_spec(source or '') or f'a {size} blur'}"


# ----------------------------------------------------------------- deconvolution
def checked_kernel(kernel: np.ndarray) -> np.ndarray:
    """A given blur kernel as float64 summing to 1; ``ValueError`` if it cannot be one."""
    k = np.asarray(kernel, np.float64)
    if k.ndim != 2 or not np.isfinite(k).all() or (k < 0).any() or not k.sum() > 0:
        raise ValueError("a blur kernel must be a 2-D array of non-negative numbers with a positive sum")
    return k / k.sum()


def estimate_noise(rgb: np.ndarray) -> float:
    """Noise sigma (on the 0-1 scale) from the median diagonal detail of each channel."""
    a = np.asarray(rgb, np.float64)
    a = a[: a.shape[0] // 2 * 2, : a.shape[1] // 2 * 2]
    hh = (a[0::2, 0::2] - a[0::2, 1::2] - a[1::2, 0::2] + a[1::2, 1::2]) / 2.0
    return float(np.mean(np.median(np.abs(hh.reshape(-1, hh.shape[-1])), axis=0)) / 0.6745)


WHOLE_PIXELS = 12_000_000  # larger photos are deconvolved in tiles, to bound the memory
BYTES_PER_PIXEL = 220  # deconvolving a photo whole (measured: 2.3 GB at 10.7 MP)
TILE_CORE = 1536


def _fourier_step(
    blurred: np.ndarray,
    prior: np.ndarray,
    kernel: np.ndarray,
    a: float,
    cache: dict,
    trusted: np.ndarray | None = None,
) -> np.ndarray:
    """``argmin_x |kernel * x - blurred|^2 + a |x - prior|^2`` for HxWxC float32 arrays, each
    channel on its own over the mirrored (seamless, periodic) photo; ``cache`` keeps the
    kernel's transfer function for each grid size.

    ``trusted`` (HxW in [0, 1]) weighs the data term pixel by pixel: where it is 0 (a clipped
    light's reach) the photo is replaced by ``kernel * prior``, the current estimate blurred, so
    those pixels pull the estimate nowhere (one step of the usual way to minimise a weighted
    data term, as each round's estimate is the next one's prior)."""
    torch = _torch()
    h, w = blurred.shape[:2]
    shape = (2 * fast_length(h), 2 * fast_length(w))
    if shape not in cache:
        K = torch.from_numpy(_rotf(kernel, shape)).to(torch.complex64)
        cache[shape] = (K.conj(), K.abs() ** 2, K)
    Kc, power, K = cache[shape]
    a = float(a)
    out = np.empty_like(blurred)
    for c in range(blurred.shape[2]):
        p = torch.fft.rfft2(torch.from_numpy(_periodic(prior[..., c])))
        y = blurred[..., c]
        if trusted is not None:
            reblurred = torch.fft.irfft2(K * p, s=shape)[:h, :w].numpy()
            y = trusted * y + (1.0 - trusted) * reblurred
        num = Kc * torch.fft.rfft2(torch.from_numpy(_periodic(y))) + a * p
        out[..., c] = torch.fft.irfft2(num / (power + a), s=shape)[:h, :w].numpy()
    return out


def _tiles(h: int, w: int, core: int, margin: int) -> Iterator[tuple[slice, slice, slice, slice]]:
    """Cover the photo with ``core`` px squares, each read with ``margin`` px around it:
    (rows read, columns read, rows kept within those read, columns kept)."""
    for y0 in range(0, h, core):
        for x0 in range(0, w, core):
            y1, x1 = min(y0 + core, h), min(x0 + core, w)
            ry, rx = max(0, y0 - margin), max(0, x0 - margin)
            rows, cols = slice(ry, min(h, y1 + margin)), slice(rx, min(w, x1 + margin))
            yield rows, cols, slice(y0 - ry, y1 - ry), slice(x0 - rx, x1 - rx)


def deconvolve_rounds(
    rgb: np.ndarray,
    kernel: np.ndarray,
    denoise: Callable[[np.ndarray], np.ndarray],
    sigma: float | None = None,
    iters: int = 8,
    strength: float = ESTIMATED_STRENGTH,
    whole_pixels: int = WHOLE_PIXELS,
    tile: int = TILE_CORE,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """:func:`deconvolve` one round at a time: yields ``(x, z)`` after each round, ``x`` the
    Fourier step (clipped to [0, 1]) and ``z`` the denoised estimate, both float32 HxWx3.

    Each channel is transformed on its own, in single precision where NumPy allows. Taken
    whole, a photo needs about :data:`BYTES_PER_PIXEL` bytes a pixel (2.3 GB at 10.7 MP); one
    above ``whole_pixels`` takes its Fourier steps in ``tile`` px squares instead, each read
    with three kernel lengths of the photo around it (1.6 GB at 10.7 MP, and no more for
    bigger photos, but about 3x slower). The step at a pixel depends on its neighbourhood
    only, so the tiles agree with the whole photo (to 80 dB PSNR on the example photo)."""
    k = checked_kernel(kernel)
    if iters < 1:
        raise ValueError(f"deconvolution needs at least one round, got {iters}")
    h, w = rgb.shape[:2]
    if k.shape[0] > h or k.shape[1] > w:
        raise ValueError(
            f"the blur kernel ({k.shape[1]}x{k.shape[0]} px) is larger than the photo ({w}x{h} px)"
        )
    if sigma is None:
        sigma = estimate_noise(rgb)
    sigma = max(float(sigma), 1e-3)
    rgb = np.asarray(rgb, np.float32)
    cache: dict = {}
    parts = None if h * w <= whole_pixels else list(_tiles(h, w, tile, max(32, 3 * max(k.shape))))
    clipped = clipped_mask(rgb)
    trusted = None
    if clipped.any():  # a clipped light: its reach is left out of the data term
        trusted = (1.0 - reach_of_clipped(clipped, max(k.shape))).astype(np.float32)
    z = rgb
    allowances = np.geomspace(49.0 / 255.0, sigma, iters) if iters > 1 else np.array([sigma])
    for s in allowances:
        a = np.float32(strength * sigma**2 / s**2)
        if parts is None:
            x = _fourier_step(rgb, z, k, a, cache, trusted)
        else:
            x = np.empty_like(rgb)
            for rows, cols, keep_r, keep_c in parts:
                t = None if trusted is None else trusted[rows, cols]
                x[rows, cols][keep_r, keep_c] = _fourier_step(rgb[rows, cols], z[rows, cols], k, a, cache, t)[
                    keep_r, keep_c
                ]
        x = np.clip(x, 0.0, 1.0)
        z = np.clip(np.asarray(denoise(x), np.float32), 0.0, 1.0)
        yield x, z


def deconvolve(
    rgb: np.ndarray,
    kernel: np.ndarray,
    denoise: Callable[[np.ndarray], np.ndarray],
    sigma: float | None = None,
    iters: int = 8,
    strength: float = ESTIMATED_STRENGTH,
    progress: Progress | None = None,
) -> np.ndarray:
    """Deconvolve a photo (float HxWx3 in [0, 1]) by ``kernel`` with ``denoise`` as the prior.

    ``sigma`` is the photo's noise on the 0-1 scale (estimated when None). Each of the
    ``iters`` rounds takes a Fourier step towards the blurred photo, weighted against the
    last estimate by ``strength * sigma^2 / s^2`` as the allowance ``s`` falls from 49/255
    to ``sigma``, then denoises. A larger ``strength`` trusts the kernel less.

    - :data:`REFINE_STRENGTH` (25), for an estimate as found, was chosen on our own shake
      kernels over training photos (mean gain over the input -0.03 dB at 4, 0.68 at 10,
      1.02 at 25, 1.04 at 60, 0.84 at 150). On 16 photos blurred by the training mix, 12,
      25 and 40 over 8 rounds, or 15 and 25 over 5, all gained 1.27-1.45 dB.
    - :data:`ESTIMATED_STRENGTH` (8), for an estimate refined by :func:`refine_kernel`: on 19
      training photos (256 px crops, the training blur mix), estimates refined in three passes
      gained 2.28 dB at 25, 2.76 at 12, 2.94 at 8, 3.04 at 5 and 3.01 at 3; 8 costs less
      where the estimate is wrong (a photo left 1.3 dB below its input at 8 was 1.8 dB below
      at 5). The refinement's second pass deconvolves at 8 too (:data:`REFINE_STRENGTHS`).
    - :data:`KNOWN_STRENGTH` (4), for a known kernel: on the same 16 photos told their
      kernels, 8 rounds gained 7.32 dB at 1, 7.59 at 2, 7.62 at 4, 7.27 at 8 and 5.95 at 25.
      5 rounds gained 7.81 at 2 (better than 8 rounds on 14 of the 16 photos), 7.61 at 4 and
      7.05 at 8, and are :data:`KNOWN_ROUNDS`: more rounds over-smooth, as the denoiser is
      blind to the noise level it is handed. But a measured blur is never exact, and the
      harder a round trusts the kernel, the more a wrong one costs. Told a kernel 15 % too
      long, 8 of those photos gained -0.36 dB at 2 (5 rounds), +0.59 at 4, +1.31 at 8 and
      +1.72 at 25 (8 rounds); told it smoothed (a 1 px Gaussian), +3.63, +4.26, +4.33 and
      +3.92; told it 1 px off, +3.78, +3.83, +3.65 and +3.20. 4 keeps nearly all of the gain
      of an exact kernel and stays above the photo with a wrong one."""
    z = None
    for i, rounds in enumerate(deconvolve_rounds(rgb, kernel, denoise, sigma, iters, strength)):
        z = rounds[1]
        if progress:
            progress(i + 1, iters)
    return z
