"""Wide holes filled coarse to fine (:mod:`irsde_gui.core.coarse`): the half-size photo and
mask, the guide's weight, the guided estimate, and an inpainting job that runs its coarse passes
first, reports them and fills a wide hole better than the network alone could."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from irsde_gui.core import coarse
from irsde_gui.core.chain import stage_entry
from irsde_gui.core.model import Restorer
from irsde_gui.core.pipeline import JobSettings, create_job
from irsde_gui.core.runner import Progress, RunEvents, Runner
from irsde_gui.core.sde import MeanRevertingSDE
from irsde_gui.core.tasks import get_task
from irsde_gui.core.tasks.inpaint import INPAINT_FILL

REACH = 12  # how far the stand-in network below sees from a hole's edge, px


class NearbyFill(torch.nn.Module):
    """A stand-in inpainting network that sees only ``REACH`` px: it fills each pixel of the
    hole (where ``mu`` holds the fill value) with the mean of the known pixels within that
    distance, and leaves the fill value where there are none, as a real network smears."""

    predict = "x0"

    def forward(self, x_t, mu, t):
        hole = (mu == INPAINT_FILL).all(dim=1, keepdim=True).float()
        known = 1.0 - hole
        size = 2 * REACH + 1
        total = F.avg_pool2d(mu * known, size, stride=1, padding=REACH, count_include_pad=True)
        count = F.avg_pool2d(known, size, stride=1, padding=REACH, count_include_pad=True)
        fill = torch.where(count > 0, total / count.clamp_min(1e-6), torch.full_like(mu, INPAINT_FILL))
        return hole * (fill - mu)


def nearby_restorer() -> Restorer:
    return Restorer(NearbyFill(), MeanRevertingSDE(get_task("inpaint").sde))


def ramp(h: int = 256, w: int = 256) -> np.ndarray:
    """A smooth photo whose every part a far-seeing fill could continue."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([0.1 + 0.8 * xx / w, 0.1 + 0.8 * yy / h, 0.9 - 0.4 * (xx + yy) / (h + w)], axis=2)


def disc(h: int, w: int, radius: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return ((yy - h / 2) ** 2 + (xx - w / 2) ** 2 <= radius**2).astype(np.float32)


def test_hole_depth_and_when_a_coarse_pass_is_needed():
    m = np.zeros((200, 200), np.float32)
    m[50:150, 50:150] = 1
    depth = coarse.hole_depth(m)
    assert depth[0, 0] == 0 and depth[50, 100] > 0
    assert 45 <= depth.max() <= 52  # the square's centre is 50 px from the nearest known pixel
    assert coarse.needs_coarse_pass(m)
    strokes = np.zeros((200, 200), np.float32)
    strokes[:, 95:105] = 1  # 10 px wide: within the network's reach
    assert not coarse.needs_coarse_pass(strokes)
    small = np.ones((100, 100), np.float32)  # whole photo a hole, but too small to halve
    assert not coarse.needs_coarse_pass(small)
    assert not coarse.needs_coarse_pass(np.zeros((300, 300), np.float32))


def test_half_size_keeps_the_hole_and_lets_nothing_painted_out_leak():
    rgb = np.full((51, 77, 3), 0.2, np.float32)
    mask = np.zeros((51, 77), np.float32)
    mask[10:21, 31:42] = 1
    rgb[mask > 0] = (1.0, 0.0, 0.0)  # the object to remove, bright red
    small, small_mask = coarse.half_size(rgb, mask)
    assert small.shape == (26, 39, 3) and small_mask.shape == (26, 39)
    assert small.dtype == np.float32 and small_mask.dtype == np.float32
    # Every small pixel that covers any of the hole is in the small hole...
    assert small_mask[5:11, 15:21].all()
    # ...so no pixel left known at half size holds any of the object's red.
    np.testing.assert_allclose(small[small_mask == 0], 0.2, atol=1e-6)


def test_guide_weight_rises_from_the_hole_edge():
    mask = disc(200, 200, 80)
    w = coarse.guide_weight(mask, blend=32)
    assert w[0, 0] == 0 and w.min() == 0 and w.max() == 1
    assert w[100, 100] == 1  # 80 px inside
    edge = w[100, 21:25]  # the hole's left edge: barely weighted
    assert (edge < 0.15).all()
    assert (w[mask == 0] == 0).all()


def test_guided_estimate_takes_broad_shapes_from_the_guide_and_keeps_the_detail():
    yy, xx = np.mgrid[0:32, 0:32]
    checker = torch.from_numpy(0.4 + 0.2 * ((yy + xx) % 2)).float()[None, None].repeat(1, 3, 1, 1)
    guide = torch.full_like(checker, 0.7)
    weight = torch.zeros(1, 1, 32, 32)
    weight[..., 8:24, 8:24] = 1.0
    guided = coarse.GuidedPredictor(lambda x, mu, t: checker.clone(), guide, weight)
    out = guided(checker, checker, 50)
    # Unweighted: the network's estimate as it was.
    torch.testing.assert_close(out[..., :8, :], checker[..., :8, :])
    # Weighted: the checkerboard (the detail) on the guide's level (its broad shape).
    inside = out[..., 8:24, 8:24]
    torch.testing.assert_close(inside - inside.mean(), checker[..., 8:24, 8:24] - 0.5)
    assert abs(float(inside.mean()) - 0.7) < 1e-5


def test_a_wide_hole_is_filled_coarse_to_fine_and_better_than_at_full_size_only(monkeypatch):
    monkeypatch.setattr(coarse, "deep_colour", lambda out, mask: out)  # the passes alone
    clean = ramp()
    mask = disc(256, 256, 60)
    task, restorer = get_task("inpaint"), nearby_restorer()
    plain = create_job(task, restorer, clean, mask, JobSettings(steps=1, coarse_to_fine=False))
    fine = create_job(task, restorer, clean, mask, JobSettings(steps=1))
    flat, guided = plain.run(), fine.run()
    assert plain.coarse_scales == () and plain.coarse_seconds is None
    assert fine.coarse_scales == (2, 4) and fine.coarse_seconds > 0
    hole = mask > 0
    err_plain = float(np.abs(flat - clean)[hole].mean())
    err_guided = float(np.abs(guided - clean)[hole].mean())
    assert err_guided < 0.5 * err_plain, (err_plain, err_guided)
    # The known pixels stay exactly as they were.
    np.testing.assert_array_equal(guided[~hole], clean[~hole])


def test_a_narrow_hole_gets_no_coarse_pass():
    mask = np.zeros((256, 256), np.float32)
    mask[:, 120:136] = 1
    job = create_job(get_task("inpaint"), nearby_restorer(), ramp(), mask, JobSettings(steps=1))
    job.run()
    assert job.coarse_scales == ()


class Stages(RunEvents):
    def __init__(self):
        self.stages: list[str] = []
        self.steps: list[int] = []

    def progress(self, progress: Progress) -> None:
        if progress.stage:
            self.stages.append(progress.stage)

    def step(self, record, frame) -> None:
        self.steps.append(record.index)


def test_the_runner_reports_each_coarse_pass_and_the_report_names_them():
    events = Stages()
    runner = Runner(events)
    result = runner.restore(
        get_task("inpaint"), nearby_restorer(), ramp(), disc(256, 256, 60), JobSettings(steps=2)
    )
    # The quarter-size fill guides the half-size one, which guides the photo's: each pass is
    # announced as it begins and its steps are counted, all before the photo's own first step.
    assert events.stages == [
        "Filling the hole at 1/2 size 0/2",
        "Filling the hole at 1/4 size 0/2",
        "Filling the hole at 1/4 size 1/2",
        "Filling the hole at 1/4 size 2/2",
        "Filling the hole at 1/2 size 1/2",
        "Filling the hole at 1/2 size 2/2",
    ]
    assert events.steps == [1, 2]
    assert result.report.coarse_scales == [2, 4] and result.report.coarse_seconds > 0
    entry = stage_entry(result.report)  # a chain's stage says so too
    assert entry["coarse_scales"] == [2, 4] and entry["fill_region"] is None
    assert np.isfinite(result.image).all()


def test_stopping_during_a_coarse_pass_stops_before_the_first_step():
    class StopAtOnce(Stages):
        def progress(self, progress: Progress) -> None:
            super().progress(progress)
            if progress.stage:
                runner.stop()

    events = StopAtOnce()
    runner = Runner(events)
    result = runner.restore(
        get_task("inpaint"), nearby_restorer(), ramp(), disc(256, 256, 60), JobSettings(steps=3)
    )
    assert events.steps == [] and result.image is None and result.stopped


def test_the_coarse_fill_is_smoothed_so_its_pixel_pattern_does_not_become_a_grid():
    yy, xx = np.mgrid[0:40, 0:40]
    checker = np.repeat((0.5 + 0.1 * ((yy + xx) % 2 * 2 - 1))[..., None], 3, axis=2).astype(np.float32)
    raw = coarse.upsample(checker, 80, 80, smooth=0)
    smoothed = coarse.upsample(checker, 80, 80)
    assert smoothed.shape == (80, 80, 3) and smoothed.dtype == np.float32
    assert float(smoothed[8:-8, 8:-8].std()) < 0.1 * float(raw[8:-8, 8:-8].std())
    assert abs(float(smoothed.mean()) - 0.5) < 1e-3


def test_hole_region_is_the_hole_and_its_surroundings_on_a_large_photo_only():
    mask = np.zeros((2000, 3000), np.float32)
    mask[900:1100, 1400:1500] = 1  # 200 x 100 px: grown by at least 128 px on each side
    ys, xs = coarse.hole_region(mask)
    assert (ys.start, ys.stop, xs.start, xs.stop) == (772, 1228, 1272, 1628)
    mask[100:1100, 1400:1900] = 1  # 1000 px tall: grown by half that
    ys, xs = coarse.hole_region(mask)
    assert (ys.start, ys.stop, xs.start, xs.stop) == (0, 1600, 900, 2400)
    mask[:, :] = 0
    mask[10:30, 10:30] = 1  # at the corner: kept inside the photo
    ys, xs = coarse.hole_region(mask)
    assert (ys.start, xs.start) == (0, 0) and ys.stop == 30 + 128 and xs.stop == 30 + 128
    assert coarse.hole_region(np.zeros((500, 500), np.float32)) is None
    wide = np.zeros((400, 400), np.float32)
    wide[100:300, 100:300] = 1  # the region would be most of the photo: the whole is filled
    assert coarse.hole_region(wide) is None


def test_a_large_photo_is_filled_from_the_region_around_its_hole():
    h, w = 720, 960
    clean = ramp(h, w)
    mask = np.zeros((h, w), np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    mask[(yy - 300) ** 2 + (xx - 400) ** 2 <= 50**2] = 1
    task, restorer = get_task("inpaint"), nearby_restorer()
    events = Stages()
    result = Runner(events).restore(task, restorer, clean, mask, JobSettings(steps=2, seed=3))
    job = result.job
    ys, xs = job.region
    assert (ys.start, ys.stop, xs.start, xs.stop) == (122, 479, 222, 579)
    assert result.report.fill_region == [222, 122, 357, 357]
    assert result.report.coarse_scales == [2, 4]  # the region's own coarse passes
    assert result.image.shape == clean.shape and events.steps == [1, 2]
    hole = mask > 0
    np.testing.assert_array_equal(result.image[~hole], clean[~hole])
    # The same fill as the whole photo's, but for where the halving falls.
    whole = create_job(task, restorer, clean, mask, JobSettings(steps=2, seed=3, hole_region=False))
    full = whole.run()
    assert whole.region is None
    assert float(np.abs(result.image - full)[hole].mean()) < 0.02
    assert float(np.abs(result.image - clean)[hole].mean()) < 0.05


def test_every_step_of_a_region_fill_shows_the_whole_photo():
    h, w = 720, 960
    mask = np.zeros((h, w), np.float32)
    mask[300:340, 400:440] = 1
    job = create_job(get_task("inpaint"), nearby_restorer(), ramp(h, w), mask, JobSettings(steps=3))
    records = list(job.steps_iter())
    assert [r.index for r in records] == [1, 2, 3]
    assert all(r.x_t.shape == (1, 3, h, w) and r.x0_hat.shape == (1, 3, h, w) for r in records)
    assert job.result is not None and job.result.shape == (h, w, 3)
    assert job.tiles == 1


def test_coarse_passes_fill_their_whole_smaller_photo_and_count_their_sizes():
    # The half-size photo is large enough that it would be filled around its hole alone; a
    # coarse pass is for far context, so it runs whole, and its sizes double pass by pass.
    h, w = 1500, 2000
    mask = disc(h, w, 100)
    events = Stages()
    result = Runner(events).restore(
        get_task("inpaint"), nearby_restorer(), ramp(h, w), mask, JobSettings(steps=1, hole_region=False)
    )
    assert result.job.region is None and result.report.fill_region is None
    assert result.report.coarse_scales == [2, 4, 8]
    assert [s for s in events.stages if s.endswith(" 1/1")] == [
        "Filling the hole at 1/8 size 1/1",
        "Filling the hole at 1/4 size 1/1",
        "Filling the hole at 1/2 size 1/1",
    ]


def test_low_pass_keeps_any_size_and_what_a_half_size_photo_holds():
    for h, w in ((32, 32), (33, 47), (1, 5)):
        x = torch.rand(1, 3, h, w)
        low = coarse.low_pass(x)
        assert low.shape == x.shape
        flat = torch.full((1, 3, h, w), 0.3)
        torch.testing.assert_close(coarse.low_pass(flat), flat)
    # A pattern finer than a half-size photo can hold is removed; a broad one is kept.
    yy, xx = torch.meshgrid(torch.arange(33.0), torch.arange(47.0), indexing="ij")
    fine = (0.5 + 0.2 * ((yy + xx) % 2 * 2 - 1))[None, None].repeat(1, 3, 1, 1)
    assert float((coarse.low_pass(fine) - 0.5).abs()[..., :28, :42].max()) < 1e-5
    broad = (0.5 + 0.2 * torch.sin(xx / 8))[None, None].repeat(1, 3, 1, 1)
    assert float((coarse.low_pass(broad) - broad).abs()[..., 2:-2, 2:-2].max()) < 0.02


def dark_with_grey_hole(h: int, w: int, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A dark photo, a wide hole in it, and a fill that drifted to grey deep inside the hole."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    clean = np.stack([0.10 + 0.05 * xx / w, 0.12 + 0.05 * yy / h, np.full((h, w), 0.2, np.float32)], axis=2)
    mask = disc(h, w, radius)
    depth = coarse.hole_depth(mask)[..., None]
    drift = np.clip(depth / 30.0, 0, 1)  # right at the rim, grey where the network sees nothing
    out = clean * (1 - drift) + INPAINT_FILL * drift
    return clean, mask, out.astype(np.float32)


def test_deep_colour_takes_a_wide_holes_broad_colour_from_a_classic_fill():
    for h, w in ((240, 320), (900, 1200)):  # as it is, and worked out on the photo shrunk
        clean, mask, out = dark_with_grey_hole(h, w, 0.35 * min(h, w))
        fixed = coarse.deep_colour(out, mask)
        hole, depth = mask > 0, coarse.hole_depth(mask)
        deep = depth > 0.3 * min(h, w)
        before = float(np.abs(out - clean)[deep].mean())
        after = float(np.abs(fixed - clean)[deep].mean())
        assert after < 0.25 * before, (h, w, before, after)
        np.testing.assert_array_equal(fixed[~hole], out[~hole])  # known pixels untouched
        near = hole & (depth < 0.1 * min(h, w))  # near the rim the network's fill stays
        np.testing.assert_allclose(fixed[near], out[near], atol=0.01)


def test_deep_colour_leaves_a_narrow_hole_alone():
    clean, _, _ = dark_with_grey_hole(240, 320, 10)
    mask = np.zeros((240, 320), np.float32)
    mask[:, 150:170] = 1
    out = clean.copy()
    out[mask > 0] = INPAINT_FILL
    assert coarse.deep_colour(out, mask) is out


def test_a_wide_dark_hole_comes_back_dark_once_for_the_whole_photo(monkeypatch):
    # The stand-in network leaves the fill value where it sees no known pixel, as a real one
    # drifts to grey deep inside a wide hole; the last touch runs once, on the user's photo only
    # (not on the coarse passes nor on the region a large photo's hole is filled from).
    calls = []
    real = coarse.deep_colour
    monkeypatch.setattr(coarse, "deep_colour", lambda out, mask: calls.append(mask.shape) or real(out, mask))
    clean, mask, _ = dark_with_grey_hole(256, 256, 90)
    task, restorer = get_task("inpaint"), nearby_restorer()
    result = create_job(task, restorer, clean, mask, JobSettings(steps=1, coarse_to_fine=False)).run()
    centre = result[118:138, 118:138]
    assert float(np.abs(centre - clean[118:138, 118:138]).max()) < 0.1
    assert calls == [(256, 256)]
    calls.clear()
    job = create_job(task, restorer, clean, mask, JobSettings(steps=1))
    job.run()
    assert job.coarse_scales == (2, 4) and calls == [(256, 256)]
    h, w = 720, 960
    calls.clear()
    big = create_job(task, restorer, ramp(h, w), disc(h, w, 40), JobSettings(steps=1))
    big.run()
    assert big.region is not None and calls == [(h, w)]
