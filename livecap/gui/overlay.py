"""Pure helpers that turn results into what the views draw: line-segment arrays, colours, joint angles, heights.
No Qt here, so they are tested without a display, and the views stay thin."""

from __future__ import annotations

import math

import numpy as np

from livecap.facemesh import FACE_EDGES
from livecap.fingers import BONES_PER_HAND, HAND_EDGES, SIDE_NAMES, SIDES
from livecap.models.blazepose import BLAZEPOSE33
from livecap.types import PersonPose
from livecap.skeleton import PARENTS, J, skeleton_height

# Distinct, readable on video and on a dark 3D background (Tableau 10, slightly brightened)
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))

# The body's outline: face, arms, torso, legs and feet (the hand fingers are left out: too small to read at video
# scale and they double the segment count), by the names of the published landmarks' scheme
BODY_OUTLINE = (
    ("nose", "left_eye_inner"), ("left_eye_inner", "left_eye"), ("left_eye", "left_eye_outer"),
    ("left_eye_outer", "left_ear"), ("nose", "right_eye_inner"), ("right_eye_inner", "right_eye"),
    ("right_eye", "right_eye_outer"), ("right_eye_outer", "right_ear"), ("mouth_left", "mouth_right"),
    ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"), ("left_wrist", "left_index"),
    ("right_wrist", "right_index"), ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_hip", "right_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("right_hip", "right_knee"),
    ("right_knee", "right_ankle"), ("left_ankle", "left_heel"), ("left_heel", "left_foot_index"),
    ("left_ankle", "left_foot_index"), ("right_ankle", "right_heel"), ("right_heel", "right_foot_index"),
    ("right_ankle", "right_foot_index"))
BODY_EDGES = np.array([BLAZEPOSE33.indices(*edge) for edge in BODY_OUTLINE], np.intp)
VISIBLE = 0.3  # landmark visibility below which a segment is not drawn

BONES = np.array([(p, j) for j, p in enumerate(PARENTS) if p >= 0], np.intp)
# (name, joint before, the hinge, joint after): flexion is 0 for a straight limb
ANGLES = (("L elbow", "LeftUpperArm", "LeftLowerArm", "LeftHand"),
          ("R elbow", "RightUpperArm", "RightLowerArm", "RightHand"),
          ("L knee", "LeftUpperLeg", "LeftLowerLeg", "LeftFoot"),
          ("R knee", "RightUpperLeg", "RightLowerLeg", "RightFoot"))


def colour(person_id: int) -> tuple[int, int, int]:
    """A person's colour, the same in every view and for as long as the id lives."""
    return PALETTE[person_id % len(PALETTE)]


def segments_2d(person: PersonPose) -> np.ndarray:
    """(2K x 2) float array of image-pixel points, consecutive pairs forming the visible skeleton segments."""
    points = np.asarray(person.landmarks2d, np.float32)
    edges = BODY_EDGES
    keep = (points[edges[:, 0], 2] >= VISIBLE) & (points[edges[:, 1], 2] >= VISIBLE)
    return points[edges[keep].reshape(-1), :2]


def hand_segments_2d(person: PersonPose) -> np.ndarray:
    """(2K x 2) image-pixel points, consecutive pairs forming the segments of every hand found (none when hands are
    off or no hand was found)."""
    hands = [np.asarray(hand.landmarks2d, np.float32) for hand in person.hands.values() if hand is not None]
    if not hands:
        return np.zeros((0, 2), np.float32)
    return np.concatenate([points[HAND_EDGES.reshape(-1), :2] for points in hands])


def face_segments_2d(person: PersonPose) -> np.ndarray:
    """(2K x 2) image-pixel points, consecutive pairs forming the outlines of the face's mesh (facemesh.FACE_EDGES;
    none where no face was found)."""
    if person.face is None:
        return np.zeros((0, 2), np.float32)
    return np.asarray(person.face.landmarks2d, np.float32)[FACE_EDGES.reshape(-1), :2]


def finger_segments_3d(person: PersonPose) -> np.ndarray:
    """(2B x 3) display-space points, consecutive pairs forming the finger bones of each hand fitted in this frame
    (hand -> knuckle -> ... -> fingertip)."""
    fingers = person.world.fingers if person.world is not None else None
    if fingers is None or fingers.tips is None:
        return np.zeros((0, 3), np.float32)
    pairs = []
    for k, side in enumerate(SIDES):
        if not fingers.present[side]:
            continue
        hand = person.world.positions[J[f"{SIDE_NAMES[side]}Hand"]]
        bones = fingers.positions[k * BONES_PER_HAND:(k + 1) * BONES_PER_HAND]
        for f in range(len(bones) // 3):
            chain = [hand, *bones[3 * f:3 * f + 3], fingers.tips[k * 5 + f]]
            pairs += [point for a, b in zip(chain, chain[1:]) for point in (a, b)]
    return world_to_display(np.array(pairs)) if pairs else np.zeros((0, 3), np.float32)


def label_position(person: PersonPose) -> tuple[float, float]:
    """Where the id label goes: above the person's box."""
    x1, y1, x2, _ = (float(v) for v in person.bbox)
    return (x1 + x2) / 2, y1


def world_to_display(points: np.ndarray) -> np.ndarray:
    """World space (livecap.skeleton: x right, y up, z towards the camera) to the 3D view's Z-up axes: x right,
    y away from the camera, z up."""
    points = np.asarray(points, np.float32)
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], axis=-1)


def segments_3d(person: PersonPose) -> np.ndarray | None:
    """(2B x 3) display-space points, consecutive pairs forming the fitted skeleton's bones (with its finger bones,
    when hands are on); None before a fit."""
    if person.world is None:
        return None
    return np.concatenate([world_to_display(person.world.positions)[BONES.reshape(-1)], finger_segments_3d(person)])


def flexion_degrees(joints3d: np.ndarray, before: int, hinge: int, after: int) -> float:
    """The angle between the two bones meeting at a hinge, 0 for a straight limb."""
    a = joints3d[hinge] - joints3d[before]
    b = joints3d[after] - joints3d[hinge]
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    if denom < 1e-9:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b) / denom, -1.0, 1.0))))


def joint_angles(person: PersonPose) -> dict[str, float]:
    """Elbow and knee flexion in degrees (NaN before the first fit)."""
    if person.skeleton is None:
        return {name: float("nan") for name, *_ in ANGLES}
    joints = np.asarray(person.skeleton.joints3d, np.float64)
    return {name: flexion_degrees(joints, J[a], J[b], J[c]) for name, a, b, c in ANGLES}


def height_m(person: PersonPose) -> float:
    """Standing height from the fitted bone lengths, by the fitter's own rule (NaN before the first fit)."""
    if person.skeleton is None:
        return float("nan")
    return skeleton_height(np.asarray(person.skeleton.offsets, np.float64))


def floor_level(people: list[PersonPose]) -> float | None:
    """The display z of the lowest foot among the fitted people (the floor, with a level camera)."""
    lows = [p.world.lowest_foot for p in people if p.world is not None]
    return min(lows) if lows else None


def root_display(person: PersonPose) -> np.ndarray | None:
    return world_to_display(person.world.root) if person.world is not None else None


def sphere_distance(points: np.ndarray, centre: np.ndarray, fov_deg: float, aspect: float,
                    margin: float = 1.15) -> float:
    """The orbit distance from `centre` at which a view with this horizontal field of view and aspect (width /
    height) sees every point whatever its orbit angles: the points' enclosing sphere fits the narrower angle."""
    radius = float(np.linalg.norm(np.asarray(points, np.float64) - centre, axis=1).max())
    half = math.atan(math.tan(math.radians(fov_deg) / 2) / max(aspect, 1.0))  # narrower half-angle of the two
    return margin * radius / math.sin(half)


def framing(points: np.ndarray, fov_deg: float, aspect: float, nearest: float = 2.5) -> tuple[np.ndarray, float]:
    """Centre and orbit distance that show every point (display space): the middle of their bounding box, and far
    enough for all of them, never nearer than `nearest` metres (one person fills the view, no more)."""
    points = np.asarray(points, np.float64)
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    return centre, max(nearest, sphere_distance(points, centre, fov_deg, aspect))
