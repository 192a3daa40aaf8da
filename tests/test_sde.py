"""The mean-reverting SDE: schedules, closed-form marginal, score/x0 algebra, reverse updates."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from irsde_gui.core.sampler import restore, sample, sample_noise_removal
from irsde_gui.core.sde import SCHEDULES, MeanRevertingSDE, SDEConfig

torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_schedule_ends_at_eps(schedule):
    sde = MeanRevertingSDE(SDEConfig(T=100, max_sigma=10, schedule=schedule, eps=0.005))
    assert sde.thetabar[0] == 0.0
    assert math.exp(-sde.thetabar[-1]) == pytest.approx(0.005, rel=1e-12)
    assert np.all(np.diff(sde.thetabar) > 0)
    assert sde.theta.dtype == np.float64
    assert sde.variance(sde.T) == pytest.approx(sde.lam**2 * (1 - 0.005**2), rel=1e-12)


def test_cosine_schedule_increases():
    sde = MeanRevertingSDE(SDEConfig(T=100))
    assert np.all(np.diff(sde.theta) > 0)


def test_bad_settings_raise():
    with pytest.raises(ValueError):
        MeanRevertingSDE(SDEConfig(schedule="nope"))
    with pytest.raises(ValueError):
        MeanRevertingSDE(SDEConfig(eps=1.5))
    with pytest.raises(ValueError):
        MeanRevertingSDE(SDEConfig(T=0))


def test_sde_is_frozen():
    sde = MeanRevertingSDE()
    with pytest.raises(AttributeError):
        sde.dt = 1.0
    with pytest.raises(ValueError):
        sde.theta[3] = 0.0


def test_marginal_matches_monte_carlo_forward_simulation():
    """Euler-Maruyama with 20 sub-steps per step vs the closed form (mean and variance).

    Tolerance: means within 4 standard errors plus 1e-3; variances within 3 %.
    """
    sde = MeanRevertingSDE(SDEConfig(T=100, max_sigma=30))
    g = torch.Generator().manual_seed(1)
    n, sub = 100_000, 20
    x0, mu = 0.9, 0.2
    x = torch.full((n,), x0, dtype=torch.float64)
    checkpoints = {10: None, 40: None, 100: None}
    for t in range(1, sde.T + 1):
        h = sde.dt / sub
        th, sg = float(sde.theta[t]), sde.sigma(t)
        for _ in range(sub):
            z = torch.randn(n, generator=g, dtype=torch.float64)
            x = x + th * (mu - x) * h + sg * math.sqrt(h) * z
        if t in checkpoints:
            checkpoints[t] = (x.mean().item(), x.var().item())
    for t, (m_emp, v_emp) in checkpoints.items():
        m = mu + (x0 - mu) * sde.mean_factor(t)
        v = sde.variance(t)
        assert abs(m_emp - m) < 4 * math.sqrt(v / n) + 1e-3, (t, m_emp, m)
        assert v_emp == pytest.approx(v, rel=0.03), (t, v_emp, v)


def _oracle_noise_predictor(sde, x0):
    """x0_hat computed through the noise parameterisation, from the true x0."""

    def predict(x_t, mu, t):
        noise = sde.noise_from_x0(x_t, mu, x0, t)
        return sde.x0_from_noise(x_t, mu, noise, t)

    return predict


@pytest.mark.parametrize("steps", [100, 10, 1])
def test_posterior_sampling_with_oracle_recovers_x0(steps):
    sde = MeanRevertingSDE(SDEConfig(T=100, max_sigma=10))
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(1, 3, 16, 16, generator=g, dtype=torch.float64)
    mu = x0 + 0.2 * torch.randn(x0.shape, generator=g, dtype=torch.float64)
    out = restore(_oracle_noise_predictor(sde, x0), sde, mu, steps, "posterior", seed=3)
    assert torch.allclose(out, x0, atol=1e-9, rtol=0)


def test_reverse_sde_with_oracle_score_recovers_x0():
    """Full Euler-Maruyama reverse SDE (noise at every step): within 4 lambda*sqrt(dt*theta_1) of x0."""
    sde = MeanRevertingSDE(SDEConfig(T=100, max_sigma=10))
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(1, 3, 32, 32, generator=g, dtype=torch.float64)
    mu = (x0 + 0.2 * torch.randn(x0.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    x = sde.prior_sample(mu, torch.randn(x0.shape, generator=g, dtype=torch.float64))
    for t in range(sde.T, 0, -1):
        score = sde.score_from_x0(x, mu, x0, t)
        x = sde.reverse_sde_step(x, mu, score, t, torch.randn(x.shape, generator=g, dtype=torch.float64))
    err = (x - x0).abs()
    # The last step leaves noise of std sigma_1 sqrt(dt) on top of a small drift error.
    tol = 4 * sde.sigma(1) * math.sqrt(sde.dt) + 0.01
    assert err.mean() < tol / 2
    assert err.max() < tol * 2
    assert (mu - x0).abs().mean() > 10 * err.mean()


def test_ode_and_sde_samplers_with_oracle_land_on_x0():
    sde = MeanRevertingSDE(SDEConfig(T=100, max_sigma=10))
    x0 = torch.rand(1, 3, 8, 8, dtype=torch.float64)
    mu = (x0 * 0.5).clone()
    for sampler in ("sde", "ode"):
        out = restore(_oracle_noise_predictor(sde, x0), sde, mu, 20, sampler, seed=1)
        assert torch.allclose(out, x0, atol=1e-9)


def test_posterior_jump_equals_composition_in_distribution_mean():
    """Jumping t -> s directly gives the same mean as going t -> r -> s with the true x0."""
    sde = MeanRevertingSDE(SDEConfig(T=100, max_sigma=10))
    x0 = torch.rand(4, dtype=torch.float64)
    mu = torch.rand(4, dtype=torch.float64)
    xt = torch.rand(4, dtype=torch.float64)
    direct = sde.posterior_mean(xt, mu, x0, 80, 20)
    via = sde.posterior_mean(sde.posterior_mean(xt, mu, x0, 80, 50), mu, x0, 50, 20)
    assert torch.allclose(direct, via, atol=1e-12)
    # and the variances add up the same way
    _, _, s_direct = sde.posterior_coefficients(80, 20)
    c1, _, s1 = sde.posterior_coefficients(50, 20)
    _, _, s2 = sde.posterior_coefficients(80, 50)
    assert s_direct**2 == pytest.approx(s1**2 + c1**2 * s2**2, rel=1e-10)


def test_training_target_is_posterior_mean_and_oracle_losses():
    sde = MeanRevertingSDE(SDEConfig(T=100, max_sigma=10))
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(6, 3, 8, 8, generator=g, dtype=torch.float64)
    mu = torch.rand(6, 3, 8, 8, generator=g, dtype=torch.float64)
    t = torch.tensor([1, 2, 17, 50, 99, 100])
    z = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    xt = sde.forward_sample(x0, mu, t, z)
    target = sde.optimal_previous(xt, mu, x0, t)
    for i, ti in enumerate(t.tolist()):
        expect = sde.posterior_mean(xt[i], mu[i], x0[i], ti, ti - 1)
        assert torch.allclose(target[i], expect, atol=1e-12)
    # Posterior-mean form of the maximum-likelihood loss: the oracle x0 has zero loss.
    pred = sde.optimal_previous(xt, mu, x0.clone(), t)
    assert (pred - target).abs().sum() == 0
    # ... and it is an L1 on x0 weighted by C (1 - A^2) / (1 - B^2).
    x0_hat = x0 + 0.1 * torch.randn(x0.shape, generator=g, dtype=torch.float64)
    w = sde.x0_loss_weight(t, x0)
    lhs = (sde.optimal_previous(xt, mu, x0_hat, t) - target).abs()
    assert torch.allclose(lhs, w * (x0_hat - x0).abs(), atol=1e-12)
    # The reference's form (one reverse-SDE mean step with the oracle score) differs
    # only by the Euler discretisation error, far below the signal.
    score = -(xt - sde.marginal_mean(x0, mu, t)) / sde.marginal_std(t, x0) ** 2
    euler = sde.model_previous(xt, mu, score, t)
    assert (euler - target).abs().mean() < 0.05 * (xt - target).abs().mean()


def test_x0_and_noise_parameterisations_agree():
    sde = MeanRevertingSDE(SDEConfig(T=100, max_sigma=30))
    x0 = torch.rand(2, 3, 4, 4, dtype=torch.float64)
    mu = torch.rand(2, 3, 4, 4, dtype=torch.float64)
    for t in (1, 30, 100):
        z = torch.randn_like(x0)
        xt = sde.forward_sample(x0, mu, t, z)
        assert torch.allclose(sde.noise_from_x0(xt, mu, x0, t), z, atol=1e-8)
        assert torch.allclose(sde.x0_from_noise(xt, mu, z, t), x0, atol=1e-8)
        assert torch.allclose(sde.score_from_noise(z, t), sde.score_from_x0(xt, mu, x0, t), atol=1e-6)


def test_seeded_runs_are_identical_and_seeds_differ():
    sde = MeanRevertingSDE(SDEConfig(T=100, max_sigma=10))
    mu = torch.rand(1, 3, 16, 16)

    def predict(x_t, mu_, t):
        return (0.5 * x_t + 0.5 * mu_).clamp(0, 1)

    a = restore(predict, sde, mu, 10, "posterior", seed=7)
    b = restore(predict, sde, mu, 10, "posterior", seed=7)
    c = restore(predict, sde, mu, 10, "posterior", seed=8)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_sampler_yields_records_in_order_and_close_stops():
    sde = MeanRevertingSDE(SDEConfig(T=100))
    calls = []

    def predict(x_t, mu, t):
        calls.append(t)
        return mu

    gen = sample(predict, sde, torch.zeros(1, 3, 8, 8), 10)
    recs = [next(gen) for _ in range(3)]
    assert [r.index for r in recs] == [1, 2, 3]
    assert [r.t_from for r in recs] == [100, 90, 80]
    assert [r.t for r in recs] == [90, 80, 70]
    assert all(r.total == 10 and r.seconds >= 0 for r in recs)
    gen.close()
    assert calls == [100, 90, 80]
    with pytest.raises(StopIteration):
        next(gen)


def test_timesteps_cover_range():
    sde = MeanRevertingSDE(SDEConfig(T=100))
    assert sde.timesteps(1) == [100, 0]
    assert sde.timesteps(100) == list(range(100, -1, -1))
    ts = sde.timesteps(7)
    assert ts[0] == 100 and ts[-1] == 0 and len(ts) == 8 and all(a > b for a, b in zip(ts, ts[1:]))
    with pytest.raises(ValueError):
        sde.timesteps(0)
    with pytest.raises(ValueError):
        sde.timesteps(101)


def test_noise_removal_variant_starts_at_matching_variance():
    sde = MeanRevertingSDE(SDEConfig(T=100, max_sigma=50))
    sigma = 25 / 255
    t_star = sde.noise_level_start(sigma)
    stds = [sde.std(t) for t in range(sde.T + 1)]
    assert abs(stds[t_star] - sigma) == min(abs(s - sigma) for s in stds)
    with pytest.raises(ValueError):
        sde.noise_level_start(60 / 255)
    # With the oracle x0 the variant returns the clean image from a noisy one.
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(1, 3, 8, 8, generator=g, dtype=torch.float64)
    noisy = x0 + sigma * torch.randn(x0.shape, generator=g, dtype=torch.float64)
    recs = list(sample_noise_removal(lambda x, c, t: x0, sde, noisy, sigma, steps=5, seed=0))
    assert recs[0].t_from == t_star and recs[-1].t == 0
    assert torch.allclose(recs[-1].x_t, x0, atol=1e-12)
