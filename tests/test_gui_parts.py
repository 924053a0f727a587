"""The desktop app's pure helpers (no display needed): overlay segments, joint angles, colours, and the command's
message without PyQt6."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest

from gui_support import made_person


def test_overlay_segments_leave_out_unseen_landmarks_and_map_3d_to_z_up():
    from livecap.gui.overlay import BODY_EDGES, BONES, label_position, segments_2d, segments_3d

    person = made_person()
    points = segments_2d(person)
    visible_edges = [(a, b) for a, b in BODY_EDGES if a < 25 and b < 25]
    assert points.shape == (2 * len(visible_edges), 2)
    assert label_position(person) == (60.0, 20.0)
    bones = segments_3d(person)
    assert bones.shape == (2 * len(BONES), 3)
    assert np.allclose(bones[:, 1], 3.0)  # depth becomes the view's y
    person.skeleton.joints3d[:, 1] = 1.0  # below the camera (camera y points down) ...
    person = dataclasses.replace(person, world=None)  # a person's world pose is derived when the person is made
    assert np.allclose(segments_3d(person)[:, 2], -1.0)  # ... is down in the view
    assert segments_3d(dataclasses.replace(person, skeleton=None, world=None)) is None


def test_joint_angles_are_flexion_and_colours_stay_with_ids():
    from livecap.gui.overlay import colour, joint_angles

    assert joint_angles(made_person(arm_bend=0))["L elbow"] == pytest.approx(0, abs=1e-3)
    assert joint_angles(made_person(arm_bend=90))["L elbow"] == pytest.approx(90, abs=1e-3)
    assert joint_angles(made_person())["L knee"] == pytest.approx(0, abs=1e-3)
    assert colour(3) == colour(13) and colour(3) != colour(4)


def test_without_pyqt6_the_command_names_the_install(monkeypatch, capsys):
    from livecap.app import cli

    monkeypatch.setitem(sys.modules, "PyQt6", None)  # import PyQt6 now raises ImportError
    assert cli.main(["gui"]) == 2
    assert 'pip install "livecap[gui]"' in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0
