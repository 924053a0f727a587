"""The desktop app with faces (issue 27), driven for real under Xvfb on two_people played as a camera: the Face
switch (the preset's default, applied at Start, the face models loaded), each face's mesh outlines on the video,
the selected person's expression bars and the Neutral face button reaching the running engine."""

from __future__ import annotations

import json

import numpy as np

from gui_support import start_video, wait_end
from livecap.facemesh import FACE_EDGES
from livecap.gui.face_panel import shown_face
from livecap.pose.expressions import NAMES


def test_the_face_switch_draws_each_face_and_the_selected_persons_expressions(make_window, qtbot, tmp_path):
    from PyQt6 import QtCore

    window = make_window()
    sp, panel = window.source_panel, window.face_panel
    assert not sp.face.isChecked() and not panel.isVisible()  # balanced: faces off by default, no expression bars
    sp.preset.setCurrentText("accurate")
    assert sp.face.isChecked() and panel.isVisible()  # accurate: on
    sp.preset.setCurrentText("balanced")
    sp.face.setChecked(True)
    start_video(window, qtbot)
    qtbot.waitUntil(lambda: window.runner.phase == "running", timeout=120_000)
    engine = window.runner.engine
    assert engine.config.pipeline.face_on and engine.models.face is not None and not sp.face.isEnabled()

    def face_drawn() -> bool:
        return any(c.isVisible() and c.getData()[0] is not None and len(c.getData()[0]) == 2 * len(FACE_EDGES)
                   for c in window.video.face_curves)

    qtbot.waitUntil(face_drawn, timeout=30_000)
    qtbot.waitUntil(lambda: panel.person_id is not None, timeout=10_000)
    assert panel.title.text() == f"face of #{panel.person_id}"
    assert panel.values.shape == (len(NAMES),) and ((panel.values >= 0) & (panel.values <= 1)).all()
    shown = np.concatenate([bars.opts["width"] for bars in panel.bars])
    assert sorted(shown) == sorted(panel.values)  # every expression has its bar

    qtbot.mouseClick(panel.neutral, QtCore.Qt.MouseButton.LeftButton)
    assert engine._reset_faces.is_set() or window.runner.phase != "running"
    qtbot.waitUntil(lambda: not engine._reset_faces.is_set() or window.runner.phase != "running", timeout=10_000)
    wait_end(window, qtbot)
    window.save_settings()
    assert json.loads((tmp_path / "settings" / "gui.json").read_text())["face"] is True


def test_the_bars_show_the_selected_person_else_the_lowest_id_with_a_face():
    from gui_support import made_person
    from livecap.types import FacePose

    def with_face(pid):
        person = made_person(pid)
        person.face = FacePose(0.9, np.zeros((478, 3), np.float32), np.eye(3), dict.fromkeys(NAMES, 0.5))
        return person

    people = [made_person(1), with_face(3), with_face(2)]
    assert shown_face(people, None).id == 2
    assert shown_face(people, 3).id == 3
    assert shown_face(people, 1) is None  # selected, face not seen: no one else's face instead
