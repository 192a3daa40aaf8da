"""Ensemble networks: two members' predictions mixed, the card that describes them, the tool that
joins two weight files, and derain leaning on its downpour member as the veil thickens."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_NET, smooth_image

from irsde_gui.core.nets import build_model
from irsde_gui.core.weights import check_network, load_weights

ROOT = Path(__file__).resolve().parents[1]
ENSEMBLE = {"name": "ensemble", "members": [dict(TINY_NET), dict(TINY_NET)], "mix": 0.5}


def _perturbed(net: torch.nn.Module, seed: int) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return net.eval()


def test_the_mix_is_the_second_members_share():
    net = _perturbed(build_model(ENSEMBLE), 1)
    a, b = net.members
    x, mu, t = torch.rand(1, 3, 20, 28), torch.rand(1, 3, 20, 28), torch.tensor([30])
    with torch.no_grad():
        pa, pb = a(x, mu, t), b(x, mu, t)
        assert not torch.allclose(pa, pb)
        for mix, want in ((0.0, pa), (1.0, pb), (0.5, (pa + pb) / 2), (0.8, 0.2 * pa + 0.8 * pb)):
            net.mix = mix
            torch.testing.assert_close(net(x, mu, t), want)
    assert net.predict == "x0" and net.multiple == a.multiple and net.default_mix == 0.5


def test_an_ensemble_pads_to_a_size_every_member_takes():
    """Members working at a half and a third of the size (unshuffle 2 and 3): the photo is padded
    to a multiple of both, and any size comes back whole."""
    members = [{**TINY_NET, "unshuffle": 2}, {**TINY_NET, "unshuffle": 3}]
    net = build_model({"name": "ensemble", "members": members})
    plain, folded = (int(m.multiple) for m in net.members)
    assert net.multiple % plain == 0 and net.multiple % folded == 0
    x = torch.rand(1, 3, 13, 22)
    with torch.no_grad():
        assert net(x, x, torch.tensor([40])).shape == x.shape


@pytest.mark.parametrize(
    "network, words",
    [
        ({"name": "ensemble", "members": [dict(TINY_NET)]}, "exactly two members"),
        (
            {"name": "ensemble", "members": [dict(TINY_NET), {**TINY_NET, "predict": "noise"}]},
            "same quantity",
        ),
        ({"name": "ensemble", "members": [dict(TINY_NET), dict(ENSEMBLE)]}, "not ensembles"),
        ({**ENSEMBLE, "mix": 1.5}, "from 0 to 1"),
    ],
)
def test_a_bad_ensemble_is_refused_with_its_reason(network, words):
    with pytest.raises(ValueError, match=words):
        build_model(network)


def test_a_card_checks_its_members_and_refuses_nested_ensembles():
    check_network(ENSEMBLE)
    with pytest.raises(ValueError, match="width"):
        check_network({**ENSEMBLE, "members": [dict(TINY_NET), {**TINY_NET, "width": -3}]})
    with pytest.raises(ValueError, match="not ensembles"):
        check_network({**ENSEMBLE, "members": [dict(TINY_NET), dict(ENSEMBLE)]})
    with pytest.raises(ValueError, match="list of networks"):
        check_network({**ENSEMBLE, "members": "two"})


@pytest.fixture
def joined(tiny_weights, tmp_path):
    """derain.pt joined with a second, different derain network into one ensemble file."""
    from irsde_gui.core.weights import ModelCard, read_card, save_weights

    second = tmp_path / "second" / "derain.pt"
    card = read_card(tiny_weights / "derain.pt")
    net = _perturbed(build_model(TINY_NET), 7)
    save_weights(
        net,
        ModelCard(task="derain", network=dict(TINY_NET), sde=card.sde, training={"iterations": 9}),
        second,
    )
    out = tmp_path / "joined" / "derain.pt"
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "ensemble_weights.py"), "derain",
         str(tiny_weights / "derain.pt"), str(second), "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return tiny_weights / "derain.pt", second, out


def test_the_joining_tool_writes_a_verified_ensemble_of_both_files(joined):
    first, second, out = joined
    loaded = load_weights("derain", out)
    a, b = load_weights("derain", first), load_weights("derain", second)
    assert loaded.card.network["name"] == "ensemble"
    members = loaded.card.training["ensemble"]["members"]
    assert [m["sha256"] for m in members] == [a.card.sha256, b.card.sha256]
    assert loaded.card.training["iterations"] == 9  # the second member's record
    assert loaded.card.parameters == 2 * sum(p.numel() for p in a.net.parameters())
    x, mu, t = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), torch.tensor([10])
    with torch.no_grad():
        want = (a.net(x, mu, t) + b.net(x, mu, t)) / 2
        torch.testing.assert_close(loaded.net(x, mu, t), want, atol=1e-3, rtol=1e-3)


def test_derain_leans_on_the_downpour_member_as_the_veil_thickens():
    from irsde_gui.core.tasks import get_task

    derain = get_task("derain")
    assert derain.ensemble_mix(0.0) == 0.5
    assert derain.ensemble_mix(1.0) == 1.0
    assert derain.ensemble_mix(0.4) == pytest.approx(0.7)
    assert get_task("denoise").ensemble_mix(1.0) is None


def test_every_run_sets_the_mix_for_its_own_photo_and_reports_it(installed_tiny_weights, joined):
    import shutil

    from irsde_gui.core.model import load_restorer
    from irsde_gui.core.pipeline import JobSettings, RestoreJob
    from irsde_gui.core.runs import RunReport
    from irsde_gui.core.tasks import get_task

    _, _, out = joined
    shutil.copy(out, installed_tiny_weights / "derain.pt")
    shutil.copy(out.with_suffix(".json"), installed_tiny_weights / "derain.json")
    restorer = load_restorer("derain", device="cpu")
    clear = smooth_image(48, 64)
    downpour = (0.55 * clear + 0.45 * np.float32(0.85)).astype(np.float32)
    mixes = []
    for photo in (clear, downpour, clear):
        job = RestoreJob(get_task("derain"), restorer, photo, None, JobSettings(steps=1))
        job.run()
        mixes.append(job.mix)
        assert RunReport.from_job(job, restorer, [0.1], 0.1).ensemble_mix == job.mix
    assert mixes == [0.5, 1.0, 0.5]  # the shared restorer does not keep the last photo's mix
    plain = RestoreJob(
        get_task("denoise"), load_restorer("denoise", device="cpu"), clear, None, JobSettings(steps=1)
    )
    plain.run()
    assert plain.mix is None


def test_rescoring_a_card_keeps_the_weights_and_not_every_photos_row(tiny_weights):
    from irsde_gui.core.weights import read_card
    from irsde_gui.training.train import rescore_weights

    path = tiny_weights / "derain.pt"
    before = path.read_bytes()
    ev = {
        "task": "derain",
        "name": "heavy",
        "summary": "heavy: 22 dB",
        "mean": {},
        "per_image": [{"image": "a"}],
    }
    rescore_weights(path, [ev], default_steps=3)
    card = read_card(path)
    assert path.read_bytes() == before
    assert card.default_steps == 3 and "per_image" not in card.validation["heavy"]
    assert card.validation["summary"] == "heavy: 22 dB"
    load_weights("derain", path)  # its sha256 still matches


def test_the_mix_follows_the_veil_even_when_the_dehaze_model_is_missing(installed_tiny_weights, joined):
    import shutil

    from irsde_gui.core.model import load_restorer
    from irsde_gui.core.pipeline import JobSettings, RestoreJob
    from irsde_gui.core.tasks import get_task

    _, _, out = joined
    shutil.copy(out, installed_tiny_weights / "derain.pt")
    shutil.copy(out.with_suffix(".json"), installed_tiny_weights / "derain.json")
    (installed_tiny_weights / "dehaze.pt").unlink()
    downpour = (0.55 * smooth_image(48, 64) + 0.45 * np.float32(0.85)).astype(np.float32)
    job = RestoreJob(
        get_task("derain"), load_restorer("derain", device="cpu"), downpour, None, JobSettings(steps=1)
    )
    job.run()
    assert "skipped" in job.pre and job.mix == 1.0


def test_an_ensemble_is_not_unpacked_as_one_training_run(joined, tmp_path):
    from irsde_gui.training.train import unpack_run

    _, _, out = joined
    with pytest.raises(ValueError, match="joins two networks"):
        unpack_run(out, tmp_path / "run")


def test_the_joining_tool_refuses_two_different_sdes(tiny_weights, tmp_path):
    from irsde_gui.core.sdeconfig import SDEConfig
    from irsde_gui.core.weights import ModelCard, read_card, save_weights

    other = tmp_path / "other" / "derain.pt"
    card = read_card(tiny_weights / "derain.pt")
    sde = SDEConfig(T=card.sde.T, max_sigma=card.sde.max_sigma + 5)
    save_weights(build_model(TINY_NET), ModelCard(task="derain", network=dict(TINY_NET), sde=sde), other)
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "ensemble_weights.py"), "derain",
         str(tiny_weights / "derain.pt"), str(other), "--out", str(tmp_path / "j.pt")],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2 and "different SDEs" in done.stderr
    assert not (tmp_path / "j.pt").exists()


def test_two_separate_runs_joined_count_both_and_keep_the_pace_known(tiny_weights, tmp_path):
    """Members from two runs: their steps and minutes add up, and the card's pace comes from the
    member whose patches were counted (a member split from an older ensemble may not know its own)."""
    from irsde_gui.core.weights import ModelCard, read_card, save_weights

    sde = read_card(tiny_weights / "derain.pt").sde
    files = []
    for i, training in enumerate(
        ({"iterations": 100, "minutes": 10.0, "patches_seen": 6000}, {"iterations": 50, "minutes": 5.0})
    ):
        f = tmp_path / f"m{i}" / "derain.pt"
        save_weights(
            _perturbed(build_model(TINY_NET), i),
            ModelCard("derain", dict(TINY_NET), sde, training=training),
            f,
        )
        files.append(str(f))
    out = tmp_path / "joined" / "derain.pt"
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "ensemble_weights.py"), "derain", *files, "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    tr = load_weights("derain", out).card.training
    assert tr["iterations"] == 150 and tr["minutes"] == 15.0
    assert tr["patches_per_second"] == 10.0 and "patches_seen" not in tr
