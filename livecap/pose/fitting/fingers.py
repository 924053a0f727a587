"""The finger fit: one hand's 21 metric points -> the hand's own rotation and its 15 finger bones' local rotations,
within hinge limits, on bones whose lengths are measured over the hand's first frames and then frozen (as the
body's are). Pure and vectorised per hand: arrays in, arrays out.

Each bone is solved in its parent's frame, parents first, so that a limit met at a knuckle carries down the finger:
a knuckle (every Proximal bone, and the thumb's Intermediate) curls and spreads (two angles: the spread about the
palm's normal, then the curl about the spread finger's hinge axis), the other joints only curl. Both angles come
in closed form from the bone's measured direction (the rotation within the joint's degrees of freedom that points
the bone closest to it) and are clamped to their ranges. Geometry and axes: livecap.fingers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from livecap.fingers import (BONE_END, BONE_START, BONES_PER_HAND, CURL_DIRECTION, FINGER_BASES, HAND_REST_AXES,
                             HINGE_AXIS, INDEX_BASE, MIDDLE_BASE, MIRROR, PINKY_BASE, REST_DIRECTION, WRIST,
                             rest_offsets, tip_offsets)
from livecap.skeleton import BONE_FRAMES

# Ranges in radians (curl, spread) per bone of a finger: Proximal, Intermediate, Distal; a spread of (0, 0) makes
# the joint a hinge. Clinical ranges (ecosystem notes 7.3) with ~10 degrees of slack; the thumb's knuckles
# (CMC, MCP) move in two directions, its IP only curls.
_FINGER_LIMITS = [((-0.4, 1.7), (-0.35, 0.35)), ((-0.1, 1.95), (0.0, 0.0)), ((-0.2, 1.45), (0.0, 0.0))]
_THUMB_LIMITS = [((-0.7, 1.1), (-0.9, 0.9)), ((-0.3, 1.2), (-0.35, 0.35)), ((-0.3, 1.5), (0.0, 0.0))]
LIMITS = np.array([(_THUMB_LIMITS if b < 3 else _FINGER_LIMITS)[b % 3] for b in range(BONES_PER_HAND)])  # 15x2x2
TWO_AXES = LIMITS[:, 1, 1] > LIMITS[:, 1, 0]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def hand_axes(points: np.ndarray) -> np.ndarray:
    """3 x 3, columns: along the fingers (wrist -> middle base), across (pinky base -> index base, made square to
    the first) and their cross product, in the points' space."""
    along = _unit(points[MIDDLE_BASE] - points[WRIST])
    across = points[INDEX_BASE] - points[PINKY_BASE]
    across = _unit(across - along * float(across @ along))
    return np.column_stack([along, across, np.cross(along, across)])


def hand_rotation(points: np.ndarray, side: str) -> np.ndarray:
    """The hand's rotation (3 x 3) in the points' space: its rest axes turned onto its measured axes."""
    return hand_axes(points) @ HAND_REST_AXES[side].T


def measure_hand(points: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    """One frame's hand shape: the five finger bases relative to the wrist in the left hand's rest frame (5 x 3; the
    right hand mirrored) and the 15 bones' lengths (metres)."""
    rotation = hand_rotation(points, side)
    bases = (points[FINGER_BASES] - points[WRIST]) @ rotation  # rotation.T @ p, row-wise
    if side == "right":
        bases = bases @ MIRROR
    lengths = np.linalg.norm(points[BONE_END] - points[BONE_START], axis=1)
    return bases, lengths


def _angle_rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues' formula for a unit axis (scipy's Rotation costs ~10x more per call, 30 calls per hand)."""
    x, y, z = axis
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + np.sin(angle) * k + (1.0 - np.cos(angle)) * (k @ k)


def solve_bone(direction: np.ndarray, bone: int) -> tuple[np.ndarray, float, float]:
    """A left-hand bone's local rotation (3 x 3) pointing its rest direction closest to `direction` (in the parent's
    frame) within its limits, with its (curl, spread) in radians."""
    d, u, w = REST_DIRECTION[bone], CURL_DIRECTION[bone], HINGE_AXIS[bone]
    along, towards_palm, sideways = float(direction @ d), float(direction @ u), float(direction @ w)
    (curl_low, curl_high), (spread_low, spread_high) = LIMITS[bone]
    if TWO_AXES[bone]:  # direction = R_u(spread) R_w(curl) d = cos(c)cos(s) d + sin(c) u - cos(c)sin(s) w
        spread = float(np.clip(np.arctan2(-sideways, along), spread_low, spread_high))
        curl = float(np.clip(np.arctan2(towards_palm, np.hypot(along, sideways)), curl_low, curl_high))
        return _angle_rotation(u, spread) @ _angle_rotation(w, curl), curl, spread
    curl = float(np.clip(np.arctan2(towards_palm, along), curl_low, curl_high))
    return _angle_rotation(w, curl), curl, 0.0


def fit_fingers(points: np.ndarray, hand_world: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    """The 15 bones' local rotations (15 x 3 x 3) and (curl, spread) angles (15 x 2) for a hand whose world
    rotation is `hand_world`; points: 21 x 3 in the same space."""
    local = np.empty((BONES_PER_HAND, 3, 3))
    angles = np.zeros((BONES_PER_HAND, 2))
    directions = points[BONE_END] - points[BONE_START]
    flip = MIRROR if side == "right" else np.eye(3)
    parent = hand_world
    for b in range(BONES_PER_HAND):
        if b % 3 == 0:
            parent = hand_world
        in_parent = flip @ (parent.T @ _unit(directions[b]))  # the right hand solved as its mirror image
        rotation, angles[b, 0], angles[b, 1] = solve_bone(in_parent, b)
        local[b] = flip @ rotation @ flip
        parent = parent @ local[b]
    return local, angles


@dataclass
class HandShape:
    """One hand's measured shape (it lives on the person's track): the finger bases and bone lengths measured so
    far, and the rest offsets built from their medians, frozen after `bone_frames` frames."""

    side: str
    bases: list[np.ndarray] = field(default_factory=list)
    lengths: list[np.ndarray] = field(default_factory=list)
    offsets: np.ndarray | None = None
    tips: np.ndarray | None = None  # 5 x 3: each fingertip from its Distal joint
    frozen: bool = False

    def update(self, points: np.ndarray, bone_frames: int = BONE_FRAMES) -> np.ndarray:
        """Adds this frame's measurement (until frozen); returns the rest offsets (15 x 3)."""
        if not self.frozen:
            bases, lengths = measure_hand(points, self.side)
            self.bases.append(bases)
            self.lengths.append(lengths)
            lengths = np.median(self.lengths, axis=0)
            self.offsets = rest_offsets(np.median(self.bases, axis=0), lengths, self.side)
            self.tips = tip_offsets(lengths, self.side)
            self.frozen = len(self.lengths) >= bone_frames
        return self.offsets
