"""What the desktop app's tests share: the clip they play and waits on the real window (the display, the model
cache and the window itself are conftest.py fixtures)."""

from __future__ import annotations

from conftest import TWO_PEOPLE

VIDEO = TWO_PEOPLE  # 72 frames at 28 fps: 2.6 s played as a camera


def start_video(window, qtbot):
    from PyQt6 import QtCore

    window.source_panel.set_source(str(VIDEO))
    qtbot.mouseClick(window.source_panel.start, QtCore.Qt.MouseButton.LeftButton)
    assert window.runner.phase in ("starting", "running")


def wait_people(window, qtbot, count=2):
    qtbot.waitUntil(lambda: window.people.rowCount() >= count, timeout=60_000)


def wait_end(window, qtbot):
    qtbot.waitUntil(lambda: window.runner.phase in ("ended", "failed", "idle"), timeout=30_000)
