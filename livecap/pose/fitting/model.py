"""The fitted body model: which joints move how, their limits, and where the landmarks pin them.

Rest pose and axes follow livecap.skeleton: T-pose facing +Z, Y up, X to the person's left, metres.
"""

from __future__ import annotations

import numpy as np
from numba import njit

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

# BlazePose landmarks (averaged) that pin each joint; joints without any are placed by the model alone
LANDMARKS_OF_JOINT = {
    "Hips": (23, 24), "Neck": (11, 12), "Head": (7, 8),
    "LeftUpperArm": (11,), "LeftLowerArm": (13,), "LeftHand": (15,),
    "RightUpperArm": (12,), "RightLowerArm": (14,), "RightHand": (16,),
    "LeftUpperLeg": (23,), "LeftLowerLeg": (25,), "LeftFoot": (27,), "LeftToes": (31,),
    "RightUpperLeg": (24,), "RightLowerLeg": (26,), "RightFoot": (28,), "RightToes": (32,),
}

# Segment measurements taken from the metric 3D landmarks: name -> pairs of landmark groups (left, right averaged)
SEGMENTS = {
    "hip_half": [((23,), (24,))],  # halved below
    "shoulder_half": [((11,), (12,))],
    "torso": [((11, 12), (23, 24))],
    "neck_head": [((7, 8), (11, 12))],
    "upper_arm": [((11,), (13,)), ((12,), (14,))],
    "forearm": [((13,), (15,)), ((14,), (16,))],
    "thigh": [((23,), (25,)), ((24,), (26,))],
    "shin": [((25,), (27,)), ((26,), (28,))],
    "foot": [((27,), (31,)), ((28,), (32,))],
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


def _segment_matrices():
    """Every measured pair as rows averaging its two landmark groups, and each segment as the mean of its pairs."""
    pairs = [(a, b) for name in SEGMENTS for a, b in SEGMENTS[name]]
    ends = np.zeros((2, len(pairs), 33))
    for k, (a, b) in enumerate(pairs):
        ends[0, k, list(a)] = 1.0 / len(a)
        ends[1, k, list(b)] = 1.0 / len(b)
    of_segment = np.zeros((len(SEGMENTS), len(pairs)))
    k = 0
    for s, name in enumerate(SEGMENTS):
        of_segment[s, k:k + len(SEGMENTS[name])] = (0.5 if name.endswith("_half") else 1.0) / len(SEGMENTS[name])
        k += len(SEGMENTS[name])
    return ends, of_segment


_PAIR_ENDS, _PAIRS_OF_SEGMENT = _segment_matrices()
_PAIR_LANDMARK_INDICES = [np.flatnonzero(row) for row in (_PAIR_ENDS > 0).any(axis=0)]
_SEGMENT_SCALE = np.array([0.5 if name.endswith("_half") else 1.0 for name in SEGMENTS])
# each segment's pair columns, first and last: a segment is measured by one pair or by two (left and right)
assert ((_PAIRS_OF_SEGMENT > 0).sum(axis=1) <= 2).all()
_SEGMENT_COLUMNS = np.array([[np.flatnonzero(row)[0], np.flatnonzero(row)[-1]] for row in _PAIRS_OF_SEGMENT])


def measure_pairs(world33: np.ndarray) -> np.ndarray:
    """One frame's length of every measured landmark pair (each side of each segment), metres; frames x pairs for
    frames x 33 x 3."""
    return np.linalg.norm(_PAIR_ENDS[0] @ world33 - _PAIR_ENDS[1] @ world33, axis=-1)


def pair_reliability(visibility: np.ndarray) -> np.ndarray:
    """How far each pair's length can be trusted: the visibility of the least visible landmark it spans (per
    frame, for frames x 33)."""
    return np.stack([visibility[..., landmarks].min(axis=-1) for landmarks in _PAIR_LANDMARK_INDICES], axis=-1)


def measure_segments(world33: np.ndarray) -> np.ndarray:
    """One frame's segment lengths (metres), in SEGMENT_NAMES order."""
    return _PAIRS_OF_SEGMENT @ measure_pairs(world33)


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


# every pinned joint is the mean of one or two landmarks: index them as pairs (a landmark twice when alone)
PINNED = np.array([name in LANDMARKS_OF_JOINT for name in JOINTS])
_PIN_A = np.array([LANDMARKS_OF_JOINT[name][0] for name in JOINTS if name in LANDMARKS_OF_JOINT])
_PIN_B = np.array([LANDMARKS_OF_JOINT[name][-1] for name in JOINTS if name in LANDMARKS_OF_JOINT])


def joint_targets(points: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-joint target (mean of its landmarks) and weight (the least visible of them; 0 when unpinned)."""
    targets = np.zeros((NUM_JOINTS, points.shape[1]))
    targets[PINNED] = 0.5 * (points[_PIN_A] + points[_PIN_B])
    joint_weights = np.zeros(NUM_JOINTS)
    joint_weights[PINNED] = np.minimum(weights[_PIN_A], weights[_PIN_B])
    return targets, joint_weights


PARENTS_ARRAY = np.array(PARENTS, np.int64)
