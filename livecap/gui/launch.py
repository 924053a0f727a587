"""Starting the desktop app: the Qt application, shared GL contexts, signals, and the main window on screen."""

from __future__ import annotations

import logging
import signal
import sys
import traceback
from pathlib import Path

import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from livecap.gui.app import MainWindow
from livecap.gui.settings import AppStart

log = logging.getLogger("livecap")


def share_gl_contexts() -> None:
    """Before the QApplication exists: pyqtgraph caches its compiled GL shaders across widgets, so a second
    window's 3D view (a new GL context) would find them invalid unless every context shares its objects."""
    QtCore.QCoreApplication.setAttribute(QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


def make_app(argv: list[str] | None = None) -> QtWidgets.QApplication:
    # row-major: camera frames are (height, width, 3); the default column-major would show them transposed
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)
    share_gl_contexts()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(argv or sys.argv[:1])
    app.setApplicationName("livecap")
    return app


def run_app(source: str | None = None, settings_dir: Path | None = None, start: AppStart | None = None) -> int:
    """source: open it and start at once."""
    app = make_app()
    window = MainWindow(settings_dir, start=start)
    # Ctrl-C in the terminal or a SIGTERM closes the window properly: settings saved, recordings completed. (The
    # display timer returns to Python 60 times a second, which is when Python runs signal handlers.)
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: window.close())

    def excepthook(kind, value, tb):  # anything escaping elsewhere: a message, not a vanished window
        log.error("%s", "".join(traceback.format_exception(kind, value, tb)))
        window.show_message(f"{kind.__name__}: {value}", "error")
    sys.excepthook = excepthook
    window.show()
    if source:
        window.source_panel.set_source(source)
        window.start()
    return app.exec()
