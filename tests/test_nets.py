"""The conditional networks: any size in, same size out; both parameterisations; the registry."""

from __future__ import annotations

import pytest
import torch
from conftest import TINY_NET

from irsde_gui.core.model import Restorer
from irsde_gui.core.nets import build_model, count_parameters
from irsde_gui.core.sde import MeanRevertingSDE, SDEConfig
from irsde_gui.core.tasks import TASKS


@pytest.mark.parametrize("h,w", [(16, 16), (17, 31), (5, 9), (1, 40)])
def test_any_size_in_same_size_out(h, w):
    net = build_model(TINY_NET).eval()
    x = torch.rand(2, 3, h, w)
    out = net(x, x, torch.tensor([3, 50]))
    assert out.shape == x.shape


def test_untrained_network_is_identity_on_mu():
    """The final layer starts at zero, so an untrained x0-network returns mu, not garbage."""
    net = build_model(TINY_NET).eval()
    r = Restorer(net, MeanRevertingSDE(SDEConfig()))
    mu = torch.rand(1, 3, 20, 20)
    assert torch.allclose(r(mu + 0.1, mu, 40), mu)


def test_time_embedding_changes_output():
    torch.manual_seed(0)
    net = build_model(TINY_NET).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    x = torch.rand(1, 3, 16, 16)
    assert not torch.allclose(net(x, x, torch.tensor([1])), net(x, x, torch.tensor([90])))


def test_noise_parameterisation_through_restorer():
    cfg = dict(TINY_NET, predict="noise")
    net = build_model(cfg).eval()
    sde = MeanRevertingSDE(SDEConfig())
    r = Restorer(net, sde, clamp=False)
    mu = torch.rand(1, 3, 8, 8)
    x_t = mu + 0.02
    # zero predicted noise: x0_hat = mu + (x_t - mu) exp(thetabar_t)
    expect = mu + (x_t - mu) * torch.exp(torch.tensor(sde.thetabar[30]))
    assert torch.allclose(r(x_t, mu, 30), expect.float(), atol=1e-5)


def test_registry_errors():
    with pytest.raises(ValueError, match="unknown network"):
        build_model({"name": "nope"})
    with pytest.raises(ValueError, match="bad configuration"):
        build_model({"name": "cnafnet", "bogus": 1})
    with pytest.raises(ValueError):
        build_model(dict(TINY_NET, predict="velocity"))


def test_shipped_architecture_fits_budget():
    """Each task's network stays under 20 MB as float16 (the weight-file budget)."""
    for task in TASKS.values():
        assert count_parameters(build_model(task.network)) * 2 < 20 * 2**20


def test_spectral_blocks_start_silent_and_see_the_whole_image():
    import torch

    from irsde_gui.core.nets import build_model

    base = {"name": "cnafnet", "width": 8, "enc_blocks": [1, 1], "mid_blocks": 1, "dec_blocks": [1, 1]}
    torch.manual_seed(0)
    small = build_model(base)
    grown = build_model({**base, "global_blocks": 1})
    missing, unexpected = grown.load_state_dict(small.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("global_blocks.") for k in missing)
    for p in small.ending.parameters():
        torch.nn.init.normal_(p, std=0.1)
    grown.ending.load_state_dict(small.ending.state_dict())
    x, mu, t = torch.rand(1, 3, 32, 48), torch.rand(1, 3, 32, 48), torch.tensor([10])
    with torch.no_grad():
        assert torch.allclose(grown(x, mu, t), small(x, mu, t))  # zero-initialised: the same output
        for blk in grown.global_blocks:
            blk.gamma.fill_(1.0)
        # One pixel changed in a corner reaches the opposite corner through the Fourier transform.
        x2 = x.clone()
        x2[..., 0, 0] += 1.0
        d = (grown(x2, mu, t) - grown(x, mu, t)).abs()[..., -4:, -4:].sum()
        d_small = (small(x2, mu, t) - small(x, mu, t)).abs()[..., -4:, -4:].sum()
    assert float(d) > 10 * float(d_small) + 1e-6


def _perturbed(config: dict) -> torch.nn.Module:
    torch.manual_seed(1)
    net = build_model(config).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return net


def test_block_folds_its_modulation_and_scales_exactly():
    """The block folds FiLM into its norms and beta/gamma into its convolutions: the sums of the
    NAFNet block as written out, per sample (training) and for a batch sharing one time step."""
    from irsde_gui.core.nets.cnafnet import CondNAFBlock

    torch.manual_seed(0)
    blk = CondNAFBlock(8, 16)
    with torch.no_grad():
        for p in blk.parameters():
            p.add_(0.2 * torch.randn_like(p))

    def written_out(x, emb):
        s1, b1, s2, b2 = blk.film(emb)[:, :, None, None].chunk(4, dim=1)
        y = blk.norm1(x) * (1 + s1) + b1
        y = blk.sg(blk.conv2(blk.conv1(y)))
        y = y * blk.sca(y)
        x = x + blk.conv3(y) * blk.beta
        y = blk.norm2(x) * (1 + s2) + b2
        return x + blk.conv5(blk.sg(blk.conv4(y))) * blk.gamma

    x = torch.randn(3, 8, 12, 10)
    for emb in (torch.randn(3, 16), torch.randn(1, 16)):
        assert torch.allclose(blk(x, emb), written_out(x, emb), atol=1e-5)


def test_batch_sharing_a_time_step_matches_each_photo_alone():
    """One time step for the batch takes the folded path; a mixed batch the per-sample one."""
    net = _perturbed(TINY_NET | {"global_blocks": 1})
    x, mu = torch.rand(2, 3, 16, 24), torch.rand(2, 3, 16, 24)
    with torch.no_grad():
        together = net(x, mu, torch.tensor([30, 30]))
        mixed = net(x, mu, torch.tensor([30, 70]))
        alone = [net(x[i : i + 1], mu[i : i + 1], torch.tensor([t])) for i, t in enumerate((30, 70))]
    assert torch.allclose(together[1], net(x[1:], mu[1:], torch.tensor(30))[0], atol=1e-5)
    assert torch.allclose(mixed[0], alone[0][0], atol=1e-5)
    assert torch.allclose(mixed[1], alone[1][0], atol=1e-5)


@pytest.mark.parametrize("h,w", [(16, 16), (17, 31), (5, 9)])
def test_unshuffled_network_works_at_a_quarter_size_and_keeps_any_size(h, w):
    """Folded 4x4 into channels, the blocks see a quarter of the size; the output is the input's
    size, an untrained network returns mu, and each output pixel comes from its own place."""
    net = build_model({**TINY_NET, "unshuffle": 4}).eval()
    assert net.multiple == 4 * build_model(TINY_NET).multiple
    x = torch.rand(1, 3, h, w)
    out = net(x, x, torch.tensor([50]))
    assert out.shape == x.shape and torch.equal(out, torch.zeros_like(out))
    seen = []
    net.encoders[0][0].register_forward_hook(lambda m, i, o: seen.append(o.shape[-2:]))
    net(torch.rand(1, 3, 32, 48), torch.rand(1, 3, 32, 48), torch.tensor([50]))
    assert tuple(seen[0]) == (8, 12)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
        a = torch.rand(1, 3, 32, 32)
        b = a.clone()
        b[..., 0, 0] += 0.5  # one pixel changed: its own output changes
        assert not torch.allclose(net(a, a, torch.tensor([50])), net(b, a, torch.tensor([50])))


def test_unshuffle_is_checked_on_a_card():
    from irsde_gui.core.weights import check_network

    assert check_network({**TINY_NET, "unshuffle": 4})["unshuffle"] == 4
    for bad in (0, 9, 2.5, True):
        with pytest.raises(ValueError, match=r"network\.unshuffle"):
            check_network({**TINY_NET, "unshuffle": bad})
