"""Reverse-time sampling as a generator: one record per network call.

The generator is the one piece of control flow shared by the command line, the
desktop app and the tests: every ``yield`` is a cancellation point, and
closing the generator (``gen.close()``) stops the work at once and lets the
``finally`` clause drop every tensor it holds.

A predictor is any callable ``predict(x_t, mu, t) -> x0_hat`` on NCHW tensors
(see :class:`irsde_gui.core.model.Restorer` and
:class:`irsde_gui.core.tiling.TiledPredictor`). Because every sampler is
written in terms of ``x0_hat``, a network that predicts the noise and one that
predicts the clean image drive the same code.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from .sde import MeanRevertingSDE

Predictor = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]
SAMPLERS = ("posterior", "sde", "ode")


@dataclass
class StepRecord:
    """What one reverse step produced.

    ``index`` counts network calls from 1 to ``total``; the network was run at
    time ``t_from`` and the state moved to ``t`` (``t = 0`` after the last step).
    """

    index: int
    total: int
    t_from: int
    t: int
    x_t: torch.Tensor
    x0_hat: torch.Tensor
    seconds: float


class NoiseSource:
    """Standard normal noise drawn on the CPU from one seeded generator.

    Drawing on the CPU makes a seeded run give the same noise on every device,
    and one field for the whole image means tiles cannot disagree about it.
    """

    def __init__(self, seed: int | None):
        self.generator = torch.Generator(device="cpu")
        if seed is None:
            self.seed = int(self.generator.seed())
        else:
            self.seed = int(seed)
            self.generator.manual_seed(self.seed)

    def like(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.randn(x.shape, generator=self.generator, dtype=torch.float32)
        return z.to(device=x.device, dtype=x.dtype)


def sample(
    predict: Predictor,
    sde: MeanRevertingSDE,
    mu: torch.Tensor,
    steps: int,
    sampler: str = "posterior",
    seed: int | None = 0,
    x_start: torch.Tensor | None = None,
    start: int | None = None,
) -> Iterator[StepRecord]:
    """Run the reverse process from ``x_T = mu + lambda z`` in ``steps`` network calls.

    ``sampler`` is ``posterior`` (exact Gaussian posterior jumps, the default),
    ``sde`` (Euler-Maruyama of the reverse SDE) or ``ode`` (probability flow).
    ``x_start``/``start`` begin from a given state at a given time instead.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")
    times = sde.timesteps(steps, start)
    noise = NoiseSource(seed)
    x = sde.prior_sample(mu, noise.like(mu)) if x_start is None else x_start.clone()
    x0_hat = None
    try:
        for i, (t, s) in enumerate(itertools.pairwise(times), start=1):
            began = time.perf_counter()
            x0_hat = predict(x, mu, t)
            if sampler == "posterior":
                z = noise.like(x) if s > 0 else None
                x = sde.posterior_step(x, mu, x0_hat, t, s, z)
            elif s == 0:
                # The last step lands on the estimate itself: no noise is left to remove.
                x = x0_hat
            else:
                score = sde.score_from_x0(x, mu, x0_hat, t)
                if sampler == "sde":
                    x = sde.reverse_sde_step(x, mu, score, t, noise.like(x), steps=t - s)
                else:
                    x = sde.reverse_ode_step(x, mu, score, t, steps=t - s)
            if x.device.type == "cuda":
                torch.cuda.synchronize(x.device)
            yield StepRecord(i, len(times) - 1, t, s, x, x0_hat, time.perf_counter() - began)
    finally:
        del x, x0_hat


def sample_noise_removal(
    predict: Predictor,
    sde: MeanRevertingSDE,
    noisy: torch.Tensor,
    sigma: float,
    steps: int,
    seed: int | None = 0,
) -> Iterator[StepRecord]:
    """The pure noise-removal variant (``mu = x0``).

    The forward process then only adds noise, so a photo with Gaussian noise of
    std ``sigma`` (on the [0, 1] scale) is ``x_{t*}`` with ``v_{t*} = sigma^2``.
    Sampling starts there; the network sees the noisy photo as its condition
    and each posterior step reverts towards the current estimate ``x0_hat``.
    """
    start = sde.noise_level_start(sigma)
    if start == 0:
        yield StepRecord(1, 1, 0, 0, noisy.clone(), noisy.clone(), 0.0)
        return
    times = sde.timesteps(min(steps, start), start)
    noise = NoiseSource(seed)
    x = noisy.clone()
    x0_hat = None
    try:
        for i, (t, s) in enumerate(itertools.pairwise(times), start=1):
            began = time.perf_counter()
            x0_hat = predict(x, noisy, t)
            z = noise.like(x) if s > 0 else None
            x = sde.posterior_step(x, x0_hat, x0_hat, t, s, z)
            yield StepRecord(i, len(times) - 1, t, s, x, x0_hat, time.perf_counter() - began)
    finally:
        del x, x0_hat


def restore(*args, **kwargs) -> torch.Tensor:
    """Drain :func:`sample` and return the final state ``x_0``."""
    last = None
    for record in sample(*args, **kwargs):
        last = record
    assert last is not None
    return last.x_t
