"""Chaining tasks: the result of one run is the photo of the next (denoise, then upscale ×4).

Shared by the command line (``irsde restore --task denoise,sr``) and the window ("Continue from
the result"). Importing this module is cheap: no PyTorch.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from .tasks import TASKS, Task, get_task

if TYPE_CHECKING:
    import numpy as np

    from .imageio import Photo
    from .runs import RunReport

MAX_STAGES = 8  # a chain longer than this is a typing mistake, not a plan


def parse_tasks(text: str) -> list[Task]:
    """``"denoise,sr"`` -> the tasks in order; ValueError names what is wrong."""
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise ValueError(f"a task list is task names separated by commas, e.g. denoise,sr; got {text!r}")
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        raise ValueError(f"unknown task {unknown[0]!r} (choose from {', '.join(TASKS)})")
    if len(names) > MAX_STAGES:
        raise ValueError(f"a chain has at most {MAX_STAGES} tasks, got {len(names)}")
    return [get_task(n) for n in names]


def next_photo(photo: Photo, result: np.ndarray, alpha: np.ndarray | None) -> Photo:
    """The photo the next stage restores: the result's pixels, with everything else of the photo
    the chain began with (EXIF, ICC profile, bit depth, format, file), and ``alpha`` (the one
    to write with the result) at the result's size."""
    h, w = result.shape[:2]
    if alpha is not None and alpha.shape[:2] != (h, w):
        import cv2  # deferred: OpenCV loads slowly, and only a resized alpha needs it

        alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)
    stage = int(photo.info.get("stage", 1)) + 1
    return dataclasses.replace(photo, rgb=result, alpha=alpha, info={**photo.info, "stage": stage})


def stage_entry(report: RunReport) -> dict:
    """One stage of a chain, as its run report lists it: the task, the model (file and sha256),
    sampler, steps and seed, sizes and time, and what a stage of its own did first (derain's
    dehaze stage), its ensemble's mix, and the coarse passes and region a hole was filled with, so
    that the stage can be run again alike."""
    if report.stages:  # a chain's report: its own stage is the last one
        return dict(report.stages[-1])
    return {
        "task": report.task,
        "method": report.method,
        "model_file": report.model_file,
        "model_sha256": report.model_sha256,
        "sampler": report.sampler,
        "steps": report.steps,
        "steps_done": report.steps_done,
        "seed": report.seed,
        "stopped_early": report.stopped_early,
        "input_size": list(report.input_size),
        "output_size": list(report.output_size),
        "elapsed_seconds": report.elapsed_seconds,
        "blur_kernel_source": report.blur_kernel_source,
        "pre_stage": report.pre_stage,
        "ensemble_mix": report.ensemble_mix,
        "coarse_scales": list(report.coarse_scales),
        "fill_region": report.fill_region,
        "flip_average": report.flip_average,
        "jpeg_blocks_at": report.jpeg_blocks_at,
    }


def chain_report(earlier: list[dict], last: RunReport, input_path: str | None = None) -> RunReport:
    """``last`` (the report of a chain's last stage) made the chain's: every stage in
    :attr:`~.runs.RunReport.stages`, the chain's input (the photo it began with), its input size
    and its time in all."""
    if not earlier:
        return last
    stages = [*earlier, stage_entry(last)]
    last.stages = stages
    last.input_size = list(stages[0]["input_size"])
    last.elapsed_seconds = round(sum(float(s["elapsed_seconds"]) for s in stages), 3)
    if input_path is not None:
        last.input = str(input_path)
    return last


def chain_name(report: RunReport) -> str:
    """``denoise-sr`` for a chain, ``denoise`` for a single run (for file names)."""
    return "-".join(s["task"] for s in report.stages) if report.stages else report.task
