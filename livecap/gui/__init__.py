"""The livecap desktop app (issue 7): PyQt6 + pyqtgraph. `livecap gui` or `livecap` with no arguments."""

from __future__ import annotations

import os
import sys
from pathlib import Path

INSTALL_HINT = 'the desktop app needs PyQt6, pyqtgraph and PyOpenGL: pip install "livecap[gui]"'


def missing_gui_packages() -> str | None:
    """None when the GUI can run, else the one-line install hint."""
    try:
        import OpenGL  # noqa: F401
        import pyqtgraph  # noqa: F401
        from PyQt6 import QtWidgets  # noqa: F401
    except ImportError:
        return INSTALL_HINT
    return None


def no_display() -> str | None:
    """On Linux without X or Wayland Qt would abort the process with a long message: one line instead."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                                                 or os.environ.get("QT_QPA_PLATFORM")):
        return ("no display to open the window on (DISPLAY is not set): run livecap on a desktop, under "
                "xvfb-run, or use `livecap run` without a window")
    return None


def main(source: str | None = None, settings_dir: str | None = None, start=None) -> int:
    """source: open it and start at once; start: what the config file and the command line set
    (livecap.gui.settings.AppStart)."""
    problem = missing_gui_packages() or no_display()
    if problem:
        print(f"livecap: {problem}", file=sys.stderr)
        return 2
    import logging

    logging.getLogger("OpenGL").setLevel(logging.WARNING)  # PyOpenGL says at INFO that an optional module is absent
    from livecap.gui.launch import run_app

    return run_app(source, Path(settings_dir) if settings_dir else None, start)
