"""The window's state without a window: the session model, driven as the worker and the user would."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from irsde_gui.app.session import IDLE, RUNNING, STOPPING, Dropped, Session
from irsde_gui.core.imageio import Photo
from irsde_gui.core.runs import RunReport
from irsde_gui.core.trajectory import Frame


@dataclasses.dataclass
class Outcome:
    """What the worker hands over when a run ends (the fields the session reads of RunOutcome)."""

    image: np.ndarray | None
    report: RunReport
    steps_done: int
    total: int
    stopped: bool = False
    kernel: np.ndarray | None = None
    mask: np.ndarray | None = None
    other_kernel: np.ndarray | None = None
    other_start: str | None = None


@dataclasses.dataclass
class Request:
    """The fields of a RunRequest that an uncertainty map changes."""

    task: str = "denoise"
    seed: int = 7
    keep_frames: bool = True


class Accumulator:
    """Counts the seeds added, as SpreadAccumulator does; its result is the seeds."""

    def __init__(self) -> None:
        self.n, self.seeds = 0, []

    def add(self, image, seed) -> None:
        self.n += 1
        self.seeds.append(seed)

    def result(self):
        return list(self.seeds)


def report(task="denoise", steps=4, done=4, seed=7, method="sde", **kw) -> RunReport:
    return RunReport(
        task, "m.pt", "0" * 64, "posterior", steps, seed, "cpu", 0.1, 0.4, done, method=method, **kw
    )


def outcome(value: float, task="denoise", steps=4, done=4, stopped=False, **kw) -> Outcome:
    r = report(task, steps, done, stopped_early=stopped, **kw)
    return Outcome(np.full((8, 8, 3), value, np.float32), r, done, steps, stopped=stopped)


def frame(i: int) -> Frame:
    img = np.zeros((4, 4, 3), np.uint8)
    return Frame(i, 100 - i, img, img)


@pytest.fixture
def session():
    s = Session()
    s.open_photo(Photo(np.zeros((8, 8, 3), np.float32), path=Path("/photos/cat.png")), "cat.png")
    return s


def record(event) -> list:
    seen: list = []
    event.connect(lambda *args: seen.append(args))
    return seen


def test_importing_the_session_imports_no_qt():
    code = "import sys, irsde_gui.app.session; print('PySide6' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_run_starts_receives_frames_and_finishes_with_its_result(session):
    states, frames, results = (
        record(e)
        for e in (
            session.events.run_state_changed,
            session.events.frame_received,
            session.events.result_changed,
        )
    )
    trajectory = session.run_started("Denoise")
    assert session.running and session.busy and states == [(RUNNING,)]
    assert trajectory is session.trajectory and session.run_task_label == "Denoise"
    for i in (1, 2, 3):
        trajectory.add(frame(i))  # the worker fills the trajectory and sends the frame
        session.frame_received(frame(i))
    assert [f[0].index for f in frames] == [1, 2, 3] and len(session.trajectory) == 3
    done = outcome(0.5)
    assert session.run_finished(done) == "result"
    assert session.result is done.image and session.outcome is done and session.unsaved
    assert results == [()] and session.previous is None  # nothing before it to compare with
    assert session.run_ended() is False and not session.running and states[-1] == (IDLE,)


def test_a_stopped_run_offers_its_x0_hat_and_keeping_it_makes_it_the_result(session):
    session.run_started("Denoise")
    first = outcome(0.2)
    session.run_finished(first)
    session.run_ended()
    session.run_started("Denoise")
    assert session.stop_requested() and session.run_state == STOPPING
    assert not session.stop_requested(), "a second Stop changes nothing"
    stopped = outcome(0.6, done=2, stopped=True)
    assert session.run_stopped(stopped) == "offer" and session.stopped_outcome is stopped
    assert session.result is first.image, "the result stays until x0_hat is kept"
    session.run_ended()
    assert session.keep_stopped()
    assert session.result is stopped.image and session.stopped_outcome is None
    assert session.result_label() == "Result (x0_hat, step 2)"
    assert session.previous is not None and session.previous.image is first.image, (
        "the result before is kept for A/B"
    )
    assert not session.keep_stopped(), "kept once"


def test_a_discarded_x0_hat_leaves_the_result_and_a_new_photo_drops_the_offer(session):
    session.run_started("Denoise")
    session.run_stopped(outcome(0.6, done=1, stopped=True))
    session.run_ended()
    session.discard_stopped()
    assert session.result is None and session.stopped_outcome is None
    session.run_started("Denoise")
    assert session.run_stopped(outcome(0.6, done=1, stopped=True)) == "offer"
    session.run_ended()
    session.open_photo(Photo(np.ones((8, 8, 3), np.float32)), "other.png")
    assert not session.keep_stopped(), "a stopped run of another photo is not the result of this one"
    assert session.result is None


def test_a_run_stopped_before_its_first_step_has_nothing_to_keep(session):
    session.run_started("Denoise")
    assert session.run_stopped(Outcome(None, report(done=0), 0, 4, stopped=True)) == "nothing"
    assert session.stopped_outcome is None


def test_compare_a_b_shows_the_previous_result_with_its_settings(session):
    session.task_labels = {"denoise": "Denoise"}
    assert not session.compare(True), "no previous result yet"
    changes = record(session.events.compare_changed)
    for value, seed in ((0.2, 1), (0.8, 2)):
        session.run_started("Denoise")
        session.run_finished(outcome(value, seed=seed))
        session.run_ended()
    assert session.before() is None, "the photo until A/B is switched on"
    assert session.compare(True) and changes[-1] == (True,)
    before = session.before()
    assert float(before.image[0, 0, 0]) == pytest.approx(0.2)
    assert before.label == "Previous: denoise, posterior, 4 steps, seed 1"
    assert session.result_label() == "Result: posterior, 4 steps, seed 2"
    assert not session.compare(False) and session.before() is None and session.result_label() == "Result"
    session.open_photo(Photo(np.zeros((8, 8, 3), np.float32)), "new.png")
    assert session.previous is None and not session.comparing


def test_a_remembered_blur_is_kept_for_the_same_pixels_but_not_when_doubted(session):
    kernel = np.ones((5, 5), np.float32) / 25
    blind = outcome(0.5, task="deblur", method="blind")
    blind.kernel = kernel
    session.run_started("Deblur")
    session.run_finished(blind)
    session.run_ended()
    assert session.blur_found_before(in_rounds=True).kernel is kernel, "the next blind run starts from it"
    assert session.blur_found_before(in_rounds=False) is None, "a network's run estimates none"
    assert session.blur_found_before(in_rounds=True, known_kernel=kernel) is None, "a given blur wins"

    session.open_photo(Photo(np.zeros((8, 8, 3), np.float32)), "other.png")
    assert session.found_blur is None and session.blur_found_before(True) is None
    doubted = outcome(0.5, task="deblur", method="blind", blur_doubt="too long for this photo")
    doubted.kernel = kernel
    session.run_started("Deblur")
    session.run_finished(doubted)
    assert session.found_blur is None, "a doubted blur is found again next time"
    given = outcome(0.5, task="deblur", method="blind", blur_kernel_given=True)
    given.kernel = kernel
    session.run_finished(given)
    assert session.found_blur is None, "a given blur was not found in the photo"


def test_the_other_blur_found_is_offered_kept_across_runs_and_swapped_on_request(session):
    kept, other = np.ones((5, 5), np.float32) / 25, np.eye(5, dtype=np.float32) / 5
    assert session.other_blur() is None and not session.take_other_blur(), "none found yet"
    blind = outcome(0.5, task="deblur", method="blind", blur_start="photo")
    blind.kernel, blind.other_kernel, blind.other_start = kept, other, "network"
    session.run_started("Deblur")
    session.run_finished(blind)
    session.run_ended()
    found = session.other_blur()
    assert found.kernel is kept and found.start == "photo"
    assert found.other is other and found.other_start == "network"
    session.run_started("Deblur")
    assert not session.take_other_blur(), "not while a run is in progress"
    session.run_finished(blind)
    session.run_ended()
    assert session.take_other_blur()
    now = session.blur_found_before(in_rounds=True)
    assert (now.kernel, now.start, now.other, now.other_start) == (other, "network", kept, "photo")
    # run again with it (the worker knows no other blur then): the first one is still offered
    again = outcome(0.6, task="deblur", method="blind", blur_start="network")
    again.kernel = other
    session.run_started("Deblur")
    session.run_finished(again)
    session.run_ended()
    assert session.other_blur().other is kept and session.found_blur.kernel is other
    session.open_photo(Photo(np.zeros((8, 8, 3), np.float32)), "next.png")
    assert session.other_blur() is None and not session.take_other_blur(), "another photo's blur"


def test_an_uncertainty_map_runs_its_seeds_one_after_another(session):
    session.begin_spread(Request(seed=7), Accumulator(), seeds=3)
    request, fresh = session.next_spread_request()
    assert (request.seed, request.keep_frames, fresh) == (7, True, True)
    session.run_started("Denoise", fresh)
    assert session.next_spread_request() is None, "one run at a time"
    first = outcome(0.3, seed=7)
    assert session.run_finished(first) == "result" and session.result is first.image
    assert session.run_ended(), "the next seed is due"
    for seed, became in ((8, "seed"), (9, "map")):
        request, fresh = session.next_spread_request()
        assert (request.seed, request.keep_frames, fresh) == (seed, False, False)
        session.run_started("Denoise", fresh)
        assert session.run_finished(outcome(0.9, seed=seed)) == became
        session.run_ended()
    assert session.result is first.image, "the first seed's restoration stays the result"
    assert session.uncertainty == [7, 8, 9] and session.result_view == "spread"
    assert session.spread_run is None and session.next_spread_request() is None
    assert session.set_result_view("spread") == "result", "choosing the shown view again goes back"
    session.run_started("Denoise")
    assert session.uncertainty is None, "a new run's result has no map yet"


def test_a_stopped_later_seed_keeps_the_first_result_and_makes_no_map(session):
    session.begin_spread(Request(), Accumulator(), seeds=3)
    session.run_started("Denoise", True)
    first = outcome(0.3)
    session.run_finished(first)
    session.run_ended()
    _request, fresh = session.next_spread_request()
    session.run_started("Denoise", fresh)
    session.stop_requested()
    assert session.run_stopped(outcome(0.7, done=1, stopped=True)) == "spread"
    assert not session.run_ended() and session.spread_run is None
    assert session.result is first.image and session.uncertainty is None and session.stopped_outcome is None


def test_queue_a_batch_opens_the_first_photo_only_when_none_is_shown(tmp_path):
    session = Session()
    files = [tmp_path / f"{n}.png" for n in "abc"]
    route = session.queue_batch(Dropped(files=files, notes=["notes.txt skipped"]))
    assert route.queue == files and route.open == files[0] and route.quiet and route.error is None
    assert session.queue_batch(Dropped(files=files), photo_coming=True).open is None
    assert session.queue_batch(Dropped(single=files[1])).open == files[1]
    assert "no photos found" in session.queue_batch(Dropped(notes=[])).error
    assert session.queued_message(3, route.notes).startswith("3 photos added to the batch queue (notes.txt")
    assert "Choose the output folder" in session.queued_message(3, [])
    session.batch.set_output_folder(tmp_path / "out")
    said = session.queued_message(3, [])
    assert "Choose" not in said and f"into {tmp_path / 'out'}" in said, "a set folder is not asked for"
    session.open_photo(Photo(np.zeros((8, 8, 3), np.float32)), "shown.png")
    assert session.queue_batch(Dropped(files=files)).open is None, "the photo shown stays"
    session.batch_started()
    assert session.busy and not session.running, "no single run while the queue runs"
    session.batch_finished()
    assert not session.busy


def test_continue_from_the_result_and_back_one_stage(session):
    session.run_started("Denoise")
    session.run_finished(outcome(0.4))
    session.run_ended()
    denoised = session.result
    assert session.continue_from_result()
    assert session.photo.rgb is denoised and len(session.stages) == 1 and session.result is None
    assert "stage 2, after denoise" in session.photo_info()
    session.run_started("Upscale x4")
    session.run_finished(outcome(0.6, task="sr"))
    session.run_ended()
    assert [s["task"] for s in session.outcome.report.stages] == ["denoise", "sr"]
    assert len(session.whole_trajectory()) == 0
    stage = session.back_one_stage()
    assert stage is not None and session.stages == [] and session.result is denoised
    assert session.back_one_stage() is None


def test_saving_records_the_path_and_suggests_names_beside_the_photo(session):
    session.run_started("Denoise")
    session.run_finished(outcome(0.4))
    assert session.suggested_path("-denoise", ".png", "/elsewhere") == str(Path("/photos/cat-denoise.png"))
    saved = record(session.events.saved)
    session.saved(Path("/photos/cat-denoise.png"))
    assert session.last_saved == Path("/photos/cat-denoise.png") and not session.unsaved
    assert saved == [(Path("/photos/cat-denoise.png"),)]
    session.open_photo(Photo(np.zeros((8, 8, 3), np.float32)), "Pasted image")
    assert session.suggested_path("-blur", ".png", "/last") == str(Path("/last/pasted-image-blur.png"))
    assert session.last_saved is None


@dataclasses.dataclass
class Failure:
    """The fields of a RunFailure the session reads."""

    kind: str
    message: str
    device: str = ""


def test_a_failed_run_says_what_to_try_and_ends_an_uncertainty_map(session):
    session.begin_spread(Request(), Accumulator())
    session.run_started("Denoise")
    text, retry = session.run_failed(Failure("oom", "Out of memory on the GPU.", "cuda"))
    assert retry == "cpu" and text.endswith("or run on the CPU (slower, but it has more memory).")
    assert session.spread_run is None and session.next_spread_request() is None
    text, retry = session.run_failed(Failure("oom", "Out of memory.", "cpu"))
    assert retry is None and text == "Out of memory. Try a smaller photo."
    assert session.run_failed(Failure("device", "No such GPU.", "cuda:3")) == ("No such GPU.", "auto")
    assert session.run_failed(Failure("weights", "Broken file.")) == ("Broken file.", None)


def test_restore_pressed_while_the_engine_loads_runs_once_it_is_ready(session):
    assert not session.take_deferred_run()
    session.defer_run()
    assert session.take_deferred_run() and not session.take_deferred_run(), "it runs once"


def test_the_result_side_shows_the_result_what_changed_or_the_map(session):
    views = record(session.events.view_changed)
    assert session.set_result_view("changes") == "changes" and views[-1] == ("changes",)
    assert session.set_result_view("changes") == "result", "choosing it again goes back"
    assert session.set_result_view("spread") == "result", "no map yet"
    with pytest.raises(ValueError):
        session.set_result_view("histogram")
