"""VRChat OSC trackers (ecosystem notes section 2) for one chosen person.

/tracking/trackers/<n>/position and /rotation: Unity axes, metres, Euler degrees in Unity's order. Tracker numbers
follow SlimeVR's de-facto mapping, which other tools rely on; VRChat itself gives numbers no role.
Positions are in floor space (y = 0 on the estimated floor) relative to where the person was first seen, and
optionally scaled so the fitted person's height becomes the performer's real height (VRChat wants 1.0 = 1 m of
the real world). /tracking/trackers/head/position and /rotation (yaw only) let VRChat align the tracking space
with the avatar's head.
"""

from __future__ import annotations

import numpy as np

from livecap.sinks.osc import Message, Packet
from livecap.sinks.osc.people import PersonChooser
from livecap.sinks.osc.unity import unity_euler_degrees, unity_position, unity_quaternion
from livecap.skeleton import J, FloorEstimator, WorldPose, skeleton_height
from livecap.types import FrameResult

DEFAULT_PORT = 9000
TRACKERS = {  # role -> (tracker number, joint)
    "hips": [(1, "Hips")],
    "feet": [(2, "LeftFoot"), (3, "RightFoot")],
    "knees": [(4, "LeftLowerLeg"), (5, "RightLowerLeg")],
    "chest": [(6, "Chest")],
    "elbows": [(7, "LeftLowerArm"), (8, "RightLowerArm")],
}
DEFAULT_ROLES = ("hips", "feet")  # VRChat: "you may get better behavior sending only feet and hips"


def _floats(values) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


class VrchatEncoder:
    def __init__(self, person: int | None = None, roles=DEFAULT_ROLES, height: float | None = None,
                 head: bool = True):
        unknown = set(roles) - set(TRACKERS)
        if unknown:
            raise ValueError(f"unknown VRChat tracker role(s) {sorted(unknown)}: use {', '.join(TRACKERS)}")
        self.trackers = sorted(t for role in roles for t in TRACKERS[role])
        self.chooser = PersonChooser(person)
        self.height = height
        self.head = head
        self.floor = FloorEstimator()
        self.anchor: tuple[int, np.ndarray] | None = None  # (person id, hips x, z when first seen)

    def encode(self, result: FrameResult) -> list[Packet]:
        poses = {p.id: p.world for p in result.people if p.world is not None}
        floor_y = self.floor.update(list(poses.values()))
        person = self.chooser.choose(sorted(poses))
        if person is None:
            return []
        pose = poses[person]
        if self.anchor is None or self.anchor[0] != person:
            self.anchor = (person, pose.positions[0, [0, 2]].copy())
        return [(0, self.messages(pose, floor_y, self.anchor[1]))]

    def to_tracking_space(self, pose: WorldPose, floor_y: float, anchor: np.ndarray) -> np.ndarray:
        """Every joint in VRChat's tracking space (Unity axes, metres, feet on y = 0)."""
        local = pose.positions - (anchor[0], floor_y, anchor[1])
        if self.height:
            local = local * (self.height / skeleton_height(pose.offsets))
        return unity_position(local)

    def messages(self, pose: WorldPose, floor_y: float, anchor: np.ndarray) -> list[Message]:
        positions = self.to_tracking_space(pose, floor_y, anchor)
        rotations = unity_quaternion(pose.world)
        out: list[Message] = []
        for number, joint in self.trackers:
            out.append((f"/tracking/trackers/{number}/position", _floats(positions[J[joint]])))
            out.append((f"/tracking/trackers/{number}/rotation", unity_euler_degrees(rotations[J[joint]])))
        if self.head:
            _, yaw, _ = unity_euler_degrees(rotations[J["Head"]])
            out.append(("/tracking/trackers/head/position", _floats(positions[J["Head"]])))
            out.append(("/tracking/trackers/head/rotation", (0.0, yaw, 0.0)))  # VRChat uses the yaw only
        return out
