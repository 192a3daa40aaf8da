"""Conditional NAFNet: a small, CPU-friendly U-Net for the IR-SDE.

Input is the 6-channel concatenation ``[x_t - mu, mu]`` and the integer step
``t``. A sinusoidal embedding of ``t`` goes through an MLP and every block gets
its own scale and shift from it (FiLM), so each block knows how noisy its input
is. The body follows NAFNet (Chen et al., 2022): depthwise convolutions,
a "simple gate" (split channels, multiply halves) instead of an activation, and
a cheap channel attention. Blocks are concentrated at low resolution, where they
cost little, because a 2-core CPU is the design target.

``unshuffle`` s > 1 folds each s x s square of pixels into channels before the U-Net and unfolds
the output after it (pixel unshuffle and shuffle, as in ESPCN): the blocks then work at 1/s of
the size, with s*s times the channels going in. For x4 upscaling, where ``mu`` is a low-res
photo enlarged 4x, s = 4 runs the network at the low-res photo's own size: its reach in that
photo's pixels is four times longer (JPEG blocks and noise there are 32 px wide at full size),
at about a third of the time a training step takes at full size.

The network predicts either the clean image as a residual over ``mu``
(``predict="x0"``) or the noise (``predict="noise"``); :mod:`irsde_gui.core.sde`
turns either into ``x0_hat``, the score and the posterior step.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of (possibly fractional) step indices, shape (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class LayerNorm2d(nn.Module):
    """Layer norm over the channel axis of an NCHW tensor."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), self.weight, self.bias, self.eps)
        return y.permute(0, 3, 1, 2)

    def modulated(self, x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        """``self(x) * (1 + scale) + shift`` for per-sample ``scale`` and ``shift`` (N x C). One
        row for the whole batch (one time step, as when sampling) folds them into the norm."""
        k = 1 + scale
        weight, bias = self.weight * k, self.bias * k + shift
        shared = weight.shape[0] == 1
        affine = (weight[0], bias[0]) if shared else (None, None)
        y = F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), *affine, self.eps).permute(0, 3, 1, 2)
        return y if shared else torch.addcmul(bias[:, :, None, None], y, weight[:, :, None, None])


class SimpleGate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


class CondNAFBlock(nn.Module):
    """NAFNet block whose two normalised branches are modulated by the time embedding."""

    def __init__(self, c: int, emb_dim: int, expand: int = 2):
        super().__init__()
        dw = c * expand
        self.film = nn.Linear(emb_dim, 4 * c)
        self.norm1 = LayerNorm2d(c)
        self.conv1 = nn.Conv2d(c, dw, 1)
        self.conv2 = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.sg = SimpleGate()
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dw // 2, dw // 2, 1))
        self.conv3 = nn.Conv2d(dw // 2, c, 1)
        self.norm2 = LayerNorm2d(c)
        self.conv4 = nn.Conv2d(c, 2 * c, 1)
        self.conv5 = nn.Conv2d(c, c, 1)
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        # norm(x) * (1 + s) + b and conv(y) * beta, with the scales folded into the norm's
        # affine and the convolutions' weights: the same sums in fewer passes over the features
        # (most of a step's time at this width is such passes, not convolutions).
        s1, b1, s2, b2 = self.film(emb).chunk(4, dim=1)
        y = self.norm1.modulated(x, s1, b1)
        y = self.sg(self.conv2(self.conv1(y)))
        y = y * self.sca(y)
        x = x + _scaled_conv(self.conv3, y, self.beta)
        y = self.norm2.modulated(x, s2, b2)
        return x + _scaled_conv(self.conv5, self.sg(self.conv4(y)), self.gamma)


def _scaled_conv(conv: nn.Conv2d, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``conv(x) * scale`` (a per-channel scale) as one convolution with scaled weights."""
    g = scale.reshape(-1)
    return F.conv2d(x, conv.weight * g.view(-1, 1, 1, 1), conv.bias * g)


class SpectralBlock(nn.Module):
    """Global context for large holes: a 1x1 convolution on the features' Fourier transform mixes
    every position with every other in one step (the Fourier unit of fast Fourier convolutions,
    Chi et al. 2020, which LaMa uses to inpaint). Its output enters through a zero-initialised
    scale, so adding it to a trained network leaves that network's output unchanged at first."""

    def __init__(self, c: int, emb_dim: int):
        super().__init__()
        inner = c // 2
        self.film = nn.Linear(emb_dim, 2 * c)
        self.norm = LayerNorm2d(c)
        self.reduce = nn.Conv2d(c, inner, 1)
        # On the real and imaginary parts side by side: 2 * inner channels in and out.
        self.spectral = nn.Sequential(
            nn.Conv2d(2 * inner, 2 * inner, 1), nn.GELU(), nn.Conv2d(2 * inner, 2 * inner, 1)
        )
        self.expand = nn.Conv2d(inner, c, 1)
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        s, b = self.film(emb).chunk(2, dim=1)
        y = self.reduce(self.norm.modulated(x, s, b))
        h, w = y.shape[-2:]
        # FFTs want float32 (bf16 has no FFT on the CPU, and too few bits for one).
        with torch.autocast(device_type=y.device.type, enabled=False):
            f = torch.fft.rfft2(y.float(), norm="ortho")
            f = self.spectral(torch.cat([f.real, f.imag], dim=1))
            re, im = f.chunk(2, dim=1)
            g = torch.fft.irfft2(torch.complex(re, im), s=(h, w), norm="ortho")
        y = y + g.to(y.dtype)
        return x + self.expand(y) * self.gamma


class ConditionalNAFNet(nn.Module):
    """U-Net of conditional NAF blocks; see the module docstring.

    ``width`` is the channel count at full resolution, doubled at each of the
    ``len(enc_blocks)`` downsamplings. Any input size works: the input is
    reflect-padded to a multiple of ``2 ** len(enc_blocks)`` and cropped back.
    ``global_blocks`` :class:`SpectralBlock` s follow the middle blocks: the whole photo in
    view at once, for inpainting large holes. ``unshuffle``: see the module docstring.
    """

    def __init__(
        self,
        width: int = 16,
        enc_blocks: tuple[int, ...] | list[int] = (1, 1, 2),
        mid_blocks: int = 4,
        dec_blocks: tuple[int, ...] | list[int] = (1, 1, 1),
        in_channels: int = 3,
        emb_dim: int | None = None,
        predict: str = "x0",
        global_blocks: int = 0,
        unshuffle: int = 1,
    ):
        super().__init__()
        if predict not in ("x0", "noise"):
            raise ValueError(f"predict must be 'x0' or 'noise', not {predict!r}")
        if len(enc_blocks) != len(dec_blocks):
            raise ValueError("enc_blocks and dec_blocks must have the same length")
        self.predict = predict
        self.in_channels = in_channels
        emb_dim = emb_dim or 4 * width
        self.emb_dim = emb_dim
        self.time_mlp = nn.Sequential(
            nn.Linear(width, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim), nn.SiLU()
        )
        self.width = width
        self.unshuffle = unshuffle
        folded = in_channels * unshuffle * unshuffle
        self.intro = nn.Conv2d(2 * folded, width, 3, padding=1)
        self.ending = nn.Conv2d(width, folded, 3, padding=1)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        c = width
        for n in enc_blocks:
            self.encoders.append(nn.ModuleList(CondNAFBlock(c, emb_dim) for _ in range(n)))
            self.downs.append(nn.Conv2d(c, 2 * c, 2, stride=2))
            c *= 2
        self.middle = nn.ModuleList(CondNAFBlock(c, emb_dim) for _ in range(mid_blocks))
        self.global_blocks = nn.ModuleList(SpectralBlock(c, emb_dim) for _ in range(global_blocks))
        for n in dec_blocks:
            self.ups.append(nn.Sequential(nn.Conv2d(c, 2 * c, 1, bias=False), nn.PixelShuffle(2)))
            c //= 2
            self.decoders.append(nn.ModuleList(CondNAFBlock(c, emb_dim) for _ in range(n)))
        self.multiple = unshuffle * 2 ** len(enc_blocks)
        # Start as the identity x0_hat = mu (or zero noise): a sane untrained output.
        nn.init.zeros_(self.ending.weight)
        nn.init.zeros_(self.ending.bias)

    def forward(self, x_t: torch.Tensor, mu: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Return the network's raw prediction: ``x0 - mu`` (predict='x0') or the noise."""
        if t.dim() == 0 or bool((t == t.reshape(-1)[0]).all()):
            t = t.reshape(-1)[:1]  # one time step: one embedding row, which every block folds
        h, w = x_t.shape[-2:]
        m = self.multiple
        ph, pw = (-h) % m, (-w) % m
        inp = torch.cat([x_t - mu, mu], dim=1)
        if ph or pw:
            mode = "reflect" if (ph < h and pw < w) else "replicate"
            inp = F.pad(inp, (0, pw, 0, ph), mode=mode)
        emb = self.time_mlp(timestep_embedding(t.to(inp.device), self.width)).to(inp.dtype)
        if self.unshuffle > 1:
            inp = F.pixel_unshuffle(inp, self.unshuffle)
        x = self.intro(inp)
        skips = []
        for blocks, down in zip(self.encoders, self.downs):
            for blk in blocks:
                x = blk(x, emb)
            skips.append(x)
            x = down(x)
        for blk in self.middle:
            x = blk(x, emb)
        for blk in self.global_blocks:
            x = blk(x, emb)
        for up, blocks, skip in zip(self.ups, self.decoders, reversed(skips)):
            x = up(x) + skip
            for blk in blocks:
                x = blk(x, emb)
        out = self.ending(x)
        if self.unshuffle > 1:
            out = F.pixel_shuffle(out, self.unshuffle)
        return out[..., :h, :w]
