"""The mean-reverting SDE of IR-SDE (Luo et al., ICML 2023) as a frozen object.

Forward process, for a clean image ``x0`` and its degraded version ``mu``::

    dx = theta_t (mu - x) dt + sigma_t dw,      sigma_t^2 = 2 lambda^2 theta_t

with the closed-form marginal (``thetabar_t = int_0^t theta_s ds``)::

    m_t = mu + (x0 - mu) exp(-thetabar_t)
    v_t = lambda^2 (1 - exp(-2 thetabar_t))

The discretisation follows the reference implementation: ``T`` steps, a
``theta`` schedule on ``T + 1`` points, and a ``dt`` chosen so that
``exp(-thetabar_T) = eps``. Schedules are computed once in float64 and turned
into Python floats (exact float64) at use, so they are applied in whatever
dtype the image tensors have.

No network, no image and no I/O live here: every method takes the tensors it
works on as arguments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .sdeconfig import SCHEDULES, SDEConfig

__all__ = ["SCHEDULES", "MeanRevertingSDE", "SDEConfig", "theta_schedule"]


def theta_schedule(kind: str, T: int) -> np.ndarray:
    """The ``theta`` schedule on ``T + 1`` points (float64), before ``dt`` scaling."""
    if kind == "cosine":
        s = 0.008
        steps = T + 2
        x = np.linspace(0, steps, steps + 1, dtype=np.float64)
        alphabar = np.cos(((x / steps) + s) / (1 + s) * math.pi * 0.5) ** 2
        alphabar = alphabar / alphabar[0]
        return 1.0 - alphabar[1:-1]
    if kind == "linear":
        scale = 1000.0 / (T + 1)
        return np.linspace(scale * 1e-4, scale * 0.02, T + 1, dtype=np.float64)
    if kind == "constant":
        return np.ones(T + 1, dtype=np.float64)
    raise ValueError(f"unknown theta schedule {kind!r}; choose one of {', '.join(SCHEDULES)}")


Tensor = torch.Tensor


@dataclass(frozen=True)
class MeanRevertingSDE:
    """The IR-SDE: schedule, marginals, score, x0 estimate and reverse updates.

    Time indices are integers ``0..T`` (``t = 0`` is the clean image). All
    per-step coefficients are float64 numpy arrays; methods read them as
    Python floats so the tensor dtype decides the working precision.
    """

    config: SDEConfig = field(default_factory=SDEConfig)
    theta: np.ndarray = field(init=False, repr=False, compare=False)
    thetabar: np.ndarray = field(init=False, repr=False, compare=False)
    dt: float = field(init=False)

    def __post_init__(self) -> None:
        c = self.config
        if c.T < 1:
            raise ValueError(f"T must be at least 1, got {c.T}")
        if not 0.0 < c.eps < 1.0:
            raise ValueError(f"eps must lie in (0, 1), got {c.eps}")
        if c.max_sigma <= 0:
            raise ValueError(f"max_sigma must be positive, got {c.max_sigma}")
        theta = theta_schedule(c.schedule, c.T)
        cum = np.cumsum(theta) - theta[0]
        dt = -math.log(c.eps) / cum[-1]
        thetabar = cum * dt
        theta.setflags(write=False)
        thetabar.setflags(write=False)
        object.__setattr__(self, "theta", theta)
        object.__setattr__(self, "thetabar", thetabar)
        object.__setattr__(self, "dt", float(dt))

    # ---- basic quantities -------------------------------------------------
    @property
    def T(self) -> int:
        return self.config.T

    @property
    def lam(self) -> float:
        """Stationary standard deviation ``lambda`` on the [0, 1] image scale."""
        return self.config.max_sigma / 255.0

    def sigma(self, t: int) -> float:
        """Per-step diffusion ``sigma_t = sqrt(2 lambda^2 theta_t)``."""
        return math.sqrt(2.0 * self.lam**2 * float(self.theta[t]))

    def mean_factor(self, t: int) -> float:
        """``exp(-thetabar_t)``: how much of ``x0 - mu`` the mean still holds."""
        return math.exp(-float(self.thetabar[t]))

    def variance(self, t: int) -> float:
        """``v_t = lambda^2 (1 - exp(-2 thetabar_t))``."""
        return self.lam**2 * (1.0 - math.exp(-2.0 * float(self.thetabar[t])))

    def std(self, t: int) -> float:
        return math.sqrt(self.variance(t))

    # ---- marginal -----------------------------------------------------------
    def marginal_mean(self, x0: Tensor, mu: Tensor, t: int | Tensor) -> Tensor:
        """``m_t = mu + (x0 - mu) exp(-thetabar_t)``; ``t`` may be a per-sample tensor."""
        return mu + (x0 - mu) * self._per_sample(self.thetabar, t, x0, lambda a: np.exp(-a))

    def marginal_std(self, t: int | Tensor, like: Tensor) -> Tensor | float:
        if isinstance(t, int):
            return self.std(t)
        return self._per_sample(self.thetabar, t, like, lambda a: self.lam * np.sqrt(1.0 - np.exp(-2.0 * a)))

    def forward_sample(self, x0: Tensor, mu: Tensor, t: int | Tensor, noise: Tensor) -> Tensor:
        """Draw ``x_t ~ N(m_t, v_t)`` with the given standard normal ``noise``."""
        return self.marginal_mean(x0, mu, t) + self.marginal_std(t, x0) * noise

    def prior_sample(self, mu: Tensor, noise: Tensor) -> Tensor:
        """The start of the reverse process, ``x_T = mu + lambda z``."""
        return mu + self.lam * noise

    # ---- network outputs -> x0, score, noise -------------------------------
    def score_from_noise(self, noise_hat: Tensor, t: int) -> Tensor:
        """``score = -eps_hat / sqrt(v_t)``."""
        return -noise_hat / self.std(t)

    def x0_from_noise(self, x_t: Tensor, mu: Tensor, noise_hat: Tensor, t: int | Tensor) -> Tensor:
        """``x0_hat = mu + (x_t - mu - sqrt(v_t) eps_hat) exp(+thetabar_t)``."""
        std = self.marginal_std(t, x_t)
        inv_mean = self._per_sample(self.thetabar, t, x_t, np.exp)
        return mu + (x_t - mu - std * noise_hat) * inv_mean

    def noise_from_x0(self, x_t: Tensor, mu: Tensor, x0_hat: Tensor, t: int | Tensor) -> Tensor:
        """The noise that ``x0_hat`` implies: ``(x_t - m_t(x0_hat)) / sqrt(v_t)``."""
        return (x_t - self.marginal_mean(x0_hat, mu, t)) / self.marginal_std(t, x_t)

    def score_from_x0(self, x_t: Tensor, mu: Tensor, x0_hat: Tensor, t: int) -> Tensor:
        """``score = -(x_t - m_t(x0_hat)) / v_t``."""
        return -(x_t - self.marginal_mean(x0_hat, mu, t)) / self.variance(t)

    # ---- reverse updates -------------------------------------------------------
    def reverse_sde_step(
        self, x_t: Tensor, mu: Tensor, score: Tensor, t: int, noise: Tensor, steps: int = 1
    ) -> Tensor:
        """Euler-Maruyama step of the reverse SDE from ``t`` to ``t - steps``.

        ``x_{t-1} = x_t - [theta_t (mu - x_t) - sigma_t^2 score] dt + sigma_t sqrt(dt) z``;
        with ``steps > 1`` the same drift is held over ``steps * dt``.
        """
        h = self.dt * steps
        drift = float(self.theta[t]) * (mu - x_t) - self.sigma(t) ** 2 * score
        return x_t - drift * h + self.sigma(t) * math.sqrt(h) * noise

    def reverse_ode_step(self, x_t: Tensor, mu: Tensor, score: Tensor, t: int, steps: int = 1) -> Tensor:
        """Probability-flow ODE step: the reverse drift with ``sigma_t^2 / 2`` and no noise."""
        h = self.dt * steps
        drift = float(self.theta[t]) * (mu - x_t) - 0.5 * self.sigma(t) ** 2 * score
        return x_t - drift * h

    def posterior_coefficients(self, t: int, s: int) -> tuple[float, float, float]:
        """Coefficients of ``p(x_s | x_t, x0)`` for ``0 <= s < t``.

        Returns ``(c_xt, c_x0, std)`` with ``mean = mu + c_xt (x_t - mu) + c_x0 (x0 - mu)``.
        """
        if not 0 <= s < t <= self.T:
            raise ValueError(f"posterior needs 0 <= s < t <= T, got s={s}, t={t}, T={self.T}")
        tb_t, tb_s = float(self.thetabar[t]), float(self.thetabar[s])
        a = math.exp(-(tb_t - tb_s))
        b = math.exp(-tb_t)
        c = math.exp(-tb_s)
        denom = 1.0 - b * b
        c_xt = a * (1.0 - c * c) / denom
        c_x0 = c * (1.0 - a * a) / denom
        var = (1.0 - a * a) * (1.0 - c * c) / denom
        return c_xt, c_x0, self.lam * math.sqrt(max(var, 0.0))

    def posterior_mean(self, x_t: Tensor, mu: Tensor, x0: Tensor, t: int, s: int) -> Tensor:
        c_xt, c_x0, _ = self.posterior_coefficients(t, s)
        return mu + c_xt * (x_t - mu) + c_x0 * (x0 - mu)

    def posterior_step(
        self, x_t: Tensor, mu: Tensor, x0_hat: Tensor, t: int, s: int, noise: Tensor | None
    ) -> Tensor:
        """Sample ``x_s`` from the exact Gaussian posterior given ``x0_hat`` (any ``s < t``)."""
        c_xt, c_x0, std = self.posterior_coefficients(t, s)
        mean = mu + c_xt * (x_t - mu) + c_x0 * (x0_hat - mu)
        if std == 0.0 or noise is None:
            return mean
        return mean + std * noise

    # ---- training -------------------------------------------------------------------
    def optimal_previous(self, x_t: Tensor, mu: Tensor, x0: Tensor, t: Tensor) -> Tensor:
        """The maximum-likelihood target ``x*_{t-1}``: the posterior mean with the true ``x0``.

        ``t`` is a per-sample integer tensor with values in ``1..T``.
        """
        tb_t = self._gather(self.thetabar, t, x_t)
        tb_s = self._gather(self.thetabar, t - 1, x_t)
        a = torch.exp(-(tb_t - tb_s))
        b = torch.exp(-tb_t)
        c = torch.exp(-tb_s)
        denom = 1.0 - b * b
        return mu + a * (1 - c * c) / denom * (x_t - mu) + c * (1 - a * a) / denom * (x0 - mu)

    def model_previous(self, x_t: Tensor, mu: Tensor, score: Tensor, t: Tensor) -> Tensor:
        """One reverse-SDE mean step with a predicted score, per-sample ``t`` (the ML loss's model side)."""
        theta = self._gather(self.theta, t, x_t)
        sigma2 = 2.0 * self.lam**2 * theta
        return x_t - (theta * (mu - x_t) - sigma2 * score) * self.dt

    def x0_loss_weight(self, t: Tensor, like: Tensor) -> Tensor:
        """Per-sample ``C (1 - A^2) / (1 - B^2)``: the ML loss as a weighted L1 on ``x0``."""
        tb_t = self._gather(self.thetabar, t, like)
        tb_s = self._gather(self.thetabar, t - 1, like)
        a = torch.exp(-(tb_t - tb_s))
        b = torch.exp(-tb_t)
        c = torch.exp(-tb_s)
        return c * (1 - a * a) / (1 - b * b)

    # ---- pure noise removal variant (mu = x0) ---------------------------------------
    def noise_level_start(self, sigma: float) -> int:
        """The step ``t*`` whose marginal std is closest to ``sigma`` (on the [0, 1] scale).

        With ``mu = x0`` the forward process only adds noise, so a photo with
        Gaussian noise of std ``sigma`` is a sample of ``x_{t*}``.
        """
        if sigma < 0:
            raise ValueError("noise level must be non-negative")
        if sigma > self.lam * (1 - 1e-9):
            raise ValueError(
                f"noise level {sigma * 255:.1f}/255 exceeds this SDE's lambda {self.config.max_sigma:g}/255"
            )
        stds = self.lam * np.sqrt(1.0 - np.exp(-2.0 * self.thetabar))
        return int(np.argmin(np.abs(stds - sigma)))

    # ---- helpers ------------------------------------------------------------------
    def timesteps(self, steps: int, start: int | None = None) -> list[int]:
        """Descending integer times for a run of ``steps`` network calls, ending at 0.

        ``timesteps(10)`` is ``[100, 90, ..., 10, 0]`` for ``T = 100``.
        """
        start = self.T if start is None else int(start)
        if not 1 <= start <= self.T:
            raise ValueError(f"start step must be in 1..{self.T}, got {start}")
        if not 1 <= steps <= start:
            raise ValueError(f"steps must be between 1 and {start}, got {steps}")
        ts = np.round(np.linspace(start, 0, steps + 1)).astype(int)
        return [int(v) for v in ts]

    @staticmethod
    def _gather(table: np.ndarray, t: Tensor, like: Tensor) -> Tensor:
        vals = torch.tensor(np.asarray(table))[t.long().cpu()]
        return vals.to(device=like.device, dtype=like.dtype).view(-1, *([1] * (like.dim() - 1)))

    def _per_sample(self, table: np.ndarray, t: int | Tensor, like: Tensor, fn) -> Tensor | float:
        if isinstance(t, (int, np.integer)):
            return float(fn(table[int(t)]))
        vals = torch.from_numpy(fn(np.asarray(table)))[t.long().cpu()]
        return vals.to(device=like.device, dtype=like.dtype).view(-1, *([1] * (like.dim() - 1)))
