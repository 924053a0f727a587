"""Starts the real app under Xvfb on a video, waits until people are tracked, and saves a picture of the window.

    python tools/screenshot.py --source VIDEO --out docs/screenshot.png

The app runs with a throwaway settings folder, so the user's own settings are neither used nor changed."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def _wait(app, condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return False


def take(source: str, out: Path, people: int = 2, frame: int = 40, width: int = 1280, timeout: float = 120,
         hands: bool = False) -> Path:
    from PyQt6 import QtCore

    from livecap.gui.app import MainWindow
    from livecap.gui.launch import make_app

    app = make_app()
    with tempfile.TemporaryDirectory() as settings:
        window = MainWindow(Path(settings))
        window.resize(1500, 900)
        window.show()
        window.source_panel.set_source(source)
        window.source_panel.hands.setChecked(hands)
        window.start()
        ok = _wait(app, lambda: window.people.rowCount() >= people and window._shown is not None
                   and window._shown.index >= frame, timeout)
        if not ok:
            raise SystemExit(f"screenshot: {people} people were not seen in {timeout:.0f} s "
                             f"(state {window.runner.phase}: {window.runner.message})")
        window.people.select_id(window.people.ids[0])  # shows a selected person being followed
        _wait(app, lambda: False, 0.3)  # the 4 Hz panels catch up
        image = window.grab_picture()
        if width and image.width() > width:
            image = image.scaledToWidth(width, QtCore.Qt.TransformationMode.SmoothTransformation)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(out)):
            raise SystemExit(f"screenshot: could not write {out}")
        window.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="video file (played as a camera)")
    parser.add_argument("--out", default="docs/screenshot.png", help="PNG to write")
    parser.add_argument("--people", type=int, default=2, help="wait until this many people are in the panel")
    parser.add_argument("--width", type=int, default=1280, help="scale the picture down to this width (0: keep)")
    parser.add_argument("--display", action="store_true", help="use the current display instead of a new Xvfb")
    parser.add_argument("--hands", action="store_true", help="with the Hands switch on")
    parser.add_argument("--frame", type=int, default=40, help="the source frame to show, at least")
    args = parser.parse_args(argv)
    if not (args.display and os.environ.get("DISPLAY")):
        from xvfb import Xvfb

        Xvfb().start()  # ends with this process
    from livecap.gui.launch import share_gl_contexts

    share_gl_contexts()
    path = take(args.source, Path(args.out), args.people, args.frame, width=args.width, hands=args.hands)
    print(f"screenshot: {path} ({path.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
