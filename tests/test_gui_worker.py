"""The restore worker: frames in step order, cancel within one step, an event loop that never stalls."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import smooth_image

pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer

from irsde_gui.app.worker import (
    FRAME_BUDGET_BYTES,
    LatestSlot,
    RestoreRun,
    RunRequest,
    frame_side,
    load_engine_info,
)


def start(qtbot, request: RunRequest) -> tuple[RestoreRun, dict]:
    run = RestoreRun(request)
    seen: dict = {"frames": [], "events": [], "progress": []}
    run.frame.connect(lambda f: (seen["frames"].append(f.index), seen["events"].append("frame")))
    run.progress.connect(lambda p: seen["progress"].append(p))
    run.finished.connect(lambda o: seen["events"].append("finished"))
    run.cancelled.connect(lambda o: seen["events"].append("cancelled"))
    run.failed.connect(lambda f: seen["events"].append(f"failed: {f.message}"))
    run.start()
    return run, seen


def test_frames_in_step_order_then_finished(qtbot, installed_tiny_weights):
    run, seen = start(qtbot, RunRequest("denoise", rgb=smooth_image(32, 48), steps=6, seed=3, device="cpu"))
    with qtbot.waitSignal(run.stopped, timeout=20_000):
        pass
    assert seen["events"][-1] == "finished", seen["events"]
    assert "frame" in seen["events"]
    frames = seen["frames"]
    assert frames == sorted(set(frames)), "frames must arrive in step order, each once"
    assert frames[-1] == 6, "the last step is always delivered (latest wins)"
    # every step is stored for the scrubber, downsampled, whatever was displayed
    assert [f.index for f in run.trajectory.frames] == [1, 2, 3, 4, 5, 6]
    f = run.trajectory.frames[0]
    assert f.state.dtype == np.uint8 and f.state.shape == (32, 48, 3)
    outcome = run.result
    assert outcome.image.shape == (32, 48, 3) and outcome.steps_done == 6 and not outcome.stopped
    assert outcome.report.steps == 6 and outcome.report.seed == 3 and len(outcome.report.model_sha256) == 64
    last = seen["progress"][-1]
    assert (last.index, last.total) == (6, 6) and last.remaining == 0
    assert not run.is_running()


def test_cancel_stops_within_one_step_and_leaves_no_thread(qtbot, installed_tiny_weights):
    run, seen = start(qtbot, RunRequest("denoise", rgb=smooth_image(48, 64), steps=100, device="cpu"))
    at_cancel: list[int] = []

    def cancel_on_first_frame(frame):
        if not at_cancel:
            at_cancel.append(len(run.trajectory))
            run.cancel()

    run.frame.connect(cancel_on_first_frame)
    with qtbot.waitSignal(run.cancelled, timeout=20_000) as blocker:
        pass
    outcome = blocker.args[0]
    assert outcome.stopped and outcome.total == 100
    assert outcome.steps_done <= at_cancel[0] + 1, "at most the step in progress may finish after cancel"
    assert outcome.image is not None and outcome.image.shape == (48, 64, 3), "x0_hat of the last step is kept"
    assert outcome.report.stopped_early and outcome.report.steps_done == outcome.steps_done
    assert run.wait(5_000)
    assert not run.is_running()
    assert "finished" not in seen["events"]


def test_the_event_loop_turns_while_the_network_runs(qtbot, installed_tiny_weights, monkeypatch):
    """While the network computes on the worker thread, the GUI thread goes on processing timer
    ticks: the first step keeps calling the network until the GUI thread has counted 5 ticks,
    which a run that held the event loop would never let happen. The largest gap between ticks
    depends on the machine's load: ``irsde bench --gui`` reports it, no test asserts it."""
    from irsde_gui.core.model import Restorer

    load_engine_info()  # import the engine first: the app does this in a background thread at start-up
    ticks: list[int] = []
    probe = QTimer()
    probe.setInterval(10)
    probe.timeout.connect(lambda: ticks.append(len(ticks)))
    network = Restorer.__call__
    while_computing: list[int] = []

    def network_until_ticks(self, *args):
        if not while_computing:
            before = len(ticks)
            give_up = time.monotonic() + 10  # only so that a stalled loop fails instead of hanging
            while len(ticks) - before < 5 and time.monotonic() < give_up:
                network(self, *args)  # real work, on the worker thread, as a step does
            while_computing.append(len(ticks) - before)
        return network(self, *args)

    monkeypatch.setattr(Restorer, "__call__", network_until_ticks)
    probe.start()
    run, seen = start(qtbot, RunRequest("deblur", rgb=smooth_image(48, 64), steps=20, device="cpu"))
    with qtbot.waitSignal(run.stopped, timeout=30_000):
        pass
    probe.stop()
    assert seen["events"][-1] == "finished", seen["events"]
    assert while_computing and while_computing[0] >= 5, f"the event loop stalled: {while_computing} ticks"
    assert seen["frames"] == sorted(set(seen["frames"])) and seen["frames"][-1] == 20


def test_latest_slot_keeps_only_the_newest():
    slot = LatestSlot()
    assert slot.put(1) is True
    assert slot.put(2) is False
    assert slot.take() == 2
    assert slot.take() is None
    assert slot.put(3) is True


def test_stored_frames_stay_within_the_budget():
    for steps in (1, 10, 56, 100, 1000):
        side = frame_side(steps)
        assert steps * 2 * side * side * 3 <= FRAME_BUDGET_BYTES
    assert frame_side(10) == 768 and frame_side(100) == 579


def test_unusable_device_fails_with_a_clear_message(qtbot, installed_tiny_weights):
    run, _seen = start(qtbot, RunRequest("denoise", rgb=smooth_image(32, 32), steps=2, device="mps"))
    with qtbot.waitSignal(run.failed, timeout=20_000) as blocker:
        pass
    assert blocker.args[0].kind == "device"
    assert "MPS" in blocker.args[0].message
    run.wait()


def test_out_of_memory_retries_in_smaller_tiles(qtbot, installed_tiny_weights, monkeypatch):
    """A network that runs out of memory on large inputs makes the worker retry in tiles."""
    import torch

    from irsde_gui.core.model import Restorer

    call = Restorer.__call__

    def picky(self, x_t, mu, t):
        if x_t.shape[-1] > 64:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return call(self, x_t, mu, t)

    monkeypatch.setattr(Restorer, "__call__", picky)
    run, seen = start(qtbot, RunRequest("denoise", rgb=smooth_image(64, 200), steps=2, device="cpu"))
    notices: list[str] = []
    run.notice.connect(notices.append)
    with qtbot.waitSignal(run.stopped, timeout=20_000):
        pass
    assert seen["events"][-1] == "finished", seen["events"]
    assert notices and "smaller tiles" in notices[0]
    assert run.result.report.tile == 64
