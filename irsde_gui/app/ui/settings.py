"""What the app remembers between runs, stored with ``QSettings`` in an INI file.

Where the file lives, first match wins:

1. the ``path`` given to :class:`Settings` (tests use this);
2. the environment variable ``IRSDE_SETTINGS`` (a file path);
3. ``$IRSDE_DATA_DIR/settings.ini`` when ``IRSDE_DATA_DIR`` is set (isolated
   user folders, as in the test suite);
4. Qt's per-user location for ``irsde-studio`` (``~/.config/irsde-studio/`` on Linux).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from ...core.tasks import TASKS

MAX_RECENT = 10
SAMPLERS = ("posterior", "sde", "ode")
DEVICES = ("auto", "cuda", "mps", "cpu")
THEMES = ("system", "dark", "light")


def settings_file(path: str | os.PathLike | None = None) -> str | None:
    """The INI file to use, or None for Qt's default per-user location."""
    if path:
        return str(path)
    if os.environ.get("IRSDE_SETTINGS"):
        return os.environ["IRSDE_SETTINGS"]
    if os.environ.get("IRSDE_DATA_DIR"):
        return str(Path(os.environ["IRSDE_DATA_DIR"]) / "settings.ini")
    return None


class Settings:
    """Typed access to the persisted settings; every setter writes through at once."""

    def __init__(self, path: str | os.PathLike | None = None):
        f = settings_file(path)
        if f:
            self.q = QSettings(f, QSettings.Format.IniFormat)
        else:
            self.q = QSettings(
                QSettings.Format.IniFormat, QSettings.Scope.UserScope, "irsde-studio", "IR-SDE Studio"
            )

    @property
    def location(self) -> str:
        return self.q.fileName()

    def sync(self) -> None:
        self.q.sync()

    # -- helpers
    def _str(self, key: str, default: str, allowed: tuple[str, ...] | None = None) -> str:
        v = self.q.value(key, default)
        v = str(v) if v is not None else default
        return v if allowed is None or v in allowed else default

    def _int(self, key: str, default: int) -> int:
        try:
            return int(self.q.value(key, default))
        except (TypeError, ValueError):
            return default

    def _bool(self, key: str, default: bool) -> bool:
        v = self.q.value(key, default)
        if isinstance(v, str):
            return v.lower() in ("1", "true", "yes")
        return bool(v)

    def _set(self, key: str, value) -> None:
        self.q.setValue(key, value)

    # -- restoration
    @property
    def task(self) -> str:
        return self._str("run/task", next(iter(TASKS)))  # at first, the first task listed

    @task.setter
    def task(self, v: str) -> None:
        self._set("run/task", v)

    def steps(self, task: str) -> int | None:
        """Steps chosen for ``task`` (None: the model's default)."""
        v = self._int(f"steps/{task}", 0)
        return v if v > 0 else None

    def set_steps(self, task: str, steps: int) -> None:
        self._set(f"steps/{task}", int(steps))

    def flip_average(self, task: str) -> bool | None:
        """Whether ``task`` averages each step with the photo turned half a turn; None: never set."""
        key = f"flips/{task}"
        return self._bool(key, False) if self.q.contains(key) else None

    def set_flip_average(self, task: str, on: bool) -> None:
        self._set(f"flips/{task}", bool(on))

    def blur_shape(self, name: str) -> float | None:
        """The size last set for a blur shape (``motion``, ``defocus``, ``gaussian``) or the
        motion's ``angle``; None: never set (or unreadable)."""
        try:
            v = float(self.q.value(f"blur/{name}", ""))
        except (TypeError, ValueError):
            return None
        return v if math.isfinite(v) else None

    def set_blur_shape(self, name: str, value: float) -> None:
        self._set(f"blur/{name}", float(value))

    @property
    def sampler(self) -> str:
        return self._str("run/sampler", "posterior", SAMPLERS)

    @sampler.setter
    def sampler(self, v: str) -> None:
        self._set("run/sampler", v)

    @property
    def seed(self) -> int:
        return self._int("run/seed", 0)

    @seed.setter
    def seed(self, v: int) -> None:
        self._set("run/seed", int(v))

    @property
    def device(self) -> str:
        return self._str("run/device", "auto", DEVICES)

    @device.setter
    def device(self, v: str) -> None:
        self._set("run/device", v)

    # -- files
    @property
    def last_folder(self) -> str:
        return self._str("files/last_folder", str(Path.home()))

    @last_folder.setter
    def last_folder(self, v: str) -> None:
        self._set("files/last_folder", str(v))

    @property
    def output_folder(self) -> str:
        return self._str("files/output_folder", "")

    @output_folder.setter
    def output_folder(self, v: str) -> None:
        self._set("files/output_folder", str(v))

    @property
    def recent_files(self) -> list[str]:
        v = self.q.value("files/recent", [])
        if isinstance(v, str):
            v = [v] if v else []
        return [str(x) for x in (v or [])][:MAX_RECENT]

    def add_recent(self, path: str | os.PathLike) -> list[str]:
        p = str(Path(path).resolve())
        items = [p] + [x for x in self.recent_files if x != p]
        self._set("files/recent", items[:MAX_RECENT])
        return items[:MAX_RECENT]

    def clear_recent(self) -> None:
        self._set("files/recent", [])

    @property
    def jpeg_quality(self) -> int:
        return min(100, max(1, self._int("files/jpeg_quality", 95)))

    @jpeg_quality.setter
    def jpeg_quality(self, v: int) -> None:
        self._set("files/jpeg_quality", int(v))

    @property
    def save_report(self) -> bool:
        return self._bool("files/save_report", True)

    @save_report.setter
    def save_report(self, v: bool) -> None:
        self._set("files/save_report", bool(v))

    # -- view
    @property
    def compare_mode(self) -> str:
        return self._str("view/compare", "split", ("split", "side"))

    @compare_mode.setter
    def compare_mode(self, v: str) -> None:
        self._set("view/compare", v)

    @property
    def frame_kind(self) -> str:
        """What the live view and the scrubber show: the noisy ``state`` x_t or the ``estimate`` x0_hat."""
        return self._str("view/frames", "state", ("state", "estimate"))

    @frame_kind.setter
    def frame_kind(self, v: str) -> None:
        self._set("view/frames", v)

    @property
    def suggest_tasks(self) -> bool:
        """Whether an opened photo gets a one-line suggestion of what to fix (never applied by itself)."""
        return self._bool("view/suggest_tasks", True)

    @suggest_tasks.setter
    def suggest_tasks(self, v: bool) -> None:
        self._set("view/suggest_tasks", bool(v))

    @property
    def theme(self) -> str:
        return self._str("view/theme", "system", THEMES)

    @theme.setter
    def theme(self, v: str) -> None:
        self._set("view/theme", v)

    # -- window layout
    @property
    def geometry(self) -> QByteArray | None:
        v = self.q.value("window/geometry")
        return v if isinstance(v, QByteArray) and not v.isEmpty() else None

    @geometry.setter
    def geometry(self, v: QByteArray) -> None:
        self._set("window/geometry", v)

    @property
    def window_state(self) -> QByteArray | None:
        v = self.q.value("window/state")
        return v if isinstance(v, QByteArray) and not v.isEmpty() else None

    @window_state.setter
    def window_state(self, v: QByteArray) -> None:
        self._set("window/state", v)
