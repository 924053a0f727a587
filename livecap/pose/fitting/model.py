"""The fitted body model: which joints move how, their limits, and where the landmarks pin them.

Rest pose and axes follow livecap.skeleton: T-pose facing +Z, Y up, X to the person's left, metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.spatial.transform import Rotation

from livecap.keypoints import KeypointScheme
from livecap.models.blazepose import BLAZEPOSE33
from livecap.skeleton import JOINTS, PARENTS, J, body_height

NUM_JOINTS = len(JOINTS)
ROOT_PARAMS = 6  # translation + rotation vector

# degrees of freedom per joint: 3 ball, 1 hinge, 0 locked (leaves, clavicles, and the root's own local rotation)
DOF = np.zeros(NUM_JOINTS, np.int64)
for _name in ("Spine", "Chest", "Neck", "LeftUpperArm", "RightUpperArm", "LeftUpperLeg", "RightUpperLeg",
              "LeftFoot", "RightFoot"):
    DOF[J[_name]] = 3
for _name in ("LeftLowerArm", "RightLowerArm", "LeftLowerLeg", "RightLowerLeg"):
    DOF[J[_name]] = 1
DOF_START = (ROOT_PARAMS + np.concatenate([[0], np.cumsum(DOF)[:-1]])).astype(np.int64)
NUM_PARAMS = ROOT_PARAMS + int(DOF.sum())

# hinge axes in the joint's rest frame: positive angles flex elbows forward (+Z) and knees backward (-Z)
HINGE_AXES = np.zeros((NUM_JOINTS, 3))
HINGE_AXES[J["LeftLowerArm"]] = (0, -1, 0)
HINGE_AXES[J["RightLowerArm"]] = (0, 1, 0)
HINGE_AXES[J["LeftLowerLeg"]] = (1, 0, 0)
HINGE_AXES[J["RightLowerLeg"]] = (1, 0, 0)

# Limits in radians per rotation-vector component (x: flexion about the person's left axis, y: twist about up,
# z: sideways), from clinical ranges (ecosystem notes section 7.3) shifted to the T-pose rest, with ~10 deg slack.
_LIMITS = {
    "Spine": [(-0.5, 0.9), (-0.6, 0.6), (-0.5, 0.5)],
    "Chest": [(-0.5, 0.9), (-0.6, 0.6), (-0.5, 0.5)],
    "Neck": [(-0.9, 1.0), (-1.4, 1.4), (-0.8, 0.8)],
    "LeftUpperArm": [(-2.9, 2.9), (-2.9, 2.9), (-2.9, 2.9)],
    "RightUpperArm": [(-2.9, 2.9), (-2.9, 2.9), (-2.9, 2.9)],
    "LeftLowerArm": [(-0.2, 2.7)],
    "RightLowerArm": [(-0.2, 2.7)],
    "LeftUpperLeg": [(-2.4, 0.7), (-1.0, 1.0), (-0.6, 1.0)],
    "RightUpperLeg": [(-2.4, 0.7), (-1.0, 1.0), (-1.0, 0.6)],
    "LeftLowerLeg": [(-0.15, 2.6)],
    "RightLowerLeg": [(-0.15, 2.6)],
    "LeftFoot": [(-0.9, 0.9), (-0.7, 0.7), (-0.6, 0.6)],
    "RightFoot": [(-0.9, 0.9), (-0.7, 0.7), (-0.6, 0.6)],
}
LOWER = np.full(NUM_PARAMS, -np.inf)
UPPER = np.full(NUM_PARAMS, np.inf)
for _name, _ranges in _LIMITS.items():
    for _k, (_lo, _hi) in enumerate(_ranges):
        LOWER[DOF_START[J[_name]] + _k], UPPER[DOF_START[J[_name]] + _k] = _lo, _hi

# The landmarks (by name, averaged) that pin each joint; joints without any are placed by the model alone
POINTS_OF_JOINT = {
    "Hips": ("left_hip", "right_hip"), "Neck": ("left_shoulder", "right_shoulder"), "Head": ("left_ear", "right_ear"),
    "LeftUpperArm": ("left_shoulder",), "LeftLowerArm": ("left_elbow",), "LeftHand": ("left_wrist",),
    "RightUpperArm": ("right_shoulder",), "RightLowerArm": ("right_elbow",), "RightHand": ("right_wrist",),
    "LeftUpperLeg": ("left_hip",), "LeftLowerLeg": ("left_knee",), "LeftFoot": ("left_ankle",),
    "LeftToes": ("left_foot_index",),
    "RightUpperLeg": ("right_hip",), "RightLowerLeg": ("right_knee",), "RightFoot": ("right_ankle",),
    "RightToes": ("right_foot_index",),
}
# the same in BlazePose's numbering: the published landmarks' (the results' landmarks2d and world33)
LANDMARKS_OF_JOINT = {joint: tuple(int(i) for i in BLAZEPOSE33.indices(*points))
                      for joint, points in POINTS_OF_JOINT.items()}

# every pinned joint is the mean of one or two landmarks (BodyPoints indexes them as pairs, one twice when alone)
PINNED = np.array([name in POINTS_OF_JOINT for name in JOINTS])

_HIPS, _SHOULDERS, _EARS = ("left_hip", "right_hip"), ("left_shoulder", "right_shoulder"), ("left_ear", "right_ear")
# Segment measurements taken from the metric 3D landmarks: name -> pairs of landmark groups (left, right averaged)
SEGMENTS = {
    "hip_half": [(("left_hip",), ("right_hip",))],  # halved below
    "shoulder_half": [(("left_shoulder",), ("right_shoulder",))],
    "torso": [(_SHOULDERS, _HIPS)],
    "neck_head": [(_EARS, _SHOULDERS)],
    "upper_arm": [(("left_shoulder",), ("left_elbow",)), (("right_shoulder",), ("right_elbow",))],
    "forearm": [(("left_elbow",), ("left_wrist",)), (("right_elbow",), ("right_wrist",))],
    "thigh": [(("left_hip",), ("left_knee",)), (("right_hip",), ("right_knee",))],
    "shin": [(("left_knee",), ("left_ankle",)), (("right_knee",), ("right_ankle",))],
    "foot": [(("left_ankle",), ("left_foot_index",)), (("right_ankle",), ("right_foot_index",))],
}
SEGMENT_NAMES = tuple(SEGMENTS)
# Each segment's share of the standing height, between joint centres (Winter, Biomechanics and Motor Control of Human
# Movement, fig. 4.1: thigh 0.245, shank 0.246, upper arm 0.186, forearm 0.146, shoulders 0.818 and hip joints 0.530
# above the floor, shoulder width 0.259 at the acromia; hip joint centres about 0.1 apart, ears 0.1 above the
# shoulders, ankle to toes 0.1): what a segment the camera never showed is given
HEIGHT_SHARE = np.array([{"hip_half": 0.05, "shoulder_half": 0.11, "torso": 0.288, "neck_head": 0.10,
                          "upper_arm": 0.186, "forearm": 0.146, "thigh": 0.245, "shin": 0.246, "foot": 0.10}[name]
                         for name in SEGMENT_NAMES])
SEEN = 0.1  # a segment is measured when its samples' mean squared reliability reaches this (visibility ~0.3)
TOE_DIRECTION = np.array([0.0, -0.4, 0.92]) / np.linalg.norm([0.0, -0.4, 0.92])


_PAIRS = [(a, b) for name in SEGMENTS for a, b in SEGMENTS[name]]


def _segments_of_pairs() -> np.ndarray:
    """Each segment as the mean of its pairs (segments x pairs)."""
    of_segment = np.zeros((len(SEGMENTS), len(_PAIRS)))
    k = 0
    for s, name in enumerate(SEGMENTS):
        of_segment[s, k:k + len(SEGMENTS[name])] = (0.5 if name.endswith("_half") else 1.0) / len(SEGMENTS[name])
        k += len(SEGMENTS[name])
    return of_segment


_PAIRS_OF_SEGMENT = _segments_of_pairs()
_SEGMENT_SCALE = np.array([0.5 if name.endswith("_half") else 1.0 for name in SEGMENTS])
# each segment's pair columns, first and last: a segment is measured by one pair or by two (left and right)
assert ((_PAIRS_OF_SEGMENT > 0).sum(axis=1) <= 2).all()
_SEGMENT_COLUMNS = np.array([[np.flatnonzero(row)[0], np.flatnonzero(row)[-1]] for row in _PAIRS_OF_SEGMENT])


@dataclass(frozen=True, eq=False)
class BodyPoints:
    """Where a keypoint scheme's points pin the joints and measure the segments: index arrays and averaging rows
    computed once from the scheme's names (`BodyPoints.of`), for the fit's per-frame arithmetic."""

    pin_a: np.ndarray  # per pinned joint (JOINTS order), its first landmark
    pin_b: np.ndarray  # and its last (the same one when a single landmark pins it)
    pair_ends: np.ndarray  # 2 x pairs x K: rows averaging each measured pair's two landmark groups
    pair_landmarks: tuple[np.ndarray, ...]  # per pair, the landmarks it spans

    @classmethod
    def of(cls, scheme: KeypointScheme) -> "BodyPoints":
        pinned = [POINTS_OF_JOINT[name] for name in JOINTS if name in POINTS_OF_JOINT]
        ends = np.zeros((2, len(_PAIRS), len(scheme)))
        for k, (a, b) in enumerate(_PAIRS):
            ends[0, k, scheme.indices(*a)] = 1.0 / len(a)
            ends[1, k, scheme.indices(*b)] = 1.0 / len(b)
        return cls(scheme.indices(*(points[0] for points in pinned)),
                   scheme.indices(*(points[-1] for points in pinned)), ends,
                   tuple(np.flatnonzero(row) for row in (ends > 0).any(axis=0)))

    def measure_pairs(self, world: np.ndarray) -> np.ndarray:
        """One frame's length of every measured landmark pair (each side of each segment), metres; frames x pairs
        for frames x K x 3."""
        return np.linalg.norm(self.pair_ends[0] @ world - self.pair_ends[1] @ world, axis=-1)

    def pair_reliability(self, visibility: np.ndarray) -> np.ndarray:
        """How far each pair's length can be trusted: the visibility of the least visible landmark it spans (per
        frame, for frames x K; no frames x pairs x K array is built, which a whole take could not afford)."""
        return np.stack([visibility[..., landmarks].min(axis=-1) for landmarks in self.pair_landmarks], axis=-1)

    def measure_segments(self, world: np.ndarray) -> np.ndarray:
        """One frame's segment lengths (metres), in SEGMENT_NAMES order."""
        return _PAIRS_OF_SEGMENT @ self.measure_pairs(world)

    def joint_targets(self, points: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-joint target (mean of its landmarks) and weight (the least visible of them; 0 when unpinned)."""
        targets = np.zeros((NUM_JOINTS, points.shape[1]))
        targets[PINNED] = 0.5 * (points[self.pin_a] + points[self.pin_b])
        joint_weights = np.zeros(NUM_JOINTS)
        joint_weights[PINNED] = np.minimum(weights[self.pin_a], weights[self.pin_b])
        return targets, joint_weights


# the published landmarks' (BlazePose's: the results' landmarks2d and world33), for tools that read results
BLAZEPOSE_BODY = BodyPoints.of(BLAZEPOSE33)


def segments_from_pairs(lengths: np.ndarray, reliability: np.ndarray) -> np.ndarray:
    """Segment lengths from many frames' pair lengths (frames x pairs): per segment, the median of every sample
    of it (both sides, all frames) weighted by its reliability squared, so a hidden limb's guesses barely count.
    A segment never seen (its samples' mean squared reliability under SEEN) gets its share of the height the seen
    ones give: a webcam at a desk shows no legs, and BlazePose's guesses of them made thighs 4 cm long."""
    reliability = np.ascontiguousarray(reliability, np.float64)
    measured = _weighted_medians(np.ascontiguousarray(lengths, np.float64), reliability, _SEGMENT_COLUMNS)
    seen = (reliability[:, _SEGMENT_COLUMNS] ** 2).mean(axis=(0, 2)) >= SEEN
    return completed_by_proportions(measured * _SEGMENT_SCALE, seen)


def completed_by_proportions(segments: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Segments not seen, from the standing height the seen ones give (the median over them of length / share)."""
    if seen.all() or not seen.any():
        return segments
    height = float(np.median(segments[seen] / HEIGHT_SHARE[seen]))
    return np.where(seen, segments, HEIGHT_SHARE * height)


@njit(cache=True)
def _weighted_medians(lengths, reliability, columns):
    """Per segment (a row of columns: its two pairs, or its one pair twice, which leaves the median as it is): the
    reliability-squared weighted median of its samples. In numba: it runs on each of a new person's first frames."""
    frames = lengths.shape[0]
    out = np.empty(columns.shape[0])
    values, weights = np.empty(2 * frames), np.empty(2 * frames)
    for s in range(columns.shape[0]):
        for side in range(2):
            for f in range(frames):
                values[side * frames + f] = lengths[f, columns[s, side]]
                weights[side * frames + f] = reliability[f, columns[s, side]] ** 2 + 1e-9
        order = np.argsort(values, kind="mergesort")
        total = 0.0
        for i in order:
            total += weights[i]
        running = 0.0
        for i in order:
            running += weights[i]
            if running >= 0.5 * total:
                out[s] = values[i]
                break
    return out


def standing_height(segments: np.ndarray) -> float:
    s = dict(zip(SEGMENT_NAMES, segments))
    return body_height(s["shin"], s["thigh"], s["torso"], s["neck_head"])


def rest_offsets(segments: np.ndarray) -> np.ndarray:
    """Each joint's offset from its parent in the T-pose (metres)."""
    s = dict(zip(SEGMENT_NAMES, segments))
    offsets = np.zeros((NUM_JOINTS, 3))
    offsets[J["Spine"]] = (0, 0.25 * s["torso"], 0)
    offsets[J["Chest"]] = (0, 0.35 * s["torso"], 0)
    offsets[J["Neck"]] = (0, 0.40 * s["torso"], 0)
    offsets[J["Head"]] = (0, s["neck_head"], 0)
    for side, sign in (("Left", 1.0), ("Right", -1.0)):
        offsets[J[side + "Shoulder"]] = (sign * 0.2 * s["shoulder_half"], 0.40 * s["torso"], 0)
        offsets[J[side + "UpperArm"]] = (sign * 0.8 * s["shoulder_half"], 0, 0)
        offsets[J[side + "LowerArm"]] = (sign * s["upper_arm"], 0, 0)
        offsets[J[side + "Hand"]] = (sign * s["forearm"], 0, 0)
        offsets[J[side + "UpperLeg"]] = (sign * s["hip_half"], 0, 0)
        offsets[J[side + "LowerLeg"]] = (0, -s["thigh"], 0)
        offsets[J[side + "Foot"]] = (0, -s["shin"], 0)
        offsets[J[side + "Toes"]] = TOE_DIRECTION * s["foot"]
    return offsets


PARENTS_ARRAY = np.array(PARENTS, np.int64)


def within_limits(local: Rotation, joint: int) -> Rotation:
    """A joint's local rotations (frames) as the fit's parameters (a rotation vector, or the angle about a hinge's
    axis), clamped into its limits (LOWER and UPPER, as the fit clamps its own solution)."""
    start, count = DOF_START[joint], DOF[joint]
    lower, upper = LOWER[start:start + count], UPPER[start:start + count]
    rotvec = local.as_rotvec()
    if count == 1:
        axis = HINGE_AXES[joint]
        return Rotation.from_rotvec(np.outer(np.clip(rotvec @ axis, lower[0], upper[0]), axis))
    return Rotation.from_rotvec(np.clip(rotvec, lower, upper))
