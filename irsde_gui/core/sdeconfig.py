"""The settings that define a mean-reverting SDE (light: no PyTorch), stored in model cards."""

from __future__ import annotations

from dataclasses import dataclass

SCHEDULES = ("cosine", "linear", "constant")


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
        return cls(
            T=int(d["T"]),
            max_sigma=float(d["max_sigma"]),
            schedule=str(d.get("schedule", "cosine")),
            eps=float(d.get("eps", 0.005)),
        )
