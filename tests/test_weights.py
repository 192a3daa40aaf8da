"""Weight files: safe loading, checksum verification, clear errors, lookup order."""

from __future__ import annotations

import json
import os
import pickle
import shutil

import pytest
import torch
from conftest import TINY_NET

from irsde_gui.core.nets import build_model
from irsde_gui.core.sde import SDEConfig
from irsde_gui.core.weights import (
    ModelCard,
    WeightsError,
    find_weights,
    load_weights,
    read_card,
    save_weights,
    sha256_of,
)


def test_save_and_load_roundtrip(tmp_path):
    net = build_model(TINY_NET)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    path = save_weights(net, ModelCard("denoise", dict(TINY_NET), SDEConfig()), tmp_path / "denoise.pt")
    card = read_card(path)
    assert card.sha256 == sha256_of(path) and card.parameters > 0
    loaded = load_weights("denoise", path)
    for (k, a), (_, b) in zip(net.state_dict().items(), loaded.net.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-3), k  # stored as float16


def test_wrong_checksum_fails(tiny_weights):
    path = tiny_weights / "denoise.pt"
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="corrupt"):
        load_weights("denoise", path)


def test_pickle_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "denoise.pt"
    with open(path, "wb") as f:
        pickle.dump({"w": Evil()}, f)
    card = ModelCard("denoise", dict(TINY_NET), SDEConfig(), sha256=sha256_of(path))
    (tmp_path / "denoise.json").write_text(json.dumps(card.to_dict()))
    with pytest.raises(WeightsError, match="refusing"):
        load_weights("denoise", path)
    assert not marker.exists()


def test_mismatched_architecture_fails(tiny_weights):
    card_file = tiny_weights / "denoise.json"
    card = json.loads(card_file.read_text())
    card["network"]["width"] = 12
    card_file.write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="does not match"):
        load_weights("denoise", tiny_weights / "denoise.pt")


def test_wrong_task_and_missing_card(tiny_weights):
    with pytest.raises(WeightsError, match="not for 'denoise'"):
        load_weights("denoise", tiny_weights / "sr.pt")
    (tiny_weights / "sr.json").unlink()
    with pytest.raises(WeightsError, match="no model card"):
        load_weights("sr", tiny_weights / "sr.pt")


def test_missing_weights_say_so(tmp_path, monkeypatch):
    import irsde_gui.core.paths as paths

    monkeypatch.setattr(paths, "bundled_weights_dir", lambda: tmp_path / "none")
    with pytest.raises(WeightsError, match="no trained weights for task 'dehaze'"):
        find_weights("dehaze")
    with pytest.raises(WeightsError, match="not found"):
        find_weights("dehaze", tmp_path / "missing.pt")


def test_lookup_order_explicit_then_user_then_bundled(
    tiny_weights, isolated_user_dirs, tmp_path, monkeypatch
):
    import irsde_gui.core.paths as paths

    bundled = tmp_path / "bundled"
    shutil.copytree(tiny_weights, bundled)
    monkeypatch.setattr(paths, "bundled_weights_dir", lambda: bundled)
    assert find_weights("denoise") == bundled / "denoise.pt"
    user = isolated_user_dirs / "weights"
    user.mkdir()
    shutil.copy(tiny_weights / "denoise.pt", user / "denoise.pt")
    shutil.copy(tiny_weights / "denoise.json", user / "denoise.json")
    assert find_weights("denoise") == user / "denoise.pt"
    assert find_weights("denoise", tiny_weights / "denoise.pt") == tiny_weights / "denoise.pt"
    assert find_weights("denoise", tiny_weights) == tiny_weights / "denoise.pt"
