"""Image quality metrics with the field's conventions: PSNR and SSIM, on RGB or on the Y channel."""

from __future__ import annotations

import cv2
import numpy as np


def psnr(a: np.ndarray, b: np.ndarray, border: int = 0) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1] (``border`` px cropped from each side)."""
    a, b = _crop(a, border), _crop(b, border)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    if mse == 0:
        return float("inf")
    return 10.0 * np.log10(1.0 / mse)


def shifted_psnr(a: np.ndarray, b: np.ndarray, reach: int = 4) -> float:
    """PSNR of ``a`` against ``b`` at the best whole-pixel shift of ``a`` within ``reach`` px,
    over ``b`` less a ``reach`` px border: blind-deblurring benchmarks score this way, since
    where a photo sat under a blur cannot be told from the blurred photo."""
    h, w = b.shape[:2]
    ref = b[reach : h - reach, reach : w - reach]
    shifts = range(-reach, reach + 1)
    return max(
        psnr(a[reach + dy : h - reach + dy, reach + dx : w - reach + dx], ref)
        for dy in shifts
        for dx in shifts
    )


def ssim(a: np.ndarray, b: np.ndarray, border: int = 0) -> float:
    """Structural similarity (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, mean over channels."""
    a, b = _crop(a, border).astype(np.float64), _crop(b, border).astype(np.float64)
    if a.ndim == 2:
        return _ssim_channel(a, b)
    return float(np.mean([_ssim_channel(a[..., c], b[..., c]) for c in range(a.shape[2])]))


def _ssim_channel(x: np.ndarray, y: np.ndarray) -> float:
    c1, c2 = (0.01) ** 2, (0.03) ** 2

    def filt(img):
        return cv2.GaussianBlur(img, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)[5:-5, 5:-5]

    if min(x.shape) < 11:
        return float("nan")
    mx, my = filt(x), filt(y)
    sxx = filt(x * x) - mx * mx
    syy = filt(y * y) - my * my
    sxy = filt(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    return float(np.mean(num / den))


def rgb_to_y(rgb: np.ndarray) -> np.ndarray:
    """Luma as MATLAB's ``rgb2ycbcr`` (ITU-R BT.601, studio range), scaled back to [0, 1]."""
    y = 16.0 + 65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]
    return y / 255.0


def _crop(a: np.ndarray, border: int) -> np.ndarray:
    return a[border:-border, border:-border] if border > 0 else a
