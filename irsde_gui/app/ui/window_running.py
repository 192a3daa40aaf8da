"""How the main window starts, shows, stops and ends a run, and chains the result into the next
task. The decisions are the session's; this draws them."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage

from ...core.blind import describe_blur
from ...core.chain import stage_entry
from ...core.runs import describe_pre_stage, format_duration, plural
from ...core.tasks import get_task
from ..worker import RestoreRun, RunFailure, RunOutcome, RunRequest
from .trajectory import qimage_from_rgb
from .window_common import rgb_to_qimage


class WindowRunning:
    """Part of :class:`~irsde_gui.app.ui.main_window.MainWindow` (a mixin: it reads and writes the
    window's widgets and session)."""

    def restore(self) -> None:
        request = self._request()
        if request is not None:
            self.session.cancel_spread()
            self.start_run(request)

    def try_other_blur(self) -> None:
        """Deblur the photo again with the other blur its estimate found (the previous result
        stays for A/B); the blur kept so far becomes the one offered."""
        if not self.session.take_other_blur():
            return
        found = self.session.other_blur()
        self._show_blur(found.kernel, False)
        self.restore()

    def _show_blur(self, kernel, given: bool) -> None:
        """The blur shown beside the result, with the other one found in the photo, if any."""
        found = None if given else self.session.other_blur()
        other = found is not None and kernel is not None and np.array_equal(found.kernel, kernel)
        self.panel.show_blur(
            kernel,
            given=given,
            other=found.other if other else None,
            other_start=found.other_start if other else None,
        )
        if kernel is not None and not given:  # the blur found, and the other to try, in view
            scroll = self.panel_scroll
            QTimer.singleShot(0, scroll, lambda: scroll.ensureWidgetVisible(self.panel.blur_view, 0, 8))

    def uncertainty_map(self) -> None:
        """Restore with several seeds, one run after another; then show where they disagree."""
        if self.panel.blind:
            return
        request = self._request()
        if request is None:
            return
        from ...core.analysis import SpreadAccumulator  # deferred: it imports PyTorch

        self.session.begin_spread(request, SpreadAccumulator())
        self._next_seed()

    def _next_seed(self) -> None:
        due = self.session.next_spread_request()
        if due is not None:
            request, first = due
            self.start_run(request, fresh=first)

    def _request(self) -> RunRequest | None:
        """The run the window's settings describe, or None (saying why) when none can start."""
        if self.session.busy:
            return None
        if self.photo is None:
            self.show_message("info", "Open a photo first: drop it on the window, or press Ctrl+O.")
            return None
        if self.engine is None:
            self.session.defer_run()
            self.show_message(
                "info", "The restoration engine is still loading; the run starts when it is ready."
            )
            return None
        info = self.panel.task_info()
        if info is None or not info.available:
            self.show_message("error", info.problem if info else "Choose a task first.")
            return None
        mask = None
        if info.uses_mask:
            if self.mask_editor.is_empty():
                self.show_message(
                    "warning", "Paint the area to fill first (or load a mask), then press Restore."
                )
                return None
            mask = self.mask_editor.run_mask()  # the painted area, grown by its margin if that is on
        known = self.panel.known_kernel
        found = self.session.blur_found_before(info.in_rounds(None), known)
        return RunRequest(
            info.name,
            rgb=self.photo.rgb,
            mask=mask,
            steps=self.panel.steps,
            sampler=self.panel.sampler,
            seed=self.panel.seed,
            device=self.panel.device,
            flip_average=self.panel.flip_average,
            weights=info.weights_for(known),
            kernel=known,
            kernel_source=self.panel.known_kernel_source,
            estimated_kernel=found.kernel if found is not None else None,
            estimated_start=found.start if found is not None else None,
        )

    def start_run(self, request: RunRequest, fresh: bool = True) -> RestoreRun:
        """Start a worker run; ``fresh=False`` (the later seeds of an uncertainty map) keeps the
        trajectory, the result and the canvas of the run before it."""
        info = self.engine.tasks[request.task] if self.engine else None
        self.message_bar.dismiss()
        trajectory = self.session.run_started(info.label if info else request.task, fresh)
        if fresh:
            unit = "round" if info is not None and info.in_rounds(request.kernel) else "step"
            self.scrubber.set_trajectory(trajectory, total=request.steps or 0, unit=unit)
            self._set_canvas_scale(info.scale if info else 1)
            self.view.set_after(None)
        run = RestoreRun(request, trajectory, self.cache, parent=self)
        run.frame.connect(self._on_frame)
        run.progress.connect(self._on_progress)
        run.device_chosen.connect(self._on_device)
        run.notice.connect(lambda text: self.show_message("warning", text))
        run.finished.connect(self._on_finished)
        run.cancelled.connect(self._on_cancelled)
        run.failed.connect(self._on_failed)
        run.stopped.connect(self._on_run_stopped)
        self.run = run
        self.panel.set_running(True)
        self.progress_row.show()
        self.progress_bar.setRange(0, max(1, request.steps or 1))
        self.progress_bar.setValue(0)
        self.progress_label.setText("Loading the model…")
        self._sync_actions()
        run.start()
        return run

    def _abandon_run(self) -> None:
        """A new photo replaces the one being restored: stop the run and ignore what it still sends."""
        run = self.run
        for signal, slot in (
            (run.frame, self._on_frame),
            (run.progress, self._on_progress),
            (run.finished, self._on_finished),
            (run.cancelled, self._on_cancelled),
            (run.failed, self._on_failed),
        ):
            signal.disconnect(slot)
        run.cancel()
        self.session.run_abandoned()
        self.statusBar().showMessage("The previous run was stopped: a new photo was opened.", 6000)

    def stop(self) -> None:
        if self.run is not None:
            self.run.cancel()
            self.session.stop_requested()
            self.progress_label.setText("Stopping after this step…")
        elif self.batch.is_running:
            self.batch.cancel()

    def _on_frame(self, frame) -> None:
        self.session.frame_received(frame)

    def _frame_received(self, frame) -> None:
        self.scrubber.refresh()
        if self.scrubber.follow:
            self._display_frame(frame)

    def _display_frame(self, frame) -> None:
        kind = "x_t" if self.scrubber.kind == "state" else "x0_hat"
        total = self.scrubber.total or len(self.trajectory)
        label = f"{kind} · {self.scrubber.unit} {frame.index}/{total}"
        self.view.set_after(self.scrubber.image_for(frame), label)

    def _on_progress(self, p) -> None:
        self.progress_bar.setRange(0, max(1, p.total))
        self.progress_bar.setValue(p.index)
        self.progress_label.setText(self.session.progress_text(p, rounds=self.scrubber.unit == "round"))

    def _on_device(self, description: str) -> None:
        self.device_label.setText(f"Running on {description}")
        self.device_label.setToolTip(f"Device and precision of the current run: {description}")

    def _on_finished(self, outcome: RunOutcome) -> None:
        became = self.session.run_finished(outcome)
        self.device_label.setText(f"Ran on {outcome.report.device}")
        if became == "seed":
            sr = self.spread_run
            self.progress_label.setText(f"Seed {sr.done} of {len(sr.seeds)} done")
            return
        if became == "map":
            self._map_ready()
            return
        self._show_blur(outcome.kernel, outcome.report.blur_kernel_given)
        self.scrubber.refresh()
        self.scrubber.last()
        self._show_result()
        self.progress_label.setText(self._done_text(outcome))
        label = self.session.run_task_label
        self.statusBar().showMessage(f"{label}: restored. Save it with Ctrl+S.", 8000)

    @staticmethod
    def _done_text(outcome: RunOutcome) -> str:
        """The progress row's line once a run is done: its time, steps and settings."""
        r = outcome.report
        blind = r.method == "blind"
        unit = "round" if blind else "step"
        how = f"{r.sampler}, seed {r.seed}"
        if blind:
            how = describe_blur(outcome.kernel, r.blur_kernel_given, r.blur_kernel_source, r.blur_doubt)
        if r.pre_stage:
            how += f"   ·   {describe_pre_stage(r.pre_stage)}"
        if r.flip_average:
            how += "   ·   averaged with an upside-down copy"
        return (
            f"Done in {format_duration(r.elapsed_seconds)}   ·   {plural(r.steps, unit)}, "
            f"{r.seconds_per_step:.2f} s/{unit}"
            f"   ·   {how}" + (f"   ·   {r.tile} px tiles" if r.tile else "")
        )

    def _map_ready(self) -> None:
        """The last seed of an uncertainty map is done: show the map."""
        seeds = ", ".join(map(str, self.uncertainty.seeds))
        self.progress_label.setText(f"Uncertainty map from seeds {seeds}: bright where they disagree")
        self._show_result()
        self.statusBar().showMessage("Uncertainty map ready. U switches between it and the result.", 8000)

    def _on_cancelled(self, outcome: RunOutcome) -> None:
        sr = self.spread_run
        became = self.session.run_stopped(outcome)
        self.scrubber.refresh()
        if became == "spread":
            self._show_result()
            self.progress_label.setText(f"Uncertainty map stopped after {sr.done} of {len(sr.seeds)} seeds")
            return
        self.progress_label.setText(f"Stopped at step {outcome.steps_done} of {outcome.total}")
        if became == "nothing":
            self._show_result()
            return
        self.view.set_after(rgb_to_qimage(outcome.image), f"x0_hat · stopped at step {outcome.steps_done}")
        self.show_message(
            "info",
            f"Stopped at step {outcome.steps_done} of {outcome.total}. "
            "Keep its clean estimate x0_hat as the result?",
            [("Keep x0_hat", self.keep_stopped), ("Discard", self.discard_stopped)],
        )

    def keep_stopped(self) -> None:
        """Keep the stopped run's clean estimate x0_hat as the result."""
        if self.session.keep_stopped():
            self._show_result()
            self.statusBar().showMessage("Kept the clean estimate x0_hat as the result.", 6000)

    def discard_stopped(self) -> None:
        self.session.discard_stopped()
        self._show_result()

    def _on_failed(self, failure: RunFailure) -> None:
        text, retry = self.session.run_failed(failure)
        self.progress_label.setText("Failed")
        self._show_result()
        actions = []
        if retry is not None:
            button = "Run on the CPU" if retry == "cpu" else "Use Auto"
            actions.append((button, lambda: (self.panel.set_device(retry), self.restore())))
        self.show_message("error", text, actions)
        if failure.details:
            self.message_bar.text_label.setToolTip(failure.details)

    def _on_run_stopped(self) -> None:
        run, self.run = self.run, None
        if run is not None:
            self.run_finished.emit(run.result)
            run.deleteLater()
        self.panel.set_running(False)
        next_seed = self.session.run_ended()
        self._sync_actions()
        if next_seed:
            QTimer.singleShot(0, self._next_seed)

    def _show_result(self) -> None:
        if self.result is None:
            self.view.set_after(None)
            return
        if self.result_view == "changes":
            self.view.set_after(self._changes_image(), "What changed (amplified; grey: nothing)")
            return
        if self.result_view == "spread" and self.uncertainty is not None:
            u = self.uncertainty
            heat = qimage_from_rgb(np.ascontiguousarray(u.heatmap()))
            self.view.set_after(heat, f"Uncertainty over {len(u.seeds)} seeds (bright: they disagree)")
            return
        self.view.set_after(rgb_to_qimage(self.result), self.session.result_label())

    def _strength_changed(self, amount: float) -> None:
        """The strength slider moved: the result is blended again and shown (the run in progress
        takes it when it ends)."""
        if self.session.set_strength(amount) and not self.session.running:
            self._show_result()

    def set_result_view(self, kind: str) -> None:
        """Show the result, what changed, or the uncertainty map; choosing the shown one again
        goes back to the result."""
        self.session.set_result_view(kind)

    def _view_changed(self, kind: str) -> None:
        self.changes_action.setChecked(kind == "changes")
        self.spread_action.setChecked(kind == "spread")
        if not self.session.running and self.result is not None:
            self._show_result()

    def _changes_image(self) -> QImage:
        """The residual of the result (cached: big photos take a moment)."""
        if self._changes_cache is None or self._changes_cache[0] is not self.result:
            from ...core.analysis import residual, residual_image  # deferred: it imports PyTorch

            task = get_task(self.outcome.report.task if self.outcome else self.panel.task)
            diff = residual(task, self.photo.rgb, self.result)
            img = residual_image(diff)
            if task.scale != 1:  # shown over the result: one low-res pixel per scale x scale block
                h, w = self.result.shape[:2]
                img = np.repeat(np.repeat(img, task.scale, 0), task.scale, 1)
                pad = ((0, max(0, h - img.shape[0])), (0, max(0, w - img.shape[1])), (0, 0))
                img = np.ascontiguousarray(np.pad(img, pad, "edge")[:h, :w])
            self._changes_cache = (self.result, qimage_from_rgb(img))
        return self._changes_cache[1]

    def toggle_previous(self) -> None:
        """P: the previous result on the photo's side (A/B), or the photo again."""
        self.session.compare(self.previous_action.isChecked())

    def _compare_changed(self, on: bool) -> None:
        self.previous_action.setChecked(on)
        self._show_before()
        if not self.session.running:
            self._show_result()

    def _show_before(self) -> None:
        """The left side: the photo, or the previous result while P is on."""
        if self.photo is None:
            return
        previous = self.session.before()
        if previous is not None:
            self.view.swap_before(rgb_to_qimage(previous.image), previous.label)
        else:
            self.view.swap_before(self._photo_image, "Before")

    def _show_frame(self, index: int) -> None:
        if not len(self.trajectory):
            return
        if (
            not self.session.running
            and self.result is not None
            and self.scrubber.is_last()
            and self.scrubber.kind == "state"
        ):
            self._show_result()
            return
        self._display_frame(self.trajectory.frames[min(index, len(self.trajectory) - 1)])

    def _kind_changed(self, kind: str) -> None:
        self.kind_action.setChecked(kind == "estimate")
        self.settings.frame_kind = kind
        if len(self.trajectory):
            self._show_frame(self.scrubber.index)

    # ================================================================ chaining
    def continue_from_result(self) -> None:
        """The result becomes the photo, to restore it with another task (denoise, then upscale
        x4). The chain's run report lists every stage; Undo (or "Back one stage") returns to the
        photo and the result before."""
        if self.result is None or self.outcome is None or self.photo is None:
            self.show_message("info", "Restore the photo first; then its result can be restored again.")
            return
        if not self.session.continue_from_result():
            return
        chain = self.stages
        tasks = " + ".join(s.task for s in chain)
        self.show_message(
            "info",
            f"Stage {len(chain) + 1}: the result after {tasks} is now the photo. Pick the next task "
            "(for example Upscale x4) and restore it; Ctrl+Z goes back one stage.",
        )

    def back_one_stage(self) -> bool:
        """Undo the last "Continue from the result": its photo and its result come back (the
        run after it, if any, is dropped). False when there is no earlier stage."""
        stage = self.session.back_one_stage()
        if stage is None:
            return False
        report = stage.outcome.report
        self._show_blur(stage.outcome.kernel, report.blur_kernel_given)
        unit = "round" if report.method == "blind" else "step"
        self.scrubber.set_trajectory(self.trajectory, total=report.steps, unit=unit)
        own = stage_entry(report)  # this stage's own sizes (a chain's report gives the chain's input)
        self._set_canvas_scale(max(1, own["output_size"][0] // max(1, own["input_size"][0])))
        self.scrubber.last()
        self._show_result()
        self.message_bar.dismiss()
        self.statusBar().showMessage(
            f"Back to stage {len(self.stages) + 1}: the photo and its {report.task} result.", 6000
        )
        return True

    def undo(self) -> None:
        """Ctrl+Z: the last mask stroke while painting, else back one stage of a chain."""
        if self.view.tool is self.mask_editor and self.mask_editor.undo():
            return
        self.back_one_stage()
