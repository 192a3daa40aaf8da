"""Camera noise and compression as real photos carry them, for training and evaluating ``denoise``.

A camera does not add white Gaussian noise to an sRGB photo. Its sensor counts photons behind a
Bayer colour filter: the noise is signal-dependent (shot noise) plus a floor (read noise), one
value per photosite. The camera then demosaics (which correlates the noise across neighbouring
pixels and across channels), applies white balance and a colour matrix (which amplifies the
noise differently per channel and mixes it between them), a tone curve (which lifts the noise in
the shadows), sometimes smooths it and resizes the photo, and saves a JPEG. :func:`camera_noise`
runs that chain backwards from a clean sRGB photo to its sensor values, adds the noise there,
and forwards again (the "unprocessing" idea of Brooks et al., CVPR 2019, written here from the
description), so the clean photo stays the exact target.

All parameters are drawn per photo from a ``torch.Generator`` (on the CPU), as in
:mod:`.degrade`: a seed gives the same result on every run.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F

Tensor = torch.Tensor

# Poisson-Gaussian noise on sensor values in [0, 1]: variance = shot * x + read. The shot gain
# spans base ISO on a large sensor (1e-4) to a phone at ISO 12800 (2e-2); the read noise follows
# it as measured on real cameras (log read = 2.18 log shot + 1.2, scatter 0.26).
SHOT_RANGE = (1e-4, 2e-2)
JPEG_RANGE = (30, 95)
BAYER_CODES = (cv2.COLOR_BayerRG2RGB, cv2.COLOR_BayerGR2RGB, cv2.COLOR_BayerGB2RGB, cv2.COLOR_BayerBG2RGB)
BAYER_EA = (
    cv2.COLOR_BayerRG2RGB_EA,
    cv2.COLOR_BayerGR2RGB_EA,
    cv2.COLOR_BayerGB2RGB_EA,
    cv2.COLOR_BayerBG2RGB_EA,
)


def _u(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand(1, generator=g, dtype=torch.float64))


def _chance(g: torch.Generator, p: float) -> bool:
    return bool(torch.rand(1, generator=g) < p)


# ----------------------------------------------------------------- tone
def srgb_to_linear(x: Tensor) -> Tensor:
    x = x.clamp(0, 1)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: Tensor) -> Tensor:
    x = x.clamp(0, 1)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-12) ** (1 / 2.4) - 0.055)


def tone(lin: Tensor, gamma: float, contrast: float) -> Tensor:
    """A camera's tone curve: sRGB's, bent by ``gamma`` and blended with an S-curve by ``contrast``."""
    u = linear_to_srgb(lin) ** gamma
    return (1 - contrast) * u + contrast * u * u * (3 - 2 * u)


def inverse_tone(y: Tensor, gamma: float, contrast: float, knots: int = 2049) -> Tensor:
    """The linear light that :func:`tone` maps to ``y``: the increasing curve tabulated on a grid
    that is dense in the shadows (uniform in sRGB code values) and inverted by interpolation."""
    lin = srgb_to_linear(torch.linspace(0, 1, knots, dtype=torch.float64, device=y.device))
    ys = tone(lin, gamma, contrast)
    yf = y.clamp(0, 1).to(torch.float64).reshape(-1)
    i = torch.searchsorted(ys, yf).clamp(1, knots - 1)
    y0, y1 = ys[i - 1], ys[i]
    w = ((yf - y0) / (y1 - y0).clamp_min(1e-15)).clamp(0, 1)
    return (lin[i - 1] + w * (lin[i] - lin[i - 1])).reshape(y.shape).to(y.dtype)


# ----------------------------------------------------------------- sensor
def colour_matrix(g: torch.Generator) -> Tensor:
    """A camera-to-sRGB colour matrix: rows sum to 1 (white stays white), negative off-diagonals
    as real matrices have, which amplify and mix the sensor noise between channels."""
    m = torch.zeros(3, 3, dtype=torch.float64)
    for i in range(3):
        for j in range(3):
            if i != j:
                m[i, j] = -_u(g, 0.05, 0.45)
        m[i, i] = 1 - m[i].sum()
    return m.float()


def mosaic(raw: Tensor, phase: int) -> Tensor:
    """One value per photosite (B x 1 x H x W) from RGB sensor values, Bayer pattern ``phase`` 0-3
    (RGGB, GRBG, GBRG, BGGR)."""
    b, _, h, w = raw.shape
    ch = bayer_channels(phase, h, w, raw.device)
    return raw.gather(1, ch.expand(b, 1, h, w))


def bayer_channels(phase: int, h: int, w: int, device) -> Tensor:
    """The channel index (0 R, 1 G, 2 B) of each photosite for Bayer ``phase``."""
    layouts = ((0, 1, 1, 2), (1, 0, 2, 1), (1, 2, 0, 1), (2, 1, 1, 0))
    tl, tr, bl, br = layouts[phase]
    cell = torch.tensor([[tl, tr], [bl, br]], device=device)
    return cell.repeat((h + 1) // 2, (w + 1) // 2)[:h, :w].view(1, 1, h, w)


def demosaic_bilinear(m: Tensor, phase: int) -> Tensor:
    """Bilinear demosaicing of a mosaic (B x 1 x H x W) back to RGB, on any device."""
    b, _, h, w = m.shape
    ch = bayer_channels(phase, h, w, m.device)
    masks = torch.cat([(ch == c) for c in range(3)], dim=1).to(m.dtype)  # 1 x 3 x H x W
    k_rb = torch.tensor([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=m.dtype, device=m.device) / 4
    k_g = torch.tensor([[0, 1, 0], [1, 4, 1], [0, 1, 0]], dtype=m.dtype, device=m.device) / 4
    weights = torch.stack([k_rb, k_g, k_rb]).unsqueeze(1)
    sparse = F.pad(m * masks, (1, 1, 1, 1), mode="reflect")
    dense = F.pad(masks.expand(b, 3, h, w), (1, 1, 1, 1), mode="reflect")
    # Normalising by the interpolated mask keeps the borders (where reflection breaks the
    # pattern) exact for flat colour.
    return F.conv2d(sparse, weights, groups=3) / F.conv2d(dense, weights, groups=3).clamp_min(1e-6)


def demosaic_edge_aware(m: Tensor, phase: int) -> Tensor:
    """OpenCV's edge-aware demosaicing (as cameras interpolate along edges), on the CPU."""
    out = []
    for img in m[:, 0].detach().cpu().numpy():
        u16 = (np.clip(img, 0, 1) * 65535 + 0.5).astype(np.uint16)
        out.append(cv2.cvtColor(u16, BAYER_EA[phase]).astype(np.float32) / 65535)
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).to(m.device, m.dtype)


def poisson_gaussian(raw: Tensor, shot: float, read: float, g: torch.Generator) -> Tensor:
    """Sensor noise: variance ``shot * x + read`` (a Gaussian approximation of Poisson counts)."""
    std = (shot * raw.clamp_min(0) + read).sqrt()
    return raw + std * torch.randn(raw.shape, generator=g, dtype=raw.dtype).to(raw.device)


def noise_levels(g: torch.Generator, shot_range: tuple[float, float] = SHOT_RANGE) -> tuple[float, float]:
    """A photo's (shot, read) noise, log-uniform over the sensor gains of ``shot_range``."""
    log_shot = _u(g, math.log(shot_range[0]), math.log(shot_range[1]))
    log_read = 2.18 * log_shot + 1.2 + 0.26 * float(torch.randn(1, generator=g))
    return math.exp(log_shot), math.exp(log_read)


# ----------------------------------------------------------------- compression and resizing
def jpeg(x: Tensor, qualities) -> Tensor:
    """Each photo of ``x`` saved as a JPEG at its quality (4:2:0 chroma, as cameras and the web
    save) and read back; greyscale photos (three equal channels) are saved as greyscale."""
    out = []
    for img, q in zip(x.detach().float().cpu().clamp(0, 1).numpy(), qualities):
        u8 = (img.transpose(1, 2, 0) * 255 + 0.5).astype(np.uint8)
        grey = bool((u8[..., 0] == u8[..., 1]).all() and (u8[..., 1] == u8[..., 2]).all())
        src = u8[..., 0] if grey else u8[..., ::-1]
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(src), [cv2.IMWRITE_JPEG_QUALITY, int(q)])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        dec = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR)
        dec = np.repeat(dec[..., None], 3, axis=2) if grey else dec[..., ::-1]
        out.append(dec.astype(np.float32) / 255)
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).to(x.device, x.dtype)


def greyscale(x: Tensor) -> Tensor:
    """Luma (BT.601) in all three channels: a black-and-white photo in an RGB file."""
    w = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True).expand_as(x).contiguous()


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    r = max(1, math.ceil(3 * sigma))
    ax = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (ax / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (r, r, r, r), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


RESIZE_MODES = ("area", "bilinear", "bicubic")


def resize(x: Tensor, size: tuple[int, int], mode: str) -> Tensor:
    if mode == "area":
        if size[0] > x.shape[-2]:  # area is for shrinking; bilinear is what enlarges like it
            mode = "bilinear"
        else:
            return F.interpolate(x, size=size, mode="area")
    return F.interpolate(x, size=size, mode=mode, align_corners=False, antialias=size[0] < x.shape[-2])


# ----------------------------------------------------------------- the camera
def colour_noise_reduction(noise: Tensor, g: torch.Generator) -> Tensor:
    """In-camera noise reduction as cameras run it, on brightness and colour apart: the colour
    noise smoothed far more than the grain (a 1-3 px blur against 0-0.8), so the colour noise
    that survives is blotches a few pixels wide, as high-ISO camera JPEGs show."""
    luma = noise.mean(dim=1, keepdim=True)
    chroma = gaussian_blur(noise - luma, _u(g, 1.0, 3.0))
    sigma = _u(g, 0.0, 0.8)
    if sigma >= 0.3:
        luma = gaussian_blur(luma, sigma)
    return luma + chroma


def sharpen_grain(noise: Tensor, g: torch.Generator) -> Tensor:
    """In-camera sharpening (an unsharp mask on brightness, as image processors run it after noise
    reduction) of the noise in an sRGB photo: the fine grain comes out stronger and crisper than
    the sensor left it. Only the noise is sharpened: the clean photo stands for the camera's own
    sharpened one. Real camera JPEGs measured so far (PolyU) carry grain smoother than the sensor
    chain's, not crisper (``tools/noise_stats.py``), so no default mix uses it."""
    luma = noise.mean(dim=1, keepdim=True)
    amount = _u(g, 0.5, 2.0)
    return noise + amount * (luma - gaussian_blur(luma, _u(g, 0.7, 1.5)))


def fade_colour(noise: Tensor, g: torch.Generator) -> Tensor:
    """The camera's colour noise reduction as it leaves real JPEGs: the colour part of the noise
    kept at a tenth to seven tenths of its strength, its grain as it was. On 40 PolyU pairs (the
    coarse differences between shots taken out) the colour noise is a third of the brightness
    noise (0.99 against 2.85 of 255), where the sensor chain alone leaves them alike (3.3 and
    3.5): a denoiser that learnt grain only beside strong colour noise leaves the grain of such
    photos."""
    luma = noise.mean(dim=1, keepdim=True)
    return luma + _u(g, 0.1, 0.7) * (noise - luma)


def shape_by_tone(noise: Tensor, clean: Tensor, g: torch.Generator) -> Tensor:
    """The noise of a camera JPEG as its tone curve and tone-dependent noise reduction leave it:
    weaker in the shadows (kept at 0.4-0.8 near black) and weaker still in the highlights (0.1-0.6
    near white), full in the mid-tones. On 40 PolyU pairs the grain near black is 0.70 of the
    mid-tones' and near white 0.32, where the sensor chain leaves it 1.01 and 0.69
    (``tools/noise_stats.py``): a denoiser that learnt the chain's profile reads the mid-tone
    grain of a real photo, beside its quiet shadows and highlights, as texture."""
    y = clean.mean(dim=1, keepdim=True).clamp(0, 1)
    dark, bright = _u(g, 0.2, 0.6), _u(g, 0.4, 0.9)
    a = torch.where(y < 0.5, dark, bright)
    return noise * (1 - a * (1 - torch.sin(math.pi * y)))


def _sensor_noise(
    x0: Tensor,
    g: torch.Generator,
    shot_range,
    colour_nr: bool = False,
    sharpen: float = 0.0,
    fade: float = 0.0,
    shape: float = 0.0,
) -> Tensor:
    """One photo (1 x 3 x H x W, sRGB) through the sensor and the camera's processing, no JPEG.
    ``colour_nr``: half the photos get the camera's brightness/colour noise reduction
    (:func:`colour_noise_reduction`) instead of the plain smoothing below; ``sharpen``: the share
    of photos whose grain the camera then sharpens (:func:`sharpen_grain`); ``fade``: the share
    whose colour noise it weakens (:func:`fade_colour`); ``shape``: whose noise its tone curve
    and noise reduction weaken in the shadows and highlights (:func:`shape_by_tone`)."""
    gamma, contrast = _u(g, 0.8, 1.25), _u(g, 0.0, 0.6) if _chance(g, 0.5) else 0.0
    ccm = colour_matrix(g).to(x0.device)
    wb = torch.tensor([_u(g, 1.5, 2.6), 1.0, _u(g, 1.3, 2.2)], device=x0.device).view(1, 3, 1, 1)
    exposure = _u(g, 0.7, 1.0)  # a photo rarely uses the sensor's full range
    lin = inverse_tone(x0, gamma, contrast)
    cam = torch.einsum("ij,bjhw->bihw", torch.linalg.inv(ccm), lin).clamp(0, 1)
    raw = cam / wb * exposure
    phase = int(torch.randint(0, 4, (1,), generator=g))
    shot, read = noise_levels(g, shot_range)
    clean_m = mosaic(raw, phase)
    noisy_m = poisson_gaussian(clean_m, shot, read, g).clamp(0, 1)
    demosaic = demosaic_edge_aware if _chance(g, 0.5) else demosaic_bilinear
    # Only the noise is carried forward (the demosaiced difference): the clean photo stays the
    # exact target, while the noise is correlated as the camera's interpolation makes it.
    noise = demosaic(noisy_m, phase) - demosaic(clean_m, phase)
    if colour_nr and _chance(g, 0.5):
        noise = colour_noise_reduction(noise, g)
    elif _chance(g, 0.3):  # in-camera noise reduction: the fine grain goes, blotches stay
        noise = gaussian_blur(noise, _u(g, 0.4, 1.2))
    lin_noisy = (lin + torch.einsum("ij,bjhw->bihw", ccm, noise * wb / exposure)).clamp(0, 1)
    grain = tone(lin_noisy, gamma, contrast) - tone(lin, gamma, contrast)
    if sharpen > 0 and _chance(g, sharpen):
        grain = sharpen_grain(grain, g)
    if fade > 0 and _chance(g, fade):
        grain = fade_colour(grain, g)
    if shape > 0 and _chance(g, shape):
        grain = shape_by_tone(grain, x0, g)
    return x0 + grain


def camera_noise(
    x0: Tensor,
    g: torch.Generator,
    shot_range: tuple[float, float] = SHOT_RANGE,
    p_resize: float = 0.3,
    p_jpeg: float = 0.8,
    jpeg_range: tuple[int, int] = JPEG_RANGE,
    colour_nr: bool = False,
    sharpen: float = 0.0,
    fade: float = 0.0,
    shape: float = 0.0,
) -> Tensor:
    """Each photo of ``x0`` (B x 3 x H x W, sRGB in [0, 1]) as a camera would have taken it: noise
    at the sensor, demosaiced, colour-processed, sometimes smoothed (``colour_nr``: often as
    cameras do, colour apart from brightness), sharpened (the share ``sharpen``), its colour
    noise weakened (the share ``fade``), weakened in its shadows and highlights (the share
    ``shape``) or resized, then a JPEG."""
    out = []
    h, w = x0.shape[-2:]
    for img in x0.split(1):
        if _chance(g, p_resize):
            # Taken at another resolution and resized afterwards, as phones and web pages do.
            # Shrunk (s > 1), the noise comes out weaker and correlated by the resampling;
            # enlarged (s < 1: an old or cropped photo blown up), it is coarse, blotchy grain.
            # Only the noise is carried over, so the clean photo stays the target.
            s = _u(g, 1.25, 2.5) if _chance(g, 0.6) else _u(g, 0.4, 0.8)
            big = (max(8, round(h * s)), max(8, round(w * s)))
            up = resize(img, big, "bicubic").clamp(0, 1)
            mode = RESIZE_MODES[int(torch.randint(0, 3, (1,), generator=g))]
            noisy = img + resize(
                _sensor_noise(up, g, shot_range, colour_nr, sharpen, fade, shape) - up, (h, w), mode
            )
        else:
            noisy = _sensor_noise(img, g, shot_range, colour_nr, sharpen, fade, shape)
        out.append(noisy.clamp(0, 1))
    noisy = torch.cat(out)
    if p_jpeg > 0:
        qs = [int(torch.randint(jpeg_range[0], jpeg_range[1] + 1, (1,), generator=g)) for _ in out]
        keep = [_chance(g, p_jpeg) for _ in out]
        if any(keep):
            idx = [i for i, k in enumerate(keep) if k]
            noisy[idx] = jpeg(noisy[idx], [qs[i] for i in idx])
    return noisy


def jpeg_only(x0: Tensor, g: torch.Generator, quality_range: tuple[int, int] = (10, 75)) -> Tensor:
    """A clean photo saved over-compressed: blocks, ringing and colour bleeding, no noise."""
    qs = [
        int(torch.randint(quality_range[0], quality_range[1] + 1, (1,), generator=g)) for _ in range(len(x0))
    ]
    return jpeg(x0, qs)
