"""Take the README screenshots of the desktop app on a real X display (Xvfb), with the installed weights.

    Xvfb :99 -screen 0 1600x1000x24 &
    DISPLAY=:99 python tools/screenshots.py docs/screenshots

The app is driven from inside (open, restore, scrub, paint) and each shot is
read back from the X server with ImageMagick's ``import -window``, so the
pictures are what the screen showed. Shots are reduced to a 256-colour PNG to
stay under 300 KB. Needs: xvfb, imagemagick, and weights for denoise and inpaint.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QPointF, QTimer
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "resources" / "examples"


def settle(ms: int = 400) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_for(signal, timeout_ms: int = 300_000):
    loop = QEventLoop()
    got: list = []
    signal.connect(lambda *a: (got.append(a), loop.quit()))
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    if not got:
        raise TimeoutError(f"no {signal} within {timeout_ms} ms")
    return got[0]


def open_photo(win, path: Path) -> None:
    """Open a photo and wait until it is shown: the window reads photos off its thread."""
    win.open_path(path)
    (shown,) = wait_for(win.photo_opened)
    if not shown:
        raise SystemExit(f"screenshots: {path} could not be opened")


def shoot(window, out: Path) -> None:
    settle()
    raw = out.with_suffix(".raw.png")
    subprocess.run(["import", "-window", str(int(window.winId())), str(raw)], check=True)
    for colours in (256, 224, 192, 160, 128):  # keep each shot under 300 KB
        subprocess.run(["convert", str(raw), "-colors", str(colours), f"PNG8:{out}"], check=True)
        if out.stat().st_size < 300_000:
            break
    raw.unlink()
    print(f"{out}  {out.stat().st_size // 1024} KB")


def main(out_dir: str) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication([sys.argv[0]])
    from irsde_gui.app.ui import theme
    from irsde_gui.app.ui.main_window import MainWindow
    from irsde_gui.app.ui.settings import Settings

    settings = Settings(Path(tempfile.mkdtemp()) / "settings.ini")
    theme.apply_theme(app, "dark")
    app.setWindowIcon(theme.app_icon())
    win = MainWindow(settings, load_engine=False)
    win.resize(1040, 660)
    win.show()
    settle()
    win.start_engine()
    wait_for(win.engine_ready)
    shoot_denoising(win, out)
    shoot_inpainting(win, out)
    shoot_deblurring(win, out)
    win.close()
    return 0


def shoot_denoising(win, out: Path) -> None:
    """A denoise run live, the result compared four ways, and an A/B of step counts."""
    # 1. a denoise run streaming: the clean estimate x0_hat at step 4 of 10
    open_photo(win, EXAMPLES / "chelsea_noisy.png")
    win.panel.select_task("denoise")
    win.panel.set_steps(10)
    win.scrubber.set_kind("estimate")
    win.view.set_split(0.42)
    win.restore()
    while True:
        (frame,) = wait_for(win.run.frame)
        if frame.index >= 4:
            break
    shoot(win, out / "live-run.png")
    wait_for(win.run_finished)

    # 2. the result against the input with the split line
    win.scrubber.set_kind("state")
    win.scrubber.last()
    win.view.set_split(0.5)
    shoot(win, out / "compare.png")

    # 2b. what the model removed: the noise, amplified around grey
    win.changes_action.trigger()
    shoot(win, out / "what-changed.png")
    win.changes_action.trigger()

    # 3. side by side, zoomed in around the eye
    win.side_action.trigger()
    win.view.fit()
    pane = win.view.panes()[0]
    eye = win.view.map_from_canvas(QPointF(170, 115))
    win.view.zoom_at(eye if pane.contains(eye) else pane.center(), 2.2)
    shoot(win, out / "side-by-side.png")
    win.side_action.trigger()

    # 3a. Strength: half of the restoration kept, some of the cat's grain back
    win.view.fit()
    win.panel.strength_slider.setValue(50)
    shoot(win, out / "strength.png")
    win.panel.strength_slider.setValue(100)

    # 3b. A/B: the same seed in 1 step against the 10-step result (P puts the previous on the left)
    win.view.fit()
    win.panel.set_steps(1)
    win.restore()
    wait_for(win.run_finished)
    win.previous_action.trigger()
    win.view.set_split(0.5)
    shoot(win, out / "a-b.png")
    win.previous_action.trigger()


def shoot_inpainting(win, out: Path) -> None:
    """The area to fill painted over a photo, and the uncertainty map of the fill."""
    # 4. inpainting: the area to fill painted over the photo
    open_photo(win, EXAMPLES / "astronaut_holes.png")
    win.panel.select_task("inpaint")
    from irsde_gui.core.imageio import read_photo

    win.mask_editor.set_array(read_photo(EXAMPLES / "astronaut_holes_mask.png").rgb.max(axis=2))
    win.mask_editor.paint_stroke([(300, 330), (330, 350), (370, 352)])
    shoot(win, out / "inpaint-mask.png")

    # 5. the uncertainty map of the fill: four seeds, bright where they disagree
    win.uncertainty_map()
    while win.uncertainty is None:
        wait_for(win.run_finished)
    win.view.set_split(0.5)
    shoot(win, out / "uncertainty.png")


def shoot_deblurring(win, out: Path) -> None:
    # 6. deblurring with no deblur model: the blur estimated from the photo, then undone
    open_photo(win, EXAMPLES / "chelsea_blurry.png")
    win.panel.select_task("deblur")
    win.restore()
    wait_for(win.run_finished)
    win.view.set_split(0.5)
    shoot(win, out / "deblur-blind.png")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
