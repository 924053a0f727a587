"""The desktop app's window, driven for real under Xvfb: the real engine on real video (played as a camera), each
person in the table, on the video and in 3D, hands and fingers, keys, and errors shown in the window."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from conftest import VTEST
from gui_support import start_video, wait_end, wait_people


def test_a_video_shows_each_person_in_the_panel_on_the_video_and_in_3d(make_window, qtbot):
    window = make_window()
    start_video(window, qtbot)
    assert window.source_panel.progress.isVisible() or window.runner.phase == "running"
    wait_people(window, qtbot)
    assert window.people.ids == sorted(window.people.ids) and len(window.people.ids) == 2
    heights = [window.people.item(row, 2).text() for row in range(2)]
    assert all(h.endswith(" m") and 1.2 < float(h.split()[0]) < 2.2 for h in heights), heights
    assert window.video.image.image is not None
    assert window.video.image.mapRectToParent(window.video.image.boundingRect()).width() == pytest.approx(1920)
    assert sum(c.isVisible() for c in window.video.curves) == 2
    assert sum(label.isVisible() for label in window.video.labels) == 2
    assert sum(item.visible() for item in window.skeletons.lines) == 2
    qtbot.waitUntil(lambda: "fps" in window.status_labels["fps"].text(), timeout=5000)
    assert window.status_labels["provider"].text() in ("CPU", "CUDA")
    assert "1920x1080" in window.status_labels["mode"].text()
    assert window.latency.curves, "no per-stage latency plotted"
    window.skeletons.follow_id = window.people.ids[0]
    window.reset_view.click()
    wait_end(window, qtbot)
    assert window.runner.phase == "ended" and window.isVisible()


def colours_drawn_in_3d(window, tolerance: int = 20, least: int = 15) -> set[tuple[int, int, int]]:
    """The people colours the 3D view really shows: its GL picture rendered now, searched for each palette colour
    (at least `least` pixels of it)."""
    from PyQt6 import QtGui

    from livecap.gui.overlay import PALETTE

    image = window.skeletons.scene.grabFramebuffer().convertToFormat(QtGui.QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint8).reshape(image.height(), -1)
    pixels = rows[:, :image.width() * 3].reshape(image.height(), image.width(), 3).astype(int)
    return {c for c in PALETTE if (np.abs(pixels - c).max(axis=-1) <= tolerance).sum() >= least}


def test_every_tracked_person_with_a_fitted_skeleton_is_drawn_in_3d(make_window, qtbot):
    """vtest.avi: three to six people at once, walking 6 to 18 m from the camera and up to 15 m apart, coming and
    going. At several moments (the engine paused, the table caught up with the picture) every person the table
    lists with a fitted skeleton is in the 3D view's rendered picture, in their colour, and nobody else is."""
    from livecap.gui.overlay import colour

    window = make_window()
    window.source_panel.set_source(str(VTEST))
    window.start()

    def listed_fitted() -> list[int]:  # rows with a height: a fitted skeleton
        return [pid for row, pid in enumerate(window.people.ids) if window.people.item(row, 2).text() != "-"]

    def table_shows_latest() -> bool:  # and so does the 3D view: the two refresh on timers of their own
        latest = window.runner.latest()
        return (latest is not None and window.people.ids == sorted(p.id for p in latest[1].people)
                and window._shown is latest[1])

    checked, last_frame = [], -1
    while len(checked) < 4:
        qtbot.waitUntil(lambda: window.runner.phase not in ("starting", "running") or (
            len(listed_fitted()) >= 3 and window.runner.latest()[1].index >= last_frame + 30), timeout=120_000)
        assert window.runner.phase == "running", f"the video ended after {checked} people were checked"
        window.runner.engine.pause()
        qtbot.waitUntil(table_shows_latest, timeout=10_000)
        listed = {colour(pid) for pid in listed_fitted()}
        drawn = colours_drawn_in_3d(window)
        assert drawn == listed, f"frame {window.runner.latest()[1].index}: people {listed_fitted()} listed"
        checked.append(len(listed_fitted()))
        last_frame = window.runner.latest()[1].index
        window.runner.engine.resume()
    window.stop()
    print(f"people listed and drawn at {len(checked)} moments: {checked}")


def test_the_hands_switch_draws_every_hand_found_on_the_video_and_in_3d(make_window, qtbot, tmp_path):
    window = make_window()
    sp = window.source_panel
    assert not sp.hands.isChecked()  # balanced: hands off by default
    sp.preset.setCurrentText("accurate")
    assert sp.hands.isChecked()  # accurate: on
    sp.preset.setCurrentText("balanced")
    sp.hands.setChecked(True)
    start_video(window, qtbot)
    qtbot.waitUntil(lambda: window.runner.phase == "running", timeout=60_000)
    assert window.runner.engine.config.pipeline.hands_on and not sp.hands.isEnabled()
    body_points = 2 * 20  # the body's 20 bones
    qtbot.waitUntil(lambda: any(curve.getData()[0] is not None and len(curve.getData()[0]) >= 2 * 21
                                for curve in window.video.hand_curves)
                    and any(item.visible() and len(item.pos) > body_points for item in window.skeletons.lines),
                    timeout=30_000)
    wait_end(window, qtbot)
    window.save_settings()
    assert json.loads((tmp_path / "settings" / "gui.json").read_text())["hands"] is True


def test_keys_typed_into_the_3d_view_reach_the_shortcuts(make_window, tmp_path):
    from PyQt6 import QtCore, QtGui

    window = make_window()
    window.record_panel.folder.setText(str(tmp_path / "takes"))
    press = QtGui.QKeyEvent(QtCore.QEvent.Type.KeyPress, QtCore.Qt.Key.Key_R, QtCore.Qt.KeyboardModifier.NoModifier)
    QtCore.QCoreApplication.sendEvent(window.skeletons.scene, press)  # a native GL window: not seen by QShortcut
    assert window.record_panel.record.isChecked() and "start with the engine" in window.last_message[1]
    QtCore.QCoreApplication.sendEvent(window.skeletons.scene, press)
    assert not window.record_panel.record.isChecked()


def test_a_bad_source_is_a_message_in_the_window_not_a_crash(make_window, qtbot, tmp_path):
    window = make_window()
    window.source_panel.set_source(str(tmp_path / "missing.mp4"))
    window.start()
    qtbot.waitUntil(lambda: window.runner.phase == "failed", timeout=60_000)
    qtbot.waitUntil(lambda: window.message.isVisible(), timeout=2000)
    level, text = window.last_message
    assert level == "error" and "missing.mp4" in text
    assert window.isVisible() and not window.source_panel.start.isChecked()
    assert window.source_panel.source.isEnabled()
    window.source_panel.set_source("")
    window.source_panel.start.click()  # no source: a message again
    assert window.last_message[0] == "error" and "source" in window.last_message[1]


def test_stop_while_loading_leaves_no_engine_running(make_window, qtbot):
    window = make_window()
    start_video(window, qtbot)
    window.source_panel.start.click()  # at once, while models load and the fit warms up
    assert window.runner.phase == "idle" and window.source_panel.source.isEnabled()

    def engine_threads():
        return [t for t in threading.enumerate() if t.name in ("livecap-capture", "livecap-inference")]
    qtbot.waitUntil(lambda: not any(t.name == "livecap-gui-start" for t in threading.enumerate()), timeout=30_000)
    qtbot.waitUntil(lambda: not engine_threads(), timeout=10_000)
    assert window.runner.engine is None


def test_a_person_lost_for_a_moment_is_dashed_on_the_video_and_lost_in_the_table(display, qtbot):
    """A predicted person (lost for up to 0.2 s, drawn where their motion takes them) is told apart from the people
    seen: a dashed outline on the video, "lost" for a confidence in the people table; seen again, solid."""
    import dataclasses

    from PyQt6 import QtCore
    from gui_support import made_person

    from livecap.gui.people_panel import PeoplePanel
    from livecap.gui.video_view import VideoView

    video, table = VideoView(), PeoplePanel()
    qtbot.addWidget(video)
    qtbot.addWidget(table)
    image = np.zeros((240, 320, 3), np.uint8)
    seen = made_person()
    for person, style, confidence in ((seen, QtCore.Qt.PenStyle.SolidLine, "0.90"),
                                      (dataclasses.replace(seen, predicted=True), QtCore.Qt.PenStyle.DashLine, "lost"),
                                      (seen, QtCore.Qt.PenStyle.SolidLine, "0.90")):
        video.show_frame(image, [person], force=True)
        table.update_people([person])
        assert video.curves[0].opts["pen"].style() == style
        assert table.item(0, 1).text() == confidence
