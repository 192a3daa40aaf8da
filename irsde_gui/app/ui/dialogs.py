"""Dialogs, the inline message bar, the About box and the shortcut list.

Every question the app asks goes through :class:`Dialogs`, so tests replace
it with answers given in advance and no modal dialog ever blocks them.
Errors and offers ("keep the estimate?", "run on the CPU?") are shown in the
non-modal :class:`MessageBar` above the canvas, never in a modal box.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ... import __version__
from ...core.imageio import RAW_EXTENSIONS, WRITE_EXTENSIONS
from ...core.weights import search_dirs
from .theme import app_icon, icon


def _image_filter() -> str:
    photos = " ".join(f"*{e}" for e in WRITE_EXTENSIONS)
    raws = " ".join(f"*{e}" for e in RAW_EXTENSIONS)
    return f"Photos ({photos} {raws});;Camera RAW ({raws});;All files (*)"


IMAGE_FILTER = _image_filter()
KERNEL_FILTER = "Blur kernels (*.png *.tif *.tiff *.bmp *.npy *.txt *.csv);;All files (*)"
SAVE_FILTERS = {
    "PNG image (*.png)": ".png",
    "JPEG image (*.jpg *.jpeg)": ".jpg",
    "TIFF image (*.tif *.tiff)": ".tif",
    "WebP image (*.webp)": ".webp",
}
# Offered (first, as the default) when the photo opened was one of them: saved like the input.
LIKE_INPUT_FILTERS = {
    "HEIF": ("HEIC image (*.heic *.heif)", (".heic", ".heif")),
    "AVIF": ("AVIF image (*.avif)", (".avif",)),
}
BLUR_SAVE_FILTERS = {  # what read_kernel takes back, losslessly (core.imageio.write_kernel)
    "PNG image, 16-bit (*.png)": ".png",
    "TIFF image, 16-bit (*.tif *.tiff)": ".tif",
    "NumPy array (*.npy)": ".npy",
    "Numbers, comma-separated (*.csv)": ".csv",
}
EXPORT_FILTERS = {
    "Animated GIF (*.gif)": ".gif",
    "MP4 video (*.mp4)": ".mp4",
    "Contact sheet PNG (*.png)": ".png",
}


def save_offer(photo_format: str | None, name: str) -> tuple[dict[str, str], str]:
    """The formats a result is offered in and the extension it gets by default: like the input
    (a HEIC's as HEIC, an AVIF's as AVIF, a JPEG's as JPEG); a camera RAW's (no RAW writer) and
    a pasted image's as PNG, 16-bit where the photo is."""
    filters = dict(SAVE_FILTERS)
    allowed = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"}
    if photo_format in LIKE_INPUT_FILTERS:
        label, extensions = LIKE_INPUT_FILTERS[photo_format]
        filters = {label: extensions[0], **filters}
        allowed.update(extensions)
    ext = Path(name).suffix.lower()
    return filters, ext if ext in allowed else ".png"


class Dialogs:
    """The questions the main window asks; tests substitute answers."""

    def open_images(self, parent: QWidget, folder: str) -> list[str]:
        files, _ = QFileDialog.getOpenFileNames(parent, "Open photos", folder, IMAGE_FILTER)
        return files

    def open_mask(self, parent: QWidget, folder: str) -> str | None:
        f, _ = QFileDialog.getOpenFileName(parent, "Load a mask (white = fill)", folder, IMAGE_FILTER)
        return f or None

    def open_kernel(self, parent: QWidget, folder: str) -> str | None:
        f, _ = QFileDialog.getOpenFileName(parent, "Load a known blur kernel", folder, KERNEL_FILTER)
        return f or None

    def save_image(
        self, parent: QWidget, suggested: str, filters: dict[str, str] | None = None
    ) -> str | None:
        filters = filters or SAVE_FILTERS
        ext = Path(suggested).suffix.lower()
        ext = {".jpeg": ".jpg", ".tiff": ".tif", ".heif": ".heic"}.get(ext, ext)
        selected = next((k for k, v in filters.items() if v == ext), next(iter(filters)))
        f, chosen = QFileDialog.getSaveFileName(
            parent, "Save the restored photo", suggested, ";;".join(filters), selected
        )
        if f and not Path(f).suffix:
            f += filters.get(chosen, ".png")
        return f or None

    def export_trajectory(self, parent: QWidget, suggested: str) -> str | None:
        f, chosen = QFileDialog.getSaveFileName(
            parent, "Export the trajectory", suggested, ";;".join(EXPORT_FILTERS)
        )
        if f and not Path(f).suffix:
            f += EXPORT_FILTERS.get(chosen, ".gif")
        return f or None

    def save_blur(self, parent: QWidget, suggested: str) -> str | None:
        f, chosen = QFileDialog.getSaveFileName(
            parent, "Save the blur", suggested, ";;".join(BLUR_SAVE_FILTERS), next(iter(BLUR_SAVE_FILTERS))
        )
        if f and not Path(f).suffix:
            f += BLUR_SAVE_FILTERS.get(chosen, ".png")
        return f or None

    def save_report(self, parent: QWidget, suggested: str) -> str | None:
        f, _ = QFileDialog.getSaveFileName(parent, "Save the run report", suggested, "JSON (*.json)")
        return f or None

    def choose_folder(self, parent: QWidget, title: str, folder: str) -> str | None:
        return QFileDialog.getExistingDirectory(parent, title, folder) or None

    def jpeg_quality(self, parent: QWidget, current: int) -> int | None:
        """The quality of a lossy save (JPEG, WebP, HEIC, AVIF)."""
        value, ok = QInputDialog.getInt(
            parent, "Quality", "Quality (1-100; 95 keeps fine detail):", current, 1, 100, 1
        )
        return value if ok else None

    def confirm(self, parent: QWidget, title: str, text: str, yes: str = "Replace") -> bool:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Cancel, parent)
        ok = box.addButton(yes, QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is ok


class MessageBar(QFrame):
    """A slim, non-modal bar for errors and offers, with up to three action buttons."""

    STYLES: ClassVar[dict[str, tuple[str, str]]] = {
        "info": ("mdi6.information", "#3b6fd8"),
        "success": ("mdi6.check-circle", "#2f9e44"),
        "warning": ("mdi6.alert", "#e8a317"),
        "error": ("mdi6.alert-circle", "#e03131"),
    }

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("MessageBar")
        self.kind = "info"
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 6)
        lay.setSpacing(8)
        self.icon_label = QLabel()
        self.text_label = QLabel()
        self.text_label.setWordWrap(True)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.icon_label, 0, Qt.AlignmentFlag.AlignTop)
        lay.addWidget(self.text_label, 1)
        self._buttons: list[QPushButton] = []
        self.button_row = QHBoxLayout()
        self.button_row.setSpacing(6)
        lay.addLayout(self.button_row)
        self.close_button = QToolButton()
        self.close_button.setAutoRaise(True)
        self.close_button.setIcon(icon("mdi6.close"))
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.dismiss)
        lay.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    @property
    def text(self) -> str:
        return self.text_label.text()

    def show_message(
        self, kind: str, text: str, actions: list[tuple[str, Callable[[], None]]] | None = None
    ) -> None:
        name, colour = self.STYLES.get(kind, self.STYLES["info"])
        self.kind = kind
        self.icon_label.setPixmap(icon(name, color=colour).pixmap(QSize(20, 20)))
        self.text_label.setText(text)
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        self.setStyleSheet(
            f"#MessageBar {{ border: 1px solid {colour}; border-radius: 6px;"
            f" background: rgba({r}, {g}, {b}, 38); }}"
        )
        for b in self._buttons:
            b.deleteLater()
        self._buttons = []
        for label, callback in actions or []:
            b = QPushButton(label)
            b.clicked.connect(lambda _=False, cb=callback: (self.dismiss(), cb()))
            self.button_row.addWidget(b)
            self._buttons.append(b)
        self.show()

    def action(self, label: str) -> QPushButton | None:
        return next((b for b in self._buttons if b.text() == label), None)

    def dismiss(self) -> None:
        self.hide()
        self.text_label.setText("")


SHORTCUTS = [
    ("File", [("Ctrl+O", "Open photos"), ("Ctrl+V", "Paste a photo"), ("Ctrl+S", "Save the result"),
              ("Ctrl+E", "Export the trajectory (GIF, MP4, contact sheet)"), ("Ctrl+Q", "Quit")]),
    ("Restore", [("Ctrl+R / Enter", "Restore"), ("Esc", "Stop (and offer to keep x0_hat)"),
                 ("Ctrl+U", "Uncertainty map: restore with 4 seeds, show where they disagree"),
                 ("Ctrl+Shift+R", "Continue from the result: it becomes the photo (denoise, then upscale)"),
                 ("Ctrl+Z", "Back one stage of the chain (while no mask stroke is left to undo)"),
                 ("D", "New random seed")]),
    ("View", [("F", "Fit the photo in the window"), ("1", "100 % (one photo pixel per screen pixel)"),
              ("+ / −, wheel", "Zoom around the cursor"), ("Drag, Space+drag", "Pan"),
              ("S", "Split view / side by side"), ("X", "Show x_t / x0_hat"),
              ("W", "Show what changed / the result"), ("U", "Show the uncertainty map / the result"),
              ("P", "Compare with the previous result (A/B of samplers, steps, seeds)"),
              ("← / →", "Previous / next step of the trajectory"), ("Home / End", "First / last step"),
              ("Ctrl+B", "Show the batch queue")]),
    ("Inpaint mask", [("Left drag", "Paint the area to fill"), ("Right drag, E", "Erase"),
                      ("[ / ]", "Smaller / larger brush"), ("Ctrl+Z", "Undo the last stroke")]),
    ("Help", [("F1", "This list")]),
]  # fmt: skip


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        lay = QVBoxLayout(self)
        view = QTextBrowser()
        rows = []
        for group, items in SHORTCUTS:
            rows.append(f"<tr><td colspan=2><h3 style='margin-top:10px'>{html.escape(group)}</h3></td></tr>")
            for keys, what in items:
                rows.append(
                    f"<tr><td style='padding-right:24px'><b>{html.escape(keys)}</b></td>"
                    f"<td>{html.escape(what)}</td></tr>"
                )
        view.setHtml(f"<table cellspacing=3>{''.join(rows)}</table>")
        lay.addWidget(view)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(460, 560)


def _fmt_value(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return ", ".join(f"{k} {_fmt_value(x)}" for k, x in v.items())
    if isinstance(v, list | tuple):
        return ", ".join(_fmt_value(x) for x in v)
    return str(v)


def describe_training(card) -> str:
    """The training data (and how long) from a model card, or a plain statement that it is not recorded."""
    t = card.training or {}
    if not t:
        return "not recorded in the model card"
    data = t.get("data") or t.get("dataset") or t.get("datasets")
    parts = []
    if data:
        parts.append(_fmt_value(data))
    for key in ("degradation", "iterations", "steps", "epochs", "patch", "images"):
        if key in t and key not in ("data", "dataset", "datasets"):
            parts.append(f"{key} {_fmt_value(t[key])}")
    if not parts:
        parts = [f"{k}: {_fmt_value(v)}" for k, v in list(t.items())[:4]]
    return "; ".join(parts)


def _describe_eval(name: str, ev: dict) -> str:
    """One ``irsde eval --json`` result: the model's mean PSNR/SSIM beside the input's and the baseline's."""
    mean = ev.get("mean") or {}
    where = Path(str(ev.get("folder", name))).name or name
    head = f"{where} ({ev['images']} images)" if ev.get("images") else where

    def nums(row: dict) -> str:
        parts = []
        if "psnr" in row:
            parts.append(f"{row['psnr']:.2f} dB")
        if "ssim" in row:
            parts.append(f"SSIM {row['ssim']:.3f}")
        return " / ".join(parts)

    text = f"{head}: model {nums(mean['model'])}" if "model" in mean else head
    labels = (("input", "input"), ("classic", ev.get("classic_method", "classic")))
    others = [f"{label} {nums(mean[k])}" for k, label in labels if k in mean]
    return text + (f" (vs {', '.join(others)})" if others else "")


def describe_validation(card) -> str:
    """The validation numbers from a model card, or a plain statement that there are none."""
    v = card.validation or {}
    if not v:
        return "no validation numbers in the model card"
    if v.get("summary"):
        return str(v["summary"])
    lines = []
    for name, ev in v.items():
        if isinstance(ev, dict) and "mean" in ev:
            lines.append(_describe_eval(name, ev))
        elif not isinstance(ev, dict | list):
            lines.append(f"{name} {_fmt_value(ev)}")
    return "; ".join(lines) or "no validation numbers in the model card"


def about_html(engine) -> str:
    rows = []
    for info in engine.tasks.values() if engine else []:
        if info.card is None:
            rows.append(
                f"<tr><td><b>{html.escape(info.label)}</b></td><td colspan=3><i>"
                f"{html.escape(info.problem or 'no model')}</i></td></tr>"
            )
            continue
        if info.method == "blind":
            rows.append(
                f"<tr><td valign=top><b>{html.escape(info.label)}</b></td><td colspan=3>"
                f"No deblur model is installed: the blur is estimated from the photo and undone "
                f"with {html.escape(info.weights.name)} as the image prior (blind deblurring)."
                "</td></tr>"
            )
            continue
        card = info.card
        params = f"{card.parameters / 1e6:.2f} M parameters" if card.parameters else ""
        rows.append(
            f"<tr><td valign=top><b>{html.escape(info.label)}</b></td>"
            f"<td valign=top>{html.escape(info.weights.name if info.weights else '')}<br>"
            f"<small>{html.escape(card.network.get('name', ''))} {html.escape(params)}, "
            f"sha256 {html.escape(card.sha256[:12])}…</small></td>"
            f"<td valign=top>{html.escape(describe_training(card))}</td>"
            f"<td valign=top>{html.escape(describe_validation(card))}</td></tr>"
        )
        if info.offers_known_blur:
            rows.append(
                f"<tr><td></td><td colspan=3><small>A known blur (Blur ▸ Known blur from a file…) is "
                f"deconvolved with {html.escape(info.prior_weights.name)} as the image prior."
                "</small></td></tr>"
            )

    folders = " or ".join(html.escape(str(d)) for d in search_dirs())
    engine_line = (
        f"PyTorch {html.escape(engine.torch_version)} · devices: "
        f"{html.escape('; '.join(engine.devices.values()))}"
        if engine
        else "The engine is still loading."
    )
    return (
        f"<h2>IR-SDE Studio {__version__}</h2>"
        "<p>Restores photos with a mean-reverting stochastic differential equation "
        "(IR-SDE; Luo, Gustafsson, Zhao, Sjölund and Schön, ICML 2023), step by step.</p>"
        f"<p><small>{engine_line}</small></p>"
        "<h3>Models</h3>"
        f"<p><small>Weights (<i>task</i>.pt with its model card <i>task</i>.json) are looked for in "
        f"{folders}.</small></p>"
        "<table cellspacing=6 width=100%><tr><th align=left>Task</th><th align=left>Weights</th>"
        "<th align=left>Training data</th><th align=left>Validation</th></tr>"
        f"{''.join(rows) or '<tr><td colspan=4>No models installed.</td></tr>'}</table>"
        "<p><small>Example photos: scikit-image sample data (CC0 / public domain). "
        "Icons: Material Design Icons via QtAwesome. Application icon drawn for this project. "
        "Licence: MIT.</small></p>"
    )


class AboutDialog(QDialog):
    def __init__(self, engine, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("About IR-SDE Studio")
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(QSize(96, 96)))
        top.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        self.text.setHtml(about_html(engine))
        top.addWidget(self.text, 1)
        lay.addLayout(top)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(760, 520)
