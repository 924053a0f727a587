"""The livecap desktop app (issue 7): PyQt6 + pyqtgraph. `livecap gui` or `livecap` with no arguments."""

from __future__ import annotations

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


def main(source: str | None = None, settings_dir: str | None = None) -> int:
    hint = missing_gui_packages()
    if hint:
        print(f"livecap: {hint}", file=sys.stderr)
        return 2
    from livecap.gui.app import run_app

    return run_app(source, Path(settings_dir) if settings_dir else None)
