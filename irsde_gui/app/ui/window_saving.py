"""How the main window saves: the result (over the opened photo only once the user confirms it),
its run report, a found blur and the trajectory."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from ...core.chain import chain_name
from ...core.imageio import ImageWriteError, write_kernel, write_photo
from ...core.runs import report_path_for
from ...core.trajectory import export_trajectory as write_trajectory
from .dialogs import save_offer


class WindowSaving:
    """Part of :class:`~irsde_gui.app.ui.main_window.MainWindow` (a mixin: it reads and writes the
    window's widgets and session)."""

    def _suggested(self, suffix: str, ext: str) -> str:
        return self.session.suggested_path(suffix, ext, self.settings.last_folder)

    def save(self) -> Path | None:
        if self.result is None or self.photo is None:
            self.show_message("info", "Nothing to save yet: restore the photo first.")
            return None
        # Like the input by default (a HEIC as HEIC); a camera RAW's result as a 16-bit PNG.
        opened = self.photo.format if self.photo.path is not None else None
        filters, ext = save_offer(opened, self.photo_name if self.photo.path is not None else "")
        task = chain_name(self.outcome.report) if self.outcome else "restored"
        f = self.dialogs.save_image(self, self._suggested(f"-{task}", ext), filters)
        if not f:
            return None
        path = Path(f)
        overwrite = self.session.is_the_photo(path)
        if overwrite and not self.dialogs.confirm(
            self,
            "Replace the original photo?",
            f"“{path.name}” is the photo you opened. Replacing it loses the original for good.",
        ):
            return None
        quality = self._ask_quality(path)
        if quality is None:
            return None
        try:
            out = write_photo(
                path,
                self.result,
                like=self.photo,
                overwrite_input=overwrite,
                alpha=self.session.result_alpha(),  # inpainting: the filled pixels are opaque
                quality=quality,
            )
        except ImageWriteError as exc:
            self.show_message("error", f"Could not save: {exc}")
            return None
        self.session.saved(out)
        self.settings.last_folder = str(out.parent)
        note = ""
        if self.settings.save_report and self.outcome is not None:
            try:
                rp = self.outcome.report.write(report_path_for(out), output=out)
                note = f" and its run report {rp.name}"
            except OSError as exc:
                self.show_message("warning", f"The photo was saved, but not its run report: {exc}")
        self.statusBar().showMessage(f"Saved {out}{note}", 8000)
        return out

    def _ask_quality(self, path: Path) -> int | None:
        """The quality to write a lossy format with (asked, and remembered); None if cancelled."""
        quality = self.settings.jpeg_quality
        if path.suffix.lower() in (".jpg", ".jpeg", ".webp", ".heic", ".heif", ".avif"):
            q = self.dialogs.jpeg_quality(self, quality)
            if q is None:
                return None
            quality = self.settings.jpeg_quality = q
        return quality

    def save_report(self) -> Path | None:
        if self.outcome is None:
            self.show_message("info", "There is no run to report yet.")
            return None
        default = (
            report_path_for(self.last_saved)
            if self.last_saved
            else self._suggested(f"-{self.outcome.report.task}", ".json")
        )
        f = self.dialogs.save_report(self, str(default))
        if not f:
            return None
        try:
            out = self.outcome.report.write(f, output=self.last_saved)
        except OSError as exc:
            self.show_message("error", f"Could not save the report: {exc}")
            return None
        self.statusBar().showMessage(f"Saved the run report {out}", 6000)
        return out

    def save_blur(self) -> Path | None:
        """Save the blur shown in the panel (found in this photo, or given) as a kernel file, for
        other photos of the same shake: "Known blur from a file…" and ``--kernel`` read it back."""
        kernel = self.panel.shown_blur
        if kernel is None:
            self.show_message("info", "There is no blur to save yet: deblur the photo first.")
            return None
        f = self.dialogs.save_blur(self, self._suggested("-blur", ".png"))
        if not f:
            return None
        try:
            out = write_kernel(f, kernel)
        except (OSError, ValueError) as exc:
            self.show_message("error", f"Could not save the blur: {exc}")
            return None
        self.statusBar().showMessage(
            f"Saved the blur {out.name}: Blur ▸ Known blur from a file… deblurs other photos with it", 8000
        )
        return out

    def export_trajectory(self) -> Path | None:
        frames = self.session.whole_trajectory()
        if not len(frames):
            self.show_message("info", "There is no trajectory yet: restore the photo first.")
            return None
        task = chain_name(self.outcome.report) if self.outcome else "run"
        f = self.dialogs.export_trajectory(self, self._suggested(f"-{task}-trajectory", ".gif"))
        if not f:
            return None
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            out = write_trajectory(f, frames, kind=self.scrubber.kind)
        except (OSError, ValueError) as exc:
            self.show_message("error", f"Could not export the trajectory: {exc}")
            return None
        finally:
            QApplication.restoreOverrideCursor()
        what = "x_t" if self.scrubber.kind == "state" else "x0_hat"
        self.statusBar().showMessage(f"Exported {len(frames)} steps ({what}) to {out}", 8000)
        return out
