"""Two networks of one task as one: their predictions mixed, ``(1 - mix) a + mix b``.

Remove rain ships one network trained on light streaks and one trained on downpours (dense
streaks at every depth, splashes, veil). Each is best on its own rain and worse on the other's;
their mean keeps most of both, and a job may lean it towards the second member
(:meth:`..tasks.Task.ensemble_mix`: derain leans by the veil heavy rain leaves). Both members
predict the same quantity (``x0 - mu`` or the noise), so the mixed prediction is a prediction
of the same kind, step after step of the reverse SDE.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class EnsembleNet(nn.Module):
    """Two built networks (``members``) run one after the other on the same input; ``mix`` is
    the second's share (0 to 1), settable per run. Built from a card by :func:`..nets.build_model`
    (``{"name": "ensemble", "members": [config, config], "mix": 0.5}``)."""

    def __init__(self, members: list[nn.Module], mix: float = 0.5):
        super().__init__()
        if len(members) != 2:
            raise ValueError("an ensemble has exactly two members")
        if any(isinstance(m, EnsembleNet) for m in members):
            raise ValueError("an ensemble's members are networks, not ensembles")
        self.members = nn.ModuleList(members)
        predicts = {getattr(m, "predict", "x0") for m in self.members}
        if len(predicts) != 1:
            raise ValueError("an ensemble's members must predict the same quantity")
        self.predict = predicts.pop()
        # Padded to a size every member takes (an unshuffled member's is not a power of two).
        self.multiple = math.lcm(*(int(getattr(m, "multiple", 1)) for m in self.members))
        # They run one after the other: the peak memory is the larger member's, not the sum.
        self.width = max(int(getattr(m, "width", 16)) for m in self.members)
        self.default_mix = self.mix = self.checked_mix(mix)

    @staticmethod
    def checked_mix(mix: float) -> float:
        mix = float(mix)
        if not 0.0 <= mix <= 1.0:
            raise ValueError(f"an ensemble's mix is from 0 to 1, got {mix}")
        return mix

    def forward(self, x_t: torch.Tensor, mu: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a, b = self.members
        mix = self.mix
        if mix <= 0.0:
            return a(x_t, mu, t)
        if mix >= 1.0:
            return b(x_t, mu, t)
        return (1.0 - mix) * a(x_t, mu, t) + mix * b(x_t, mu, t)
