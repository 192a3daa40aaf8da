"""The settings that define a mean-reverting SDE (light: no PyTorch), stored in model cards."""

from __future__ import annotations

import math
from dataclasses import dataclass

SCHEDULES = ("cosine", "linear", "constant")
MAX_T = 10_000  # steps of a schedule; the tasks use 100


@dataclass(frozen=True)
class SDEConfig:
    """What defines an SDE; stored in model cards."""

    T: int = 100
    max_sigma: float = 10.0  # lambda on the 0-255 scale, as the paper writes it
    schedule: str = "cosine"
    eps: float = 0.005

    def to_dict(self) -> dict:
        return {"T": self.T, "max_sigma": self.max_sigma, "schedule": self.schedule, "eps": self.eps}

    @classmethod
    def from_dict(cls, d: dict) -> SDEConfig:
        """The settings of a model card's ``sde``; a value out of its range raises ``ValueError``
        naming the field (NaN in ``max_sigma`` would give black results, ``T = 0`` no steps)."""
        c = cls(
            T=int(d["T"]),
            max_sigma=float(d["max_sigma"]),
            schedule=str(d.get("schedule", "cosine")),
            eps=float(d.get("eps", 0.005)),
        )
        if not 1 <= c.T <= MAX_T:
            raise ValueError(f"sde.T is a number of steps from 1 to {MAX_T}, got {c.T}")
        if not (math.isfinite(c.max_sigma) and 0.0 < c.max_sigma <= 255.0):
            raise ValueError(f"sde.max_sigma is a noise level above 0 and at most 255, got {c.max_sigma}")
        if not (math.isfinite(c.eps) and 0.0 < c.eps < 1.0):
            raise ValueError(f"sde.eps lies between 0 and 1 (both excluded), got {c.eps}")
        if c.schedule not in SCHEDULES:
            raise ValueError(f"sde.schedule is one of {', '.join(SCHEDULES)}, got {c.schedule!r}")
        return c
