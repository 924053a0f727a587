"""VMC protocol performer messages (ecosystem notes section 1): one bundle per frame and avatar.

Per frame and destination: /VMC/Ext/Root/Pos, /VMC/Ext/Bone/Pos for each of the 21 humanoid bones livecap fits
(with hands on, also the 15 finger bones of each hand found in this frame: a hand not found is not sent, so the
receiver keeps its last pose), then /VMC/Ext/OK and /VMC/Ext/T. Bone rotations are local (parent-relative) and
identity is the VRM T-pose, which is also livecap's rest pose, so they go out as they are after the handedness
change (livecap.sinks.osc.unity). Bone positions are the person's own rest offsets, so a receiver that syncs bone
positions (EVMC4U's default) gets a plausible skeleton instead of a collapsed one. The root stands on the floor
under the hips, relative to where the person was first seen, so the avatar starts at the receiver's origin; the
Hips sit at the measured hip height above the floor.

With faces on, where the followed person's face is seen: LeftEye and RightEye Bone/Pos from the gaze (when the
irises were measured: livecap.pose.head.eye_rotations), then /VMC/Ext/Blend/Val for every expression under the
chosen names (VRM 0.x presets by default, as the protocol asks of senders; VRM 1.0 or ARKit's "perfect sync" names
on request), then one /VMC/Ext/Blend/Apply. A frame without the face sends no blendshapes, so the receiver keeps
the last ones. A person seen by their face alone (a close-up, no body) is followed too: blendshapes only.
"""

from __future__ import annotations

import numpy as np

from livecap.pose.expressions import named
from livecap.pose.head import eye_rotations
from livecap.sinks.osc import Message, Packet
from livecap.sinks.osc.people import PersonChooser, SlotAssigner
from livecap.sinks.osc.unity import unity_position, unity_quaternion
from livecap.types import FacePose, FrameResult
from livecap.skeleton import EYE_JOINTS, EYE_OFFSETS, FINGER_JOINTS, JOINTS, FloorEstimator, WorldPose

DEFAULT_PORT = 39539
LOADED = 1  # /VMC/Ext/OK: the avatar is loaded (the v1 form every receiver reads)
BLENDSHAPE_NAMES = ("vrm0", "vrm1", "arkit")  # livecap.pose.expressions.named's schemes a receiver can take


def _floats(values) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def bone_messages(pose: WorldPose, floor_y: float, anchor: np.ndarray) -> list[Message]:
    """Root/Pos and every Bone/Pos of one person, in Unity's frame."""
    hips = pose.positions[0]
    root = unity_position([hips[0] - anchor[0], 0.0, hips[2] - anchor[1]])
    messages: list[Message] = [("/VMC/Ext/Root/Pos", ("root", *_floats(root), 0.0, 0.0, 0.0, 1.0))]
    offsets = unity_position(pose.offsets)
    offsets[0] = (0.0, hips[1] - floor_y, 0.0)  # the Hips' position in the root's (floor) frame
    rotations = unity_quaternion(pose.local)
    for j, name in enumerate(JOINTS):
        messages.append(("/VMC/Ext/Bone/Pos", (name, *_floats(offsets[j]), *_floats(rotations[j]))))
    return messages + finger_messages(pose)


def finger_messages(pose: WorldPose) -> list[Message]:
    """Bone/Pos of every finger bone of each hand found in this frame (local rotations, rest offsets, Unity axes)."""
    fingers = pose.fingers
    if fingers is None:
        return []
    offsets, rotations = unity_position(fingers.offsets), unity_quaternion(fingers.local)
    bones_per_hand = len(FINGER_JOINTS) // 2
    return [("/VMC/Ext/Bone/Pos", (name, *_floats(offsets[b]), *_floats(rotations[b])))
            for b, name in enumerate(FINGER_JOINTS) if fingers.present[("left", "right")[b // bones_per_hand]]]


def face_messages(face: FacePose, names: str = "vrm0") -> list[Message]:
    """The eye bones (where the irises were measured), every blendshape under the scheme `names`, then Apply."""
    out: list[Message] = []
    eyes = eye_rotations(face)
    if eyes is not None:
        offsets, rotations = unity_position(EYE_OFFSETS), unity_quaternion(eyes)
        out += [("/VMC/Ext/Bone/Pos", (bone, *_floats(offsets[k]), *_floats(rotations[k])))
                for k, bone in enumerate(EYE_JOINTS)]
    out += [("/VMC/Ext/Blend/Val", (name, float(value))) for name, value in named(face.expressions, names).items()]
    return out + [("/VMC/Ext/Blend/Apply", ())]


def status_messages(time: float) -> list[Message]:
    return [("/VMC/Ext/OK", (LOADED,)), ("/VMC/Ext/T", (float(time),))]


class VmcEncoder:
    """FrameResults -> VMC bundles: one chosen person on slot 0, or (all_people) each person on their own slot,
    i.e. their own port. A stream whose person is absent still sends OK and T, so the receiver keeps its avatar."""

    def __init__(self, person: int | None = None, all_people: bool = False, blendshapes: str = "vrm0"):
        if blendshapes not in BLENDSHAPE_NAMES:
            raise ValueError(f"unknown blendshape names {blendshapes!r}: use {', '.join(BLENDSHAPE_NAMES)}")
        self.blendshapes = blendshapes
        self.chooser = PersonChooser(person)
        self.slots = SlotAssigner() if all_people else None
        self.floor = FloorEstimator()
        self.anchors: dict[int, np.ndarray] = {}  # person id -> hips x, z when first seen

    def encode(self, result: FrameResult) -> list[Packet]:
        poses = {p.id: p.world for p in result.people if p.world is not None}
        faces = {p.id: p.face for p in result.people if p.face is not None}
        seen = sorted(set(poses) | set(faces))  # a close-up is followed by its face alone
        floor_y = self.floor.update(list(poses.values()))
        if self.slots is not None:
            targets = [(slot, person) for person, slot in sorted(self.slots.assign(seen).items())]
        else:
            targets = [(0, self.chooser.choose(seen))]
        for gone in set(self.anchors) - set(poses):
            del self.anchors[gone]
        packets = []
        for slot, person in targets:
            messages = []
            if person in poses:
                anchor = self.anchors.setdefault(person, poses[person].positions[0, [0, 2]].copy())
                messages = bone_messages(poses[person], floor_y, anchor)
            if person in faces:
                messages += face_messages(faces[person], self.blendshapes)
            packets.append((slot, messages + status_messages(result.time)))
        return packets
