"""Training: the loss goes down, resuming is bit-exact, data-parallel replicas agree, export and eval work."""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from conftest import TINY_NET, smooth_image
from PIL import Image

from irsde_gui.cli import main
from irsde_gui.core.sde import MeanRevertingSDE, SDEConfig
from irsde_gui.core.tasks import get_task
from irsde_gui.training.train import TrainConfig, Trainer, lr_at, training_loss


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    for i in range(6):
        img = smooth_image(72, 80, seed=i)
        Image.fromarray((img * 255 + 0.5).astype(np.uint8)).save(d / f"p{i}.png")
    return d


def config(photos, task="denoise", iters=40, **kw):
    base = dict(
        task=task,
        data=[str(photos)],
        iters=iters,
        batch=4,
        patch=32,
        warmup=5,
        lr=3e-3,
        log_every=5,
        val_every=0,
        ckpt_every=1000,
        network=dict(TINY_NET),
    )
    base.update(kw)
    return TrainConfig(**base)


def test_oracle_has_zero_loss_for_every_kind():
    sde = MeanRevertingSDE(SDEConfig())
    g = torch.Generator().manual_seed(0)
    x0, mu = torch.rand(3, 3, 8, 8, generator=g), torch.rand(3, 3, 8, 8, generator=g)
    t = torch.tensor([1, 40, 100])
    x_t = sde.forward_sample(x0, mu, t, torch.randn(x0.shape, generator=g))
    assert training_loss("x0", sde, x_t, mu, x0, x0.clone(), t) == 0
    assert training_loss("ml_x0", sde, x_t, mu, x0, x0.clone(), t) == 0
    assert training_loss("x0_l2", sde, x_t, mu, x0, x0.clone(), t) == 0
    wrong = x0 + 0.1
    for kind in ("x0", "x0_l2", "ml", "ml_x0"):
        assert training_loss(kind, sde, x_t, mu, x0, wrong, t) > 0


def test_squared_error_loss_learns_the_mean_not_the_median():
    """Where the answer is uncertain, the squared error (what PSNR scores) pulls towards the mean."""
    sde = MeanRevertingSDE(SDEConfig())
    x0 = torch.tensor([0.0, 0.0, 1.0]).view(3, 1, 1, 1)  # three equally likely answers
    t = torch.tensor([50, 50, 50])
    x_t = mu = torch.zeros_like(x0)
    best = {}
    for kind in ("x0", "x0_l2"):
        guesses = torch.linspace(0, 1, 101)
        losses = [
            float(training_loss(kind, sde, x_t, mu, x0, torch.full_like(x0, float(g)), t)) for g in guesses
        ]
        best[kind] = float(guesses[int(np.argmin(losses))])
    assert best["x0"] == pytest.approx(0.0)  # the median
    assert best["x0_l2"] == pytest.approx(1 / 3, abs=0.01)  # the mean


def test_learning_rate_schedule():
    cfg = TrainConfig(task="denoise", data=["x"], iters=1000, lr=1e-3, min_lr=1e-5, warmup=100)
    assert lr_at(0, cfg) == pytest.approx(1e-5)
    assert lr_at(99, cfg) == pytest.approx(1e-3)
    assert lr_at(1000, cfg) == pytest.approx(1e-5)
    assert lr_at(550, cfg) < lr_at(300, cfg)


def test_tiny_training_run_decreases_the_loss(photos, tmp_path):
    torch.manual_seed(0)
    # White noise: a tiny run learns it fast (camera noise is mostly weak, so its loss starts low).
    trainer = Trainer(config(photos, iters=80, degradation="gaussian"), tmp_path / "run")
    trainer.run()
    with open(tmp_path / "run" / "log.csv") as f:
        losses = [float(r["loss"]) for r in csv.DictReader(f)]
    assert len(losses) == 16
    assert np.mean(losses[-3:]) < 0.8 * np.mean(losses[:2])


@pytest.mark.parametrize("task", ["deblur", "sr", "inpaint"])
def test_resume_is_bit_exact(photos, tmp_path, task):
    straight = Trainer(config(photos, task, iters=8), tmp_path / "a")
    straight.run()
    first = Trainer(config(photos, task, iters=8), tmp_path / "b")
    first.run(max_steps=4)
    assert first.state.step == 4
    resumed = Trainer(config(photos, task, iters=8), tmp_path / "b", resume=True)
    assert resumed.state.step == 4
    resumed.run()
    for (k, a), b in zip(straight.net.state_dict().items(), resumed.net.state_dict().values()):
        assert torch.equal(a, b), k
    for a, b in zip(straight.ema.state_dict().values(), resumed.ema.state_dict().values()):
        assert torch.equal(a, b)


def test_existing_run_needs_resume(photos, tmp_path):
    Trainer(config(photos, iters=2), tmp_path / "r").run()
    with pytest.raises(FileExistsError):
        Trainer(config(photos, iters=2), tmp_path / "r")


def free_port() -> int:
    """A TCP port nobody listens on now (a fixed one may be taken by another test run)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun_train(photos, run, iters: int, *extra: str) -> tuple[list[str], dict]:
    """The command and environment of a 2-replica gloo training run of the tiny network on the CPU."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MASTER_ADDR="127.0.0.1", PYTHONFAULTHANDLER="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    cmd += ["--master_port", str(free_port()), "-m", "irsde_gui.cli", "train", "--task", "denoise"]
    cmd += ["--data", str(photos), "--out", str(run), "--iters", str(iters), "--batch", "2", "--patch", "32"]
    cmd += ["--device", "cpu", "--network", json.dumps(TINY_NET), *extra, "-q"]
    return cmd, env


def run_replicas(cmd: list[str], env: dict, run) -> subprocess.CompletedProcess:
    """Run a torchrun command to the end; relaunch it once on a new port if a replica is lost."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    if proc.returncode != 0:
        # torchrun on gloo sometimes loses a replica to SIGABRT inside the full suite (not alone);
        # one fresh launch on a new port, then the same checks. See the closing note of stop 7.
        # A warning shows in the summary even when the relaunch passes; with PYTHONFAULTHANDLER
        # the aborting rank's Python stack is in it.
        head = proc.stderr[:3000]
        msg = f"torchrun lost a replica (rc {proc.returncode}); relaunched once:\n{head}"
        warnings.warn(msg, stacklevel=2)
        cmd[cmd.index("--master_port") + 1] = str(free_port())
        shutil.rmtree(run, ignore_errors=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    return proc


def test_data_parallel_replicas_hold_identical_weights(photos, tmp_path):
    run = tmp_path / "ddp"
    cmd, env = torchrun_train(photos, run, 6)
    proc = run_replicas(cmd, env, run)
    assert proc.returncode == 0, proc.stderr[:1500] + "\n...\n" + proc.stderr[-1500:]
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    checks = ckpt["replica_checksums"]
    assert len(checks) == 2 and checks[0] == checks[1]
    assert ckpt["step"] == 6 and ckpt["patches"] == 6 * 2 * 2
    assert len(ckpt["rng"]) == 2


def test_export_writes_weights_and_card(photos, tmp_path):
    Trainer(config(photos, iters=4), tmp_path / "run").run()
    out = tmp_path / "w" / "denoise.pt"
    assert main(["export", str(tmp_path / "run"), "--out", str(out), "--default-steps", "3"]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["task"] == "denoise" and card["default_steps"] == 3
    tr = card["training"]
    assert tr["iterations"] == 4 and tr["batch"] == 4 and tr["patch"] == 32
    assert tr["patches_per_second"] > 0 and tr["hardware"] and tr["data"] == [photos.name]
    from irsde_gui.core.weights import load_weights

    assert load_weights("denoise", out).card.sha256 == card["sha256"]


def test_eval_prints_the_table(tmp_path, tiny_weights, capsys):
    data = tmp_path / "clean"
    data.mkdir()
    for i in range(2):
        Image.fromarray((smooth_image(48, 48, seed=i) * 255).astype(np.uint8)).save(data / f"c{i}.png")
    out_json = tmp_path / "ev.json"
    rc = main(
        [
            "eval",
            "--task",
            "denoise",
            "--data",
            str(data),
            "--weights",
            str(tiny_weights / "denoise.pt"),
            "--steps",
            "2",
            "--json",
            str(out_json),
            "-q",
        ]
    )
    assert rc == 0
    table = capsys.readouterr().out
    assert "degraded input" in table and "non-local means" in table and "IR-SDE (2 steps)" in table
    res = json.loads(out_json.read_text())
    assert res["images"] == 2 and 19 < res["mean"]["input"]["psnr"] < 22  # sigma 25 noise
    assert set(res["mean"]) == {"input", "classic", "model"}


def test_eval_sr_uses_pairs_and_reports_y(tmp_path, tiny_weights, capsys):
    data = tmp_path / "pairs"
    data.mkdir()
    hr = (smooth_image(48, 64) * 255).astype(np.uint8)
    Image.fromarray(hr).save(data / "a_HR.png")
    Image.fromarray(hr).resize((16, 12), Image.BICUBIC).save(data / "a_LR.png")
    assert (
        main(
            [
                "eval",
                "--task",
                "sr",
                "--data",
                str(data),
                "--weights",
                str(tiny_weights / "sr.pt"),
                "--steps",
                "1",
                "-q",
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert "PSNR_Y" in table and "bicubic" in table


def test_pack_and_unpack_carry_a_run_to_another_machine(photos, tmp_path):
    trainer = Trainer(config(photos, iters=6), tmp_path / "run")
    trainer.run(max_steps=3)
    packed = tmp_path / "carry" / "denoise.pt"
    assert main(["pack", str(tmp_path / "run"), "--out", str(packed)]) == 0
    assert packed.stat().st_size < 0.5 * (tmp_path / "run" / "checkpoint.pt").stat().st_size
    assert main(["unpack", str(packed), "--out", str(tmp_path / "elsewhere")]) == 0
    resumed = Trainer(config(photos, iters=6), tmp_path / "elsewhere", resume=True)
    assert resumed.state.step == 3 and resumed.state.seconds == trainer.state.seconds
    for a, b in zip(trainer.ema.state_dict().values(), resumed.ema.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-3)
    resumed.run()
    assert resumed.state.step == 6
    # an older packed run never replaces a run that has gone further
    assert main(["unpack", str(packed), "--out", str(tmp_path / "elsewhere")]) == 1


def test_resume_may_change_length_and_batch_but_not_the_recipe(photos, tmp_path):
    Trainer(config(photos, iters=4), tmp_path / "r").run(max_steps=2)
    t = Trainer(config(photos), tmp_path / "r", resume=True, overrides={"iters": 6, "batch": 2})
    assert (t.cfg.iters, t.cfg.batch, t.cfg.lr) == (6, 2, 3e-3)
    with pytest.raises(ValueError, match="cannot change"):
        Trainer(config(photos), tmp_path / "r", resume=True, overrides={"lr": 1.0})


def test_resume_may_fine_tune_with_the_squared_error(photos, tmp_path):
    Trainer(config(photos, iters=4), tmp_path / "r").run(max_steps=2)
    t = Trainer(config(photos), tmp_path / "r", resume=True, overrides={"loss": "x0_l2"})
    t.run(max_steps=3)
    assert t.cfg.loss == "x0_l2"
    assert t.state.sessions[-1]["loss"] == "x0_l2"


def test_pack_ema_only_carries_logs(photos, tmp_path):
    Trainer(config(photos, iters=10), tmp_path / "run").run()
    packed = tmp_path / "small.pt"
    assert main(["pack", str(tmp_path / "run"), "--out", str(packed), "--ema-only"]) == 0
    assert main(["unpack", str(packed), "--out", str(tmp_path / "there")]) == 0
    t = Trainer(config(photos, iters=12), tmp_path / "there", resume=True)
    assert t.state.step == 10
    assert (tmp_path / "there" / "log.csv").read_text() == (tmp_path / "run" / "log.csv").read_text()
    for a, b in zip(t.net.state_dict().values(), t.ema.state_dict().values()):
        assert torch.equal(a.float(), b)


def test_shipped_weights_continue_as_a_run(photos, tmp_path):
    """A device session needs to carry no checkpoint: the exported weights and card are one."""
    first = Trainer(config(photos, iters=10), tmp_path / "run")
    first.run(max_steps=5)
    out = tmp_path / "weights" / "denoise.pt"
    assert main(["export", str(tmp_path / "run"), "--out", str(out)]) == 0
    assert main(["unpack", str(out), "--out", str(tmp_path / "gpu")]) == 0
    t = Trainer(config(photos, iters=10), tmp_path / "gpu", resume=True)
    assert t.state.step == 5 and t.state.patches == first.state.patches
    for a, b in zip(first.ema.state_dict().values(), t.ema.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-3)
    t.run()
    assert t.state.step == 10


@pytest.mark.parametrize("argv0", ["/opt/venv/bin/irsde", "/src/irsde_gui/cli.py", "-m"])
def test_eval_records_a_command_that_reproduces_it(monkeypatch, argv0):
    from irsde_gui.evaluation.evaluate import command_line

    monkeypatch.setattr(sys, "argv", [argv0, "eval", "--task", "derain", "--name", "cbsd68 (derain)"])
    assert command_line() == "irsde eval --task derain --name 'cbsd68 (derain)'"


def test_card_records_each_batch_and_patch_stage(photos, tmp_path):
    run = tmp_path / "run"
    Trainer(config(photos, iters=3), run).run()
    Trainer(config(photos), run, resume=True, overrides={"iters": 5, "batch": 2, "patch": 48}).run()
    out = tmp_path / "w" / "denoise.pt"
    assert main(["export", str(run), "--out", str(out)]) == 0
    tr = json.loads(out.with_suffix(".json").read_text())["training"]
    stages = [(s["from_step"], s["iterations"], s["batch"], s["patch"]) for s in tr["stages"]]
    assert stages == [(0, 3, 4, 32), (3, 2, 2, 48)]
    assert tr["patches_seen"] == 3 * 4 + 2 * 2


def test_deblur_validates_on_whole_photos_with_given_kernels(photos, tmp_path):
    from irsde_gui.core.metrics import psnr
    from irsde_gui.training.train import validation_set

    kernels = tmp_path / "k.npz"
    line = np.zeros((9, 9), np.float32)
    line[4] = 1 / 9
    np.savez(kernels, a=line, b=line.T)
    cfg = config(
        photos,
        "deblur",
        iters=2,
        val_every=2,
        val_data=[str(photos)],
        val_limit=3,
        val_crop=0,
        val_steps=1,
        val_kernels=str(kernels),
    )
    Trainer(cfg, tmp_path / "r").run()
    with open(tmp_path / "r" / "validation.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert row["protocol"] == "3 whole photos, kernels k.npz" and row["steps"] == "1"
    photos_used = validation_set([str(photos)], 0, 3, 16)
    assert photos_used[0].shape == (64, 80, 3)  # 72 x 80 photos, whole, rounded to 16
    expected = np.mean(
        [
            psnr(np.clip(get_task("deblur").degrade_for_eval(c, 10_000 + i, kernel=k).shown, 0, 1), c)
            for i, (c, k) in enumerate(zip(photos_used, [line, line.T, line]))
        ]
    )
    assert float(row["psnr_input"]) == pytest.approx(expected, abs=1e-6)
    with pytest.raises(ValueError, match="deblur only"):
        Trainer(config(photos, val_kernels=str(kernels)), tmp_path / "d")


def test_a_resumed_run_that_logs_a_new_column_widens_its_csv(tmp_path):
    from irsde_gui.training.train import append_csv

    path = tmp_path / "validation.csv"
    append_csv(path, {"step": 2, "psnr": 20.0})
    append_csv(path, {"step": 4, "psnr": 21.0, "protocol": "whole photos"})
    append_csv(path, {"step": 6, "psnr": 22.0})
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["2", "4", "6"]
    assert [r["protocol"] for r in rows] == ["", "whole photos", ""]
    assert rows[0]["psnr"] == "20.0"


def test_a_stop_signal_ends_data_parallel_replicas_together_with_a_checkpoint(photos, tmp_path):
    """torchrun forwards SIGTERM to every replica; each must finish the step the others are in
    and the run must end with one checkpoint (no other checkpoint is due in this run)."""
    import signal
    import time

    run = tmp_path / "ddp"
    cmd, env = torchrun_train(
        photos, run, 100000, "--log-every", "5", "--ckpt-every", "100000", "--ckpt-minutes", "1000"
    )
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while not (run / "log.csv").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert not (run / "checkpoint.pt").exists()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (run / "checkpoint.pt").exists(), err[-2000:]
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] >= 5 and len(ckpt["rng"]) == 2
    checks = ckpt["replica_checksums"]
    assert checks[0] == checks[1]


def test_shifted_psnr_forgives_a_small_shift_only():
    from irsde_gui.core.metrics import psnr, shifted_psnr

    sharp = np.random.default_rng(0).random((40, 48, 3))
    moved = np.roll(sharp, (2, -3), axis=(0, 1))
    assert psnr(moved, sharp) < 10
    assert shifted_psnr(moved, sharp) == float("inf")  # the 15 px border hides the wrap-around
    assert shifted_psnr(np.roll(sharp, 6, axis=1), sharp) < 12  # beyond reach (5 px)
    noisy = np.clip(moved + 0.01 * np.random.default_rng(1).standard_normal(moved.shape), 0, 1)
    assert 39 < shifted_psnr(noisy, sharp) < 41


def test_deblur_eval_reports_psnr_at_the_best_shift(tmp_path, tiny_weights, capsys):
    data = tmp_path / "clean"
    data.mkdir()
    Image.fromarray((smooth_image(48, 48, seed=3) * 255).astype(np.uint8)).save(data / "c.png")
    out_json = tmp_path / "ev.json"
    args = ["eval", "--task", "deblur", "--data", str(data), "--weights", str(tiny_weights / "deblur.pt")]
    assert main([*args, "--steps", "1", "--json", str(out_json), "-q"]) == 0
    assert "PSNR@SH" in capsys.readouterr().out
    mean = json.loads(out_json.read_text())["mean"]
    # PSNR@SH scores the photo less a 15 px border (here most of it) at its best shift: its own
    # number, finite, for every row (that it is the best over the shifts: test_deblur_scoring)
    for row in ("input", "classic", "model"):
        assert np.isfinite(mean[row]["psnr_shifted"]) and mean[row]["psnr_shifted"] > 10
        assert mean[row]["psnr_shifted"] != mean[row]["psnr"]


def test_resume_drops_log_rows_past_the_checkpoint(photos, tmp_path):
    """Rows logged after the last checkpoint (a killed run, or a pack of a live run) are redone."""
    Trainer(config(photos, iters=8, log_every=1), tmp_path / "r").run(max_steps=4)
    with open(tmp_path / "r" / "log.csv", "a") as f:
        f.write("5,0.5,0.001,1.0,4.0,0.1\n6,0.5,0.001,1.0,4.0,0.1\n")
    Trainer(config(photos, iters=8, log_every=1), tmp_path / "r", resume=True).run()
    with open(tmp_path / "r" / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(1, 9))
    assert all(float(r["loss"]) != 0.5 for r in rows)


def test_data_parallel_replicas_agree_on_timed_checkpoints(photos, tmp_path):
    """A checkpoint due by the clock must be taken by every replica at the same step: each one's
    clock differs, and a save is a collective (a replica saving alone paired its gathers with
    the other's, which then read a checkpoint's state as a request to stop, and hung)."""
    run = tmp_path / "ddp"
    cmd, env = torchrun_train(
        photos, run, 60, "--log-every", "5", "--ckpt-every", "100000", "--ckpt-minutes", "0.0005"
    )
    proc = run_replicas(cmd, env, run)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 60
    assert all(isinstance(r, dict) for r in ckpt["rng"]) and len(ckpt["rng"]) == 2
    checks = ckpt["replica_checksums"]
    assert isinstance(checks[0], float) and checks[0] == checks[1]


def test_an_annealed_start_ends_at_the_floor_rate_and_then_resumes_the_schedule(
    photos, tmp_path, monkeypatch
):
    import itertools
    import time
    import types

    from irsde_gui.training import train as train_module

    cfg = config(photos, iters=100_000, warmup=1, lr=1e-3, min_lr=1e-5)
    trainer = Trainer(cfg, tmp_path / "run")
    with pytest.raises(ValueError, match="time budget"):
        trainer.run(max_steps=2, anneal=True)
    # The trainer's clock advances 10 ms each time it is read, whatever the machine's speed.
    clock = itertools.count(0.0, 0.01)
    fake = types.SimpleNamespace(perf_counter=lambda: next(clock), strftime=time.strftime)
    monkeypatch.setattr(train_module, "time", fake)
    trainer.run(max_seconds=1.5, anneal=True)
    assert trainer.state.step > 20
    # The rate decayed along the start's time budget, well below the step schedule's.
    assert lr_at(trainer.state.step, trainer.cfg) > 9e-4
    assert trainer.lr_now < 2e-4
    with open(tmp_path / "run" / "log.csv") as f:
        rates = [float(r["lr"]) for r in csv.DictReader(f)]
    assert rates == sorted(rates, reverse=True) and rates[0] > 5 * rates[-1]
    assert trainer.state.sessions[-1]["annealed"] is True
    resumed = Trainer(cfg, tmp_path / "run", resume=True)
    resumed.run(max_steps=1)
    assert resumed.lr_now == pytest.approx(lr_at(resumed.state.step - 1, cfg))


def test_cli_refuses_to_anneal_without_a_time_budget(photos, tmp_path, capsys):
    out = str(tmp_path / "r")
    code = main(["train", "--task", "denoise", "--data", str(photos), "--out", out, "--anneal"])
    assert code == 2
    assert "--anneal needs --minutes" in capsys.readouterr().err


def test_a_new_run_can_start_from_another_models_weights(photos, tmp_path, tiny_weights):
    """Deblurring learns faster from the shipped denoiser than from scratch (same network)."""
    from irsde_gui.core.weights import load_weights

    src = tiny_weights / "denoise.pt"
    t = Trainer(config(photos, task="deblur", iters=4), tmp_path / "run", init_from=src)
    want = load_weights(None, src).net.state_dict()
    got = t.net.state_dict()
    assert all(torch.equal(got[k].float(), want[k].float()) for k in want)
    assert all(torch.equal(t.ema.state_dict()[k], want[k].float()) for k in want)
    init = json.loads((tmp_path / "run" / "config.json").read_text())["init"]
    assert init["weights"] == "denoise.pt" and init["task"] == "denoise" and len(init["sha256"]) == 64
    t.run()
    # Resuming keeps the run's own weights; asking to start from others is refused.
    with pytest.raises(ValueError, match="new run"):
        Trainer(config(photos, task="deblur", iters=8), tmp_path / "run", resume=True, init_from=src)


def test_a_new_run_from_the_tasks_own_trained_model_is_refused_for_resuming_it(
    photos, tmp_path, tiny_weights
):
    """A new run from the model itself would start its count at step 0, and the card it exports
    would leave out the steps and minutes already in the weights: unpack and resume instead."""
    Trainer(config(photos, iters=4), tmp_path / "run").run()
    shipped = tmp_path / "w" / "denoise.pt"
    assert main(["export", str(tmp_path / "run"), "--out", str(shipped)]) == 0
    with pytest.raises(ValueError, match=r"denoise model itself \(4 steps trained\).*irsde unpack"):
        Trainer(config(photos, iters=8), tmp_path / "again", init_from=shipped)
    # another task's model, or weights whose card holds no training run, start a new run
    Trainer(config(photos, task="deblur", iters=8), tmp_path / "deblur", init_from=shipped)
    Trainer(config(photos, iters=8), tmp_path / "plain", init_from=tiny_weights / "denoise.pt")
    # and unpacking continues the run: its steps go on from where the weights stopped
    assert main(["unpack", str(shipped), "--out", str(tmp_path / "more")]) == 0
    assert Trainer(config(photos, iters=8), tmp_path / "more", resume=True).state.step == 4


def test_starting_from_weights_of_another_network_is_refused(photos, tmp_path, tiny_weights, capsys):
    other = {**TINY_NET, "width": TINY_NET["width"] * 2}
    with pytest.raises(ValueError, match="different network"):
        Trainer(config(photos, iters=4, network=other), tmp_path / "run", init_from=tiny_weights / "sr.pt")
    args = ["train", "--task", "deblur", "--data", str(photos), "--out", str(tmp_path / "cli")]
    assert main([*args, "--init", str(tmp_path / "missing.pt"), "--network", json.dumps(TINY_NET), "-q"]) != 0
    assert "missing.pt" in capsys.readouterr().err


def test_rates_scale_with_the_square_root_of_a_changed_batch(photos, tmp_path):
    """A run records the global batch its rate is meant for; a resumed run with 4x the batch
    (a GPU after a CPU) takes twice the rate, and the schedule's shape is unchanged."""
    first = Trainer(config(photos, iters=40, batch=2), tmp_path / "run")
    assert first.cfg.lr_batch == 2 and first.lr_scale == 1.0
    first.run(max_steps=10)
    assert first.lr_now == pytest.approx(lr_at(9, first.cfg))
    bigger = Trainer(config(photos, iters=40, batch=8), tmp_path / "run", resume=True, overrides={"batch": 8})
    assert bigger.cfg.lr_batch == 2 and bigger.lr_scale == pytest.approx(2.0)
    bigger.run(max_steps=1)
    assert bigger.lr_now == pytest.approx(2.0 * lr_at(10, bigger.cfg))
    assert bigger.state.sessions[-1]["lr_scale"] == 2.0 and "lr_scale" not in bigger.state.sessions[0]
    # A run from before the batch was recorded keeps its rates whatever the batch.
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    cfg["lr_batch"] = None
    (tmp_path / "run" / "config.json").write_text(json.dumps(cfg))
    old = Trainer(config(photos, iters=40, batch=8), tmp_path / "run", resume=True, overrides={"batch": 8})
    assert old.lr_scale == 1.0


def test_a_network_that_fails_to_compile_trains_uncompiled(photos, tmp_path, monkeypatch):
    """torch.compile fails at the first step on some machines: a borrowed GPU's minutes go on."""

    def broken_compile(model, **kw):
        def forward(*a, **k):
            raise RuntimeError("no C compiler found\nmore detail")

        return forward

    monkeypatch.setattr(torch, "compile", broken_compile)
    notes = []
    t = Trainer(config(photos, iters=6), tmp_path / "run", compile=True, log=notes.append)
    t.run()
    assert t.state.step == 6 and t.forward is t.model
    assert t.compile_error == "RuntimeError: no C compiler found"
    assert any(n["kind"] == "note" and "uncompiled" in n["text"] for n in notes)
    session = t.state.sessions[-1]
    assert session["compile_error"] == t.compile_error and "compiled" not in session


@pytest.mark.parametrize("share", [0.0, 0.5, 1.0])
def test_t_focus_draws_that_share_of_times_late_in_the_process(photos, tmp_path, share, monkeypatch):
    t = Trainer(config(photos, iters=30, t_focus=share), tmp_path / "run")
    seen = []
    real = MeanRevertingSDE.forward_sample

    def spy(self, x0, mu, times, z):
        seen.append(times.clone())
        return real(self, x0, mu, times, z)

    monkeypatch.setattr(MeanRevertingSDE, "forward_sample", spy)
    t.run()
    times = torch.cat(seen)
    late = (times >= 75).float().mean().item()
    assert times.min() >= 1 and times.max() <= 100
    # Uniform draws land late 26 % of the time; the focused share adds to that.
    assert late == pytest.approx(share + (1 - share) * 0.26, abs=0.12)
    if share == 1.0:
        assert times.min() >= 75
    assert t.state.sessions[-1].get("t_focus", 0.0) == share


def test_t_focus_is_a_share(photos, tmp_path):
    with pytest.raises(ValueError, match="between 0 and 1"):
        Trainer(config(photos, t_focus=1.5), tmp_path / "run")


@pytest.fixture(scope="module")
def real_pairs(tmp_path_factory):
    """Noisy/clean pairs as a real-noise benchmark lays them out (noisy/NAME, clean/NAME)."""
    d = tmp_path_factory.mktemp("pairs")
    (d / "noisy").mkdir()
    (d / "clean").mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        clean = smooth_image(48, 64, seed=10 + i)
        noisy = np.clip(clean + rng.normal(0, 0.05, clean.shape), 0, 1)
        Image.fromarray((clean * 255 + 0.5).astype(np.uint8)).save(d / "clean" / f"c{i}.png")
        Image.fromarray((noisy * 255 + 0.5).astype(np.uint8)).save(d / "noisy" / f"c{i}.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(d / "noisy" / "orphan.png")  # no clean one
    return d


def test_validation_on_real_pairs_is_logged_beside_the_synthetic_set(photos, real_pairs, tmp_path):
    from irsde_gui.evaluation.validation import pair_files

    assert [n.name for n, _ in pair_files(real_pairs)] == ["c0.png", "c1.png", "c2.png"]
    cfg = config(photos, iters=4, val_data=[str(photos)], val_pairs=str(real_pairs), val_every=4, val_limit=2)
    Trainer(cfg, tmp_path / "run").run()
    with open(tmp_path / "run" / "validation.csv") as f:
        row = next(csv.DictReader(f))
    # The input's score is measured on the pairs themselves (noise of 0.05: about 26 dB).
    assert 24 < float(row["real_pairs_psnr_input"]) < 28
    assert np.isfinite(float(row["real_pairs_psnr"]))


def test_pairs_folder_without_clean_photos_is_named(tmp_path):
    from irsde_gui.evaluation.validation import pair_files

    (tmp_path / "noisy").mkdir()
    with pytest.raises(FileNotFoundError, match="noisy/ \\(or degraded/\\) and clean/"):
        pair_files(tmp_path)


def test_a_start_with_fresh_optimizer_moments_warms_up_again(photos, tmp_path):
    from irsde_gui.training.train import pack_run, unpack_run

    Trainer(config(photos, iters=30, warmup=5), tmp_path / "a").run()
    pack_run(tmp_path / "a", tmp_path / "a.pt")
    unpack_run(tmp_path / "a.pt", tmp_path / "b")
    more = {"iters": 60}
    t = Trainer(config(photos, iters=60, warmup=5), tmp_path / "b", resume=True, overrides=more)
    t.run(max_steps=1)
    schedule = lr_at(30, t.cfg)
    assert t.lr_now == pytest.approx(schedule / 5)  # the first of 5 warm-up steps
    t2 = Trainer(config(photos, iters=60, warmup=5), tmp_path / "b", resume=True, overrides=more)
    t2.run(max_steps=1)
    assert t2.lr_now == pytest.approx(lr_at(31, t2.cfg))  # its moments were saved: no warm-up


def test_validation_under_a_named_degradation_is_logged_too(photos, tmp_path):
    cfg = config(photos, "sr", iters=2, val_data=[str(photos)], val_preset="practical", val_every=2)
    Trainer(cfg, tmp_path / "run").run()
    with open(tmp_path / "run" / "validation.csv") as f:
        row = next(csv.DictReader(f))
    assert float(row["practical_psnr_input"]) < float(row["psnr_input"])  # noisier than clean bicubic
    with pytest.raises(ValueError, match="no evaluation degradation 'practical' for denoise"):
        config(photos, val_preset="practical").resolved()


def test_a_network_grown_with_global_blocks_starts_from_the_tasks_own_model(photos, tmp_path):
    """A new architecture that only adds zero-initialised modules (global context for inpainting)
    starts a new run from the trained model: same output at step 0, the new modules learn."""
    Trainer(config(photos, "inpaint", iters=4), tmp_path / "run").run()
    shipped = tmp_path / "w" / "inpaint.pt"
    assert main(["export", str(tmp_path / "run"), "--out", str(shipped)]) == 0
    grown = {**TINY_NET, "global_blocks": 1}
    t = Trainer(config(photos, "inpaint", iters=8, network=grown), tmp_path / "grown", init_from=shipped)
    init = t.cfg.init
    assert init["task"] == "inpaint" and init["step"] == 4 and init["grown"] == {"global_blocks": 1}
    assert all(torch.equal(blk.gamma, torch.zeros_like(blk.gamma)) for blk in t.net.global_blocks)
    t.run()
    # Any other change is not a grown network: the model itself is refused, as for the same one.
    with pytest.raises(ValueError, match="inpaint model itself"):
        Trainer(
            config(photos, "inpaint", iters=8, network={**grown, "width": TINY_NET["width"] * 2}),
            tmp_path / "x",
            init_from=shipped,
        )


def test_rescaled_patches_show_more_of_the_scene(tmp_path):
    """Half the patches come from the photo shrunk (down to --rescale): a coarse pattern of 8 px
    squares then shows squares smaller than 8 px; with 1 every patch is at the photo's own size."""
    from irsde_gui.training.train import PatchSampler

    yy, xx = np.mgrid[:256, :256]
    board = (((yy // 8) + (xx // 8)) % 2 * 255).astype(np.uint8)
    Image.fromarray(np.dstack([board] * 3)).save(tmp_path / "board.png")

    def edges_per_row(sampler):
        b = sampler.batch(64).float()[:, 0]
        return (b[:, :, 1:] - b[:, :, :-1]).abs().gt(60).float().sum(-1).mean(-1)  # per patch

    own = edges_per_row(PatchSampler([str(tmp_path)], 64, seed=1))
    assert torch.allclose(own, torch.full_like(own, 8.0), atol=1.0)  # 64 px: 8 squares a row
    shrunk = edges_per_row(PatchSampler([str(tmp_path)], 64, seed=1, rescale=0.25))
    more = (shrunk > 10).float().mean()
    assert 0.25 < more < 0.75  # about half the patches are shrunk, by up to 4x
    assert shrunk.max() > 20


def test_rescale_is_deterministic_and_a_scale(photos, tmp_path):
    from irsde_gui.training.train import PatchSampler

    a = PatchSampler([str(photos)], 32, seed=3, rescale=0.5).batch(8)
    b = PatchSampler([str(photos)], 32, seed=3, rescale=0.5).batch(8)
    assert torch.equal(a, b) and a.shape == (8, 3, 32, 32)
    with pytest.raises(ValueError, match="rescale"):
        config(photos, rescale=0.0).resolved()


def test_a_network_grown_with_more_blocks_computes_the_same_at_first(photos, tmp_path):
    """More NAF blocks at a level (each starts as the identity) grow a trained network: it loads,
    computes exactly what it did, and its card's init says what was added. Fewer blocks do not."""
    Trainer(config(photos, "inpaint", iters=4), tmp_path / "run").run()
    shipped = tmp_path / "w" / "inpaint.pt"
    assert main(["export", str(tmp_path / "run"), "--out", str(shipped)]) == 0
    enc, dec = list(TINY_NET["enc_blocks"]), list(TINY_NET["dec_blocks"])
    grown = {
        **TINY_NET,
        "mid_blocks": TINY_NET["mid_blocks"] + 2,
        "enc_blocks": [*enc[:-1], enc[-1] + 1],
        "dec_blocks": [dec[0] + 1, *dec[1:]],
    }
    t = Trainer(config(photos, "inpaint", iters=8, network=grown), tmp_path / "grown", init_from=shipped)
    assert t.cfg.init["grown"] == {k: grown[k] for k in ("mid_blocks", "enc_blocks", "dec_blocks")}
    from irsde_gui.core.weights import load_weights

    old = load_weights(None, shipped).net.eval()
    g = torch.Generator().manual_seed(0)
    x, mu = torch.rand(1, 3, 32, 32, generator=g), torch.rand(1, 3, 32, 32, generator=g)
    t_ = torch.tensor([50])
    with torch.no_grad():
        assert torch.allclose(t.net.float().eval()(x, mu, t_), old.float()(x, mu, t_), atol=1e-6)
    t.net.train()
    t.run()
    # its card counts the steps and minutes of the model it grew from, then its own
    from irsde_gui.core.weights import read_card

    before, after = read_card(shipped).training, tmp_path / "w" / "grown.pt"
    assert main(["export", str(tmp_path / "grown"), "--out", str(after)]) == 0
    tr = read_card(after).training
    assert tr["step"] == 8 and tr["iterations"] == before["iterations"] + 8 == 12
    assert tr["minutes"] == pytest.approx(before["minutes"] + tr["seconds"] / 60, abs=0.06)
    assert [st["from_step"] for st in tr["stages"]] == [0, 4]
    assert set(before["hardware"]) <= set(tr["hardware"])
    fewer = {**TINY_NET, "mid_blocks": TINY_NET["mid_blocks"] - 1}
    with pytest.raises(ValueError, match="inpaint model itself"):
        Trainer(config(photos, "inpaint", iters=8, network=fewer), tmp_path / "x", init_from=shipped)


def test_the_command_line_offers_every_training_loss():
    from irsde_gui.cli.train import LOSS_NAMES
    from irsde_gui.training.train import LOSSES

    assert LOSS_NAMES == LOSSES
