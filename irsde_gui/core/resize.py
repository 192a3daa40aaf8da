"""Bicubic resizing for ×4 super-resolution, shared by training (the low-res photo a model
learns from) and use (the ``mu`` a low-res photo becomes): both must resize alike."""

from __future__ import annotations

import torch
import torch.nn.functional as F

SR_SCALE = 4


def downsample(x: torch.Tensor, scale: int = SR_SCALE) -> torch.Tensor:
    """Antialiased bicubic downsampling (as MATLAB's imresize), clipped to [0, 1]."""
    h, w = x.shape[-2:]
    return F.interpolate(
        x, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False
    ).clamp(0, 1)


def upsample(x: torch.Tensor, scale: int = SR_SCALE) -> torch.Tensor:
    """Bicubic upsampling of a low-res image to ``mu`` (the same in training and in use)."""
    return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False).clamp(0, 1)
