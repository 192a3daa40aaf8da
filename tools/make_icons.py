"""Render the Windows and macOS icons from ``resources/icons/irsde-studio.svg``.

    QT_QPA_PLATFORM=offscreen python tools/make_icons.py

Writes ``irsde-studio.ico`` (16-256 px, for the Windows executable) and
``irsde-studio.icns`` (16-1024 px, for the macOS app bundle), rendered with
Qt's SVG renderer like the PNGs beside them and packed with Pillow.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QBuffer, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"


def render(svg: QSvgRenderer, size: int) -> Image.Image:
    img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    svg.render(p)
    p.end()
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    return Image.open(io.BytesIO(bytes(buf.data()))).convert("RGBA")


def main() -> int:
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    svg = QSvgRenderer(str(ICONS / "irsde-studio.svg"))
    ico_sizes = (16, 24, 32, 48, 64, 128, 256)
    ico = {s: render(svg, s) for s in ico_sizes}
    ico[256].save(
        ICONS / "irsde-studio.ico", sizes=[(s, s) for s in ico_sizes], append_images=list(ico.values())
    )
    icns = {s: render(svg, s) for s in (16, 32, 64, 128, 256, 512, 1024)}
    icns[1024].save(ICONS / "irsde-studio.icns", append_images=[icns[s] for s in (16, 32, 64, 128, 256, 512)])
    print(f"wrote {ICONS / 'irsde-studio.ico'} and {ICONS / 'irsde-studio.icns'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
