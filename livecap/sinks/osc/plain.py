"""The plain OSC scheme for creative tools (TouchDesigner, Max/MSP, Processing): one bundle per frame.

Addresses (docs/osc.md, "Plain OSC", documents each argument):
  /livecap/frame                    i frame, f time, i people
  /livecap/people                   i id ... (the ids present, none when nobody is)
  /livecap/person/appeared          i id
  /livecap/person/left              i id
  /livecap/person/<id>/score        f score
  /livecap/person/<id>/root         f x, f y, f z, f qx, f qy, f qz, f qw
  /livecap/person/<id>/joint/<name> f x, f y, f z, f confidence
  /livecap/person/<id>/hand/<side>/score          f score        (with hands on; side: left or right)
  /livecap/person/<id>/hand/<side>/<point>        f x, f y, f z, f score   (21 points: wrist, thumb1..4, index1..4,
                                                  middle1..4, ring1..4, pinky1..4; a hand not found sends nothing)
  /livecap/person/<id>/face/score                 f score        (with faces on; a face not found sends nothing)
  /livecap/person/<id>/face/<expression>          f 0..1         (every expression, livecap's names: Blink_L,
                                                  Blink_R, A, I, U, E, O, Joy, jawOpen, mouthSmile, LookUp...)
Flat addresses with several floats each suit TouchDesigner's OSC In CHOP; the whole frame in one bundle keeps a
receiver from mixing two people's or two frames' joints.
"""

from __future__ import annotations

import numpy as np

from livecap.models.blazepose import BLAZEPOSE33
from livecap.pose.fitting.model import LANDMARKS_OF_JOINT
from livecap.sinks.osc import Message, Packet
from livecap.sinks.osc.people import Presence
from livecap.types import FrameResult, PersonPose
from livecap.skeleton import CAMERA_TO_WORLD, HAND_POINT_NAMES, JOINTS, J, FloorEstimator

DEFAULT_PORT = 7000
SPACES = ("camera", "floor")
# shoulders and hips: for joints that no landmark pins
TORSO_LANDMARKS = BLAZEPOSE33.indices("left_shoulder", "right_shoulder", "left_hip", "right_hip")


def joint_confidence(landmarks2d: np.ndarray) -> np.ndarray:
    """Per joint: the lowest visibility of the landmarks that pin it; joints the model places alone (spine,
    chest, shoulders) take the torso's lowest visibility."""
    visibility = np.clip(np.asarray(landmarks2d, np.float64)[:, 2], 0.0, 1.0)
    out = np.full(len(JOINTS), visibility[TORSO_LANDMARKS].min())
    for name, indices in LANDMARKS_OF_JOINT.items():
        out[J[name]] = visibility[list(indices)].min()
    return out


def face_messages(person: PersonPose) -> list[Message]:
    """A face's score and every expression; also for a person seen by their face alone (no skeleton)."""
    prefix = f"/livecap/person/{int(person.id)}/face"
    return [(f"{prefix}/score", (float(person.face.score),))] + [
        (f"{prefix}/{name}", (float(value),)) for name, value in person.face.expressions.items()]


class PlainEncoder:
    def __init__(self, space: str = "camera"):
        if space not in SPACES:
            raise ValueError(f"unknown OSC space {space!r}: use camera or floor")
        self.space = space
        self.presence = Presence()
        self.floor = FloorEstimator()

    def encode(self, result: FrameResult) -> list[Packet]:
        ids = [p.id for p in result.people]
        appeared, left = self.presence.update(ids)
        messages: list[Message] = [("/livecap/frame", (int(result.index), float(result.time), len(ids))),
                                   ("/livecap/people", tuple(int(i) for i in ids))]
        messages += [("/livecap/person/appeared", (int(i),)) for i in appeared]
        messages += [("/livecap/person/left", (int(i),)) for i in left]
        fitted = [p for p in result.people if p.skeleton is not None]
        for person, (positions, root_rotation) in zip(fitted, self._placed(fitted)):
            messages += self.person_messages(person, positions, root_rotation)
            messages += self.hand_messages(person)
        messages += [m for person in result.people if person.face is not None for m in face_messages(person)]
        return [(0, messages)]

    def hand_messages(self, person: PersonPose) -> list[Message]:
        """Each hand found: its score and its 21 points (metres, in the stream's space) with that score."""
        out: list[Message] = []
        for side, hand in person.hands.items():
            if hand is None:
                continue
            points = np.asarray(hand.world, np.float64)
            if self.space == "floor":
                points = points @ CAMERA_TO_WORLD.T - (0.0, self.floor.height or 0.0, 0.0)
            prefix = f"/livecap/person/{int(person.id)}/hand/{side}"
            out.append((f"{prefix}/score", (float(hand.score),)))
            out += [(f"{prefix}/{name}", (*map(float, points[k]), float(hand.landmarks2d[k, 2])))
                    for k, name in enumerate(HAND_POINT_NAMES)]
        return out

    def _placed(self, people: list[PersonPose]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each person's joint positions and root rotation in the chosen space."""
        if self.space == "camera":
            return [(np.asarray(p.skeleton.joints3d, np.float64), np.asarray(p.skeleton.rotations[0], np.float64))
                    for p in people]
        poses = [p.world for p in people]
        floor_y = self.floor.update(poses)
        return [(pose.positions - (0.0, floor_y, 0.0), pose.world[0]) for pose in poses]

    @staticmethod
    def person_messages(person: PersonPose, positions: np.ndarray, root_rotation: np.ndarray) -> list[Message]:
        prefix = f"/livecap/person/{int(person.id)}"
        confidence = joint_confidence(person.landmarks2d)
        out: list[Message] = [(f"{prefix}/score", (float(person.score),)),
                              (f"{prefix}/root", (*map(float, positions[0]), *map(float, root_rotation)))]
        for j, name in enumerate(JOINTS):
            out.append((f"{prefix}/joint/{name}", (*map(float, positions[j]), float(confidence[j]))))
        return out
