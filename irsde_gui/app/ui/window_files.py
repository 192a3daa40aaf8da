"""How the main window opens photos, masks and blur kernels: each file read on a thread of its
own (a slow drive never freezes the window), dropped, pasted or chosen from the recent list."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication

from ...core.imageio import ImageReadError, Photo, decode_photo
from ...core.tasks import mask_from_alpha
from ..session import Dropped
from ..worker import FileRead
from .window_common import APP_TITLE, rgb_to_qimage, why


class WindowFiles:
    """Part of :class:`~irsde_gui.app.ui.main_window.MainWindow` (a mixin: it reads and writes the
    window's widgets and session)."""

    def open_dialog(self) -> None:
        files = self.dialogs.open_images(self, self.settings.last_folder)
        if files:
            self.open_paths([Path(f) for f in files])

    def open_paths(self, paths: list[Path]) -> None:
        """One photo opens; several photos or a folder go to the batch queue. What they hold is
        listed on a thread of its own (:func:`list_dropped`); drops are taken in the order they
        came, and :attr:`paths_listed` says when one has been."""
        paths = [Path(p) for p in paths]
        if paths:
            self._list_paths(paths, self._open_dropped)

    def _list_paths(self, paths: list[Path], then: Callable[[Dropped | str], None]) -> None:
        """List ``paths`` (:attr:`paths_lister`) on a thread of its own, then hand what they hold
        (or the listing's error) to ``then`` on this thread, in the order of the calls."""
        lister = self.paths_lister
        read = FileRead(lambda _first: lister(paths), paths[0], parent=self)
        listing = (read, [], then)  # the list holds the outcome once it came
        read.succeeded.connect(lambda dropped: self._paths_listed(listing, dropped))
        read.failed.connect(lambda message: self._paths_listed(listing, message))
        read.stopped.connect(lambda: self._read_stopped(read))
        self._reads.append(read)
        self._listings.append(listing)
        read.start()

    def _paths_listed(self, listing: tuple, outcome: Dropped | str) -> None:
        listing[1].append(outcome)
        while self._listings and self._listings[0][1]:
            _read, (first, *_), then = self._listings.pop(0)
            then(first)
            self.paths_listed.emit()

    def _open_dropped(self, dropped: Dropped | str) -> None:
        if isinstance(dropped, str):  # the listing failed (the reader's one line names the file)
            self.show_message("error", f"Nothing to open: {dropped}")
            return
        route = self.session.queue_batch(dropped, photo_coming=self._newest_read in self._reads)
        if route.error:
            self.show_message("error", route.error)
            return
        if not route.queue:
            self.open_path(route.open)
            return
        added = self.batch.add_paths(route.queue)
        self.show_batch()
        if route.open is not None:
            self.open_path(route.open, quiet=route.quiet)
        self.show_message("info", self.session.queued_message(added, route.notes))

    def open_path(self, path: str | Path, quiet: bool = False) -> None:
        """Open one photo. It is read on a thread of its own, so that a slow drive (or a pipe
        named like a photo) never freezes the window; the current photo stays until the new one
        is shown, or, on failure, a message says why. :attr:`photo_opened` tells which."""
        path = Path(path)
        read = FileRead(self.photo_reader, path, parent=self)
        read.succeeded.connect(lambda photo: self._photo_read(read, photo, quiet))
        read.failed.connect(lambda message: self._photo_refused(read, message))
        read.progress.connect(lambda what, done, total: self._read_progress(read, what, done, total))
        read.stopped.connect(lambda: self._read_stopped(read))
        self._reads.append(read)
        self._newest_read = read
        self.statusBar().showMessage(f"Opening {path.name}…")
        read.start()

    def _read_progress(self, read: FileRead, what: str, done: int, total: int) -> None:
        """A slow read (a camera RAW being developed, on the reading thread) says how far it is:
        in the status bar, and in the progress row while nothing is being restored."""
        if read is not self._newest_read:
            return
        self.statusBar().showMessage(f"Opening {read.path.name}: {what} ({done}/{total})…")
        if not self.session.busy:
            self._progress_for_read = True
            self.progress_row.show()
            self.progress_bar.setRange(0, max(1, total))
            self.progress_bar.setValue(done - 1)
            self.progress_label.setText(f"Opening {read.path.name}: {what}…")

    def _photo_read(self, read: FileRead, photo: Photo, quiet: bool) -> None:
        if read is not self._newest_read:
            return  # a photo opened since replaces this one
        path = read.path
        self.statusBar().clearMessage()
        self.set_photo(photo, path.name)
        self.settings.add_recent(path)
        self.settings.last_folder = str(path.parent)
        self.setWindowFilePath(str(path))
        if not quiet:
            self.message_bar.dismiss()
        self.photo_opened.emit(True)

    def _photo_refused(self, read: FileRead, message: str) -> None:
        if read is not self._newest_read:
            return
        self.statusBar().clearMessage()
        if self._progress_for_read and not self.session.busy:
            self.progress_row.hide()
        self._progress_for_read = False
        path = read.path
        self.show_message("error", f"Could not open “{path.name}”: {why(message, path).rstrip('.')}.")
        self.photo_opened.emit(False)

    def _read_stopped(self, read: FileRead) -> None:
        self._reads.remove(read)
        read.deleteLater()

    def paste(self) -> None:
        md = QApplication.clipboard().mimeData()
        if md is None:
            return
        if md.hasUrls() and any(u.isLocalFile() for u in md.urls()):
            self.open_paths([Path(u.toLocalFile()) for u in md.urls() if u.isLocalFile()])
            return
        if md.hasImage():
            img = QImage(md.imageData())
            if not img.isNull():
                self.open_qimage(img, "Pasted image")
                return
        if md.hasText() and Path(md.text().strip()).is_file():
            self.open_path(Path(md.text().strip()))
            return
        self.show_message("info", "The clipboard holds no photo to paste.")

    def open_qimage(self, img: QImage, name: str) -> bool:
        """Open an image held in memory (clipboard, dragged from a browser), via PNG and the core decoder."""
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        img.save(buf, "PNG")
        buf.close()
        try:
            photo = decode_photo(bytes(data.data()), name)
        except ImageReadError as exc:
            self.show_message("error", f"Could not use the pasted image: {why(exc, name)}")
            return False
        photo.path = None
        self.set_photo(photo, name)
        self.setWindowFilePath("")
        self.message_bar.dismiss()
        return True

    def set_photo(self, photo: Photo, name: str) -> None:
        if self.run is not None:
            self._abandon_run()
        self.session.open_photo(photo, name)  # a new photo starts a new chain

    def _photo_changed(self) -> None:
        """Show the session's new photo (opened, or a chain's stage) with no result yet."""
        photo, name = self.photo, self.photo_name
        self._progress_for_read = False
        self._changes_cache = None
        self.panel.show_blur(None)
        self.previous_action.setChecked(False)
        self.scrubber.set_trajectory(None)
        self._photo_image = rgb_to_qimage(photo.rgb)
        self.view.set_before(self._photo_image)
        self.mask_editor.set_canvas_scale(1.0)
        self.view.before_label = "Before"
        self.mask_editor.reset(QSize(photo.width, photo.height))
        self._init_mask_from_alpha()
        self._show_photo_info()
        self.setWindowTitle(f"{name} — {APP_TITLE}")
        self.progress_bar.setValue(0)
        self.progress_label.setText("")
        self.progress_row.hide()
        self._sync_actions()
        self.panel.suggestion_label.clear()
        self._suggest_for_photo()
        self.photo_changed.emit()

    def _show_photo_info(self) -> None:
        """The status bar's line about the photo: size, depth, where it came from (a developed
        camera RAW) and, in a chain, which stage it is."""
        self.size_label.setText(self.session.photo_info())

    def _suggest_for_photo(self, *_args) -> None:
        """Measure the photo on the suggestion's thread, if suggestions are on."""
        if self.photo is not None and self.settings.suggest_tasks:
            self.suggester.estimate(self.photo.rgb)

    def _init_mask_from_alpha(self) -> None:
        """Transparent pixels of the photo pre-fill the inpainting mask."""
        if self.photo is None or self.photo.alpha is None or not self.mask_editor.is_empty():
            return

        m = mask_from_alpha(self.photo.alpha)
        if m.any():
            self.mask_editor.set_array(m)

    def load_mask(self) -> None:
        """Take the inpainting mask from a file, read on a thread of its own as photos are;
        :attr:`mask_loaded` says when it is set or refused."""
        if self.photo is None:
            return
        f = self.dialogs.open_mask(self, self.settings.last_folder)
        if not f:
            return
        path, photo = Path(f), self.photo
        read = FileRead(self.photo_reader, path, parent=self)
        read.succeeded.connect(lambda mask: self._mask_read(photo, path, mask))
        read.failed.connect(lambda message: self._mask_refused(path, message))
        read.stopped.connect(lambda: self._read_stopped(read))
        self._reads.append(read)
        read.start()

    def _mask_read(self, photo: Photo, path: Path, mask: Photo) -> None:
        if self.photo is not photo:
            self._mask_refused(path, "another photo was opened meanwhile")
            return
        try:
            self.mask_editor.set_array(mask.rgb.max(axis=2))
        except ValueError as exc:
            self._mask_refused(path, str(exc))
            return
        self.mask_loaded.emit(True)

    def _mask_refused(self, path: Path, message: str) -> None:
        self.show_message("error", f"Could not use the mask “{path.name}”: {why(message, path)}")
        self.mask_loaded.emit(False)

    def load_kernel(self) -> None:
        """Take a known blur kernel from a file for blind deblurring (instead of estimating it),
        read on a thread of its own as photos are; :attr:`kernel_loaded` says when it is set or
        refused. The blur chosen before stays until then (and if the file is refused)."""
        f = self.dialogs.open_kernel(self, self.settings.last_folder)
        if not f:
            return
        path, reader = Path(f), self.kernel_reader

        def read(p: Path) -> tuple[np.ndarray, str]:  # on the reading thread
            return reader(p), str(p.resolve())  # the full path, for run reports

        kernel_read = FileRead(read, path, parent=self)
        kernel_read.succeeded.connect(lambda got: self._kernel_read(kernel_read, path, *got))
        kernel_read.failed.connect(lambda message: self._kernel_refused(kernel_read, path, message))
        kernel_read.stopped.connect(lambda: self._read_stopped(kernel_read))
        self._reads.append(kernel_read)
        self._newest_kernel_read = kernel_read
        kernel_read.start()

    def _kernel_read(self, read: FileRead, path: Path, kernel: np.ndarray, source: str) -> None:
        if read is not self._newest_kernel_read:
            return  # a blur chosen since replaces this one
        self.panel.set_known_kernel(kernel, path.name, source=source)
        self.kernel_loaded.emit(True)

    def _kernel_refused(self, read: FileRead, path: Path, message: str) -> None:
        if read is not self._newest_kernel_read:
            return
        self.show_message("error", f"Could not use the blur kernel “{path.name}”: {why(message, path)}")
        self.kernel_loaded.emit(False)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        items = self.settings.recent_files
        for p in items:
            a = self.recent_menu.addAction(Path(p).name)
            a.setToolTip(p)
            a.setStatusTip(p)
            a.triggered.connect(lambda _=False, path=p: self.open_path(Path(path)))
        if not items:
            self.recent_menu.addAction("No recent photos").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear the list", self.settings.clear_recent)

    # -- drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        md = event.mimeData()
        if (md.hasUrls() and any(u.isLocalFile() for u in md.urls())) or md.hasImage():
            event.acceptProposedAction()
            self.view.drop_hint = True
            self.view.update()

    def dragLeaveEvent(self, event) -> None:
        self.view.drop_hint = False
        self.view.update()

    def dropEvent(self, event: QDropEvent) -> None:
        self.view.drop_hint = False
        self.view.update()
        md = event.mimeData()
        paths = [Path(u.toLocalFile()) for u in md.urls() if u.isLocalFile()] if md.hasUrls() else []
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)
        elif md.hasImage():
            event.acceptProposedAction()
            self.open_qimage(QImage(md.imageData()), "Dropped image")
