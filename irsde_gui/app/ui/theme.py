"""Light and dark palettes (Fusion style) that follow the system's colour scheme, and themed icons."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from ...core.paths import resources_dir

ACCENT = QColor("#4f8cff")
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def system_is_dark() -> bool | None:
    """True/False when the platform says dark/light, None when it does not say."""
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    return None


def wants_dark(choice: str) -> bool:
    """``system`` follows the platform; when the platform does not say, dark (usual for photo tools)."""
    if choice == "dark":
        return True
    if choice == "light":
        return False
    dark = system_is_dark()
    return True if dark is None else dark


def dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor("#202226"), QColor("#17181b"), QColor("#e6e6e6")
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor("#25272b"),
        QPalette.ColorRole.ToolTipBase: QColor("#2d3036"),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: QColor("#8a8d93"),
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor("#2b2e33"),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor("#ff6b6b"),
        QPalette.ColorRole.Light: QColor("#3a3d43"),
        QPalette.ColorRole.Midlight: QColor("#33363b"),
        QPalette.ColorRole.Mid: QColor("#2a2c30"),
        QPalette.ColorRole.Dark: QColor("#121316"),
        QPalette.ColorRole.Shadow: QColor("#000000"),
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
        QPalette.ColorRole.Link: QColor("#7aa7ff"),
    }
    for role, colour in roles.items():
        p.setColor(role, colour)
    disabled = QColor("#6c6f75")
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.HighlightedText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, QColor("#3a3d43"))
    return p


def light_palette() -> QPalette:
    p = QApplication.style().standardPalette()
    p.setColor(QPalette.ColorRole.Highlight, ACCENT.darker(110))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    return p


def apply_theme(app: QApplication, choice: str = "system") -> bool:
    """Fusion style with a dark or light palette; returns True when dark."""
    app.setStyle("Fusion")
    dark = wants_dark(choice)
    app.setPalette(dark_palette() if dark else light_palette())
    app.setProperty("irsde_dark", dark)
    app.setStyleSheet(stylesheet(dark))
    return dark


def is_dark() -> bool:
    app = QApplication.instance()
    return bool(app.property("irsde_dark")) if app is not None else False


def icon(name: str, *, accent: bool = False, color: str | None = None) -> QIcon:
    """A qtawesome icon drawn in the palette's text colour (or the accent colour)."""
    import qtawesome as qta  # deferred: qtawesome takes about a second to load; only drawing an icon needs it

    if color is None:
        color = ACCENT.name() if accent else ("#d8d8d8" if is_dark() else "#3a3a3a")
    return qta.icon(name, color=color, color_disabled="#6c6f75" if is_dark() else "#b0b0b0")


@cache
def app_icon() -> QIcon:
    """The application icon, from the PNG renders of ``resources/icons/irsde-studio.svg``."""
    ic = QIcon()
    folder = resources_dir() / "icons"
    for size in ICON_SIZES:
        f = folder / f"irsde-studio-{size}.png"
        if f.is_file():
            ic.addFile(str(f))
    return ic


def set_icon(obj, name: str, **kw) -> None:
    """Give a button or action a themed icon that :func:`refresh_icons` redraws when the theme changes."""
    obj.setProperty("irsde_icon", [name, kw])
    obj.setIcon(icon(name, **kw))


def refresh_icons(root) -> None:
    for obj in [root, *root.findChildren(QObject)]:
        spec = obj.property("irsde_icon")
        if spec:
            obj.setIcon(icon(spec[0], **spec[1]))


def stylesheet(dark: bool) -> str:
    """Finishing touches over Fusion: the accent Restore button, segmented toggles, quiet hint text."""
    hint = "#9aa0a6" if dark else "#6b7075"
    border = "#3a3d43" if dark else "#c8ccd0"
    seg_bg = "#2b2e33" if dark else "#f1f3f5"
    return f"""
QPushButton#RestoreButton {{
    background: {ACCENT.name()}; color: white; border: 1px solid {ACCENT.darker(120).name()};
    border-radius: 6px; font-weight: 600; padding: 6px 14px;
}}
QPushButton#RestoreButton:hover {{ background: {ACCENT.lighter(110).name()}; }}
QPushButton#RestoreButton:pressed {{ background: {ACCENT.darker(115).name()}; }}
QPushButton#RestoreButton:disabled {{ background: {border}; color: {hint}; border-color: {border}; }}
QLabel[hint="true"] {{ color: {hint}; }}
QGroupBox {{ font-weight: 600; border: none; border-top: 1px solid {border}; margin-top: 10px;
    padding-top: 14px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 0px; padding: 0 8px 0 0; color: {hint}; }}
QToolButton[segment] {{ background: {seg_bg}; border: 1px solid {border}; padding: 3px 10px; }}
QToolButton[segment="left"] {{ border-top-left-radius: 5px; border-bottom-left-radius: 5px; }}
QToolButton[segment="right"] {{ border-top-right-radius: 5px; border-bottom-right-radius: 5px;
    border-left: none; }}
QToolButton[segment]:checked {{ background: {ACCENT.name()}; color: white; border-color: {ACCENT.name()}; }}
QProgressBar {{ border: 1px solid {border}; border-radius: 4px; background: {seg_bg}; max-height: 8px; }}
QProgressBar::chunk {{ background: {ACCENT.name()}; border-radius: 3px; }}
QStatusBar QLabel {{ padding: 0 6px; }}
QDockWidget::title {{ padding: 6px 8px; font-weight: 600; }}
"""
