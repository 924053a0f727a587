"""What the desktop app's tests share: the clip they play, waits on the real window, a made-up person (the display, the model
cache and the window itself are conftest.py fixtures)."""

from __future__ import annotations

import math

import numpy as np

from conftest import TWO_PEOPLE
from livecap.types import PersonPose, SkeletonPose

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


def made_person(pid=1, arm_bend=0.0) -> PersonPose:
    """A person with an arm bent by `arm_bend` degrees, legs unseen, 3 m from the camera."""
    from livecap.skeleton import JOINTS

    joints = np.zeros((len(JOINTS), 3), np.float32)
    j = {name: i for i, name in enumerate(JOINTS)}
    joints[:, 2] = 3.0
    joints[j["LeftUpperArm"]] = (0.2, -0.4, 3.0)
    joints[j["LeftLowerArm"]] = (0.5, -0.4, 3.0)
    bend = math.radians(arm_bend)
    joints[j["LeftHand"]] = (0.5 + 0.3 * math.cos(bend), -0.4 - 0.3 * math.sin(bend), 3.0)
    for name, y in (("LeftUpperLeg", 0.0), ("LeftLowerLeg", 0.45), ("LeftFoot", 0.9)):
        joints[j[name]] = (0.1, y, 3.0)
    landmarks = np.zeros((33, 3), np.float32)
    landmarks[:, :2] = np.arange(66).reshape(33, 2)
    landmarks[:, 2] = 1.0
    landmarks[25:, 2] = 0.0  # legs unseen
    offsets = np.zeros((len(JOINTS), 3), np.float32)
    skeleton = SkeletonPose(joints, joints[0], np.tile([0, 0, 0, 1.0], (len(JOINTS), 1)), np.zeros(len(JOINTS)),
                            offsets)
    return PersonPose(pid, 0.9, np.array([10, 20, 110, 220.0]), np.zeros((17, 3)), landmarks, np.zeros((33, 3)),
                      skeleton)
