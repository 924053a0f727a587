"""The finger fit: one hand's 21 metric points -> the hand's own rotation and its 15 finger bones' local rotations,
within hinge limits, on bones whose lengths are measured over the hand's first frames and then frozen (as the
body's are). Pure per hand, arrays in, arrays out; the per-bone work is one numba call per hand (scipy's Rotation
cost ~50 us a call there, 30 calls a hand).

Each bone is solved in its parent's frame, parents first, so that a limit met at a knuckle carries down the finger:
a knuckle (every Proximal bone, and the thumb's Intermediate) curls and spreads (two angles: the spread about the
palm's normal, then the curl about the spread finger's hinge axis), the other joints only curl. Both angles come
in closed form from the bone's measured direction (the rotation within the joint's degrees of freedom that points
the bone closest to it) and are clamped to their ranges. Geometry and axes: livecap.fingers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from livecap.fingers import (BONE_END, BONE_START, BONES_PER_HAND, CURL_DIRECTION, FINGER_BASES, HAND_REST_AXES,
                             HINGE_AXIS, INDEX_BASE, MIDDLE_BASE, MIRROR, PINKY_BASE, REST_DIRECTION, WRIST,
                             rest_offsets, tip_offsets)
from livecap.pose.fitting.kinematics import _quaternion_into as quaternion_into
from livecap.pose.fitting.kinematics import rotvec_into
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


def fit_fingers(points: np.ndarray, hand_world: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    """The 15 bones' local rotations (15 x 3 x 3) and (curl, spread) angles (15 x 2) for a hand whose world
    rotation is `hand_world`; points: 21 x 3 in the same space."""
    posed = pose_hand(points, side, hand_world, np.zeros(3), np.zeros((BONES_PER_HAND, 3)),
                      np.zeros((len(FINGER_BASES), 3)))
    return posed.local, posed.angles


@dataclass
class PosedHand:
    """One hand's finger bones, fitted or held: local rotations as matrices and quaternions (x y z w, w >= 0),
    world rotations and joint positions in the hand joint's space, the five fingertips."""

    local: np.ndarray  # 15 x 3 x 3
    quaternions: np.ndarray  # 15 x 4
    world: np.ndarray  # 15 x 3 x 3
    positions: np.ndarray  # 15 x 3
    tips: np.ndarray  # 5 x 3
    angles: np.ndarray | None = None  # 15 x 2 (curl, spread) radians, when fitted


def pose_hand(points: np.ndarray, side: str, hand_world: np.ndarray, hand_position: np.ndarray,
              offsets: np.ndarray, tips: np.ndarray) -> PosedHand:
    """Fits the fingers of a hand whose joint sits at `hand_position` turned by `hand_world` (3 x 3) to its 21
    points, and poses its bones (rest offsets 15 x 3, tip offsets 5 x 3) in one numba call."""
    out = PosedHand(np.empty((BONES_PER_HAND, 3, 3)), np.empty((BONES_PER_HAND, 4)), np.empty((BONES_PER_HAND, 3, 3)),
                    np.empty((BONES_PER_HAND, 3)), np.empty((len(FINGER_BASES), 3)), np.empty((BONES_PER_HAND, 2)))
    directions = np.asarray(points, np.float64)[BONE_END] - np.asarray(points, np.float64)[BONE_START]
    _fit_into(directions, side == "right", np.asarray(hand_world, np.float64), REST_DIRECTION, CURL_DIRECTION,
              HINGE_AXIS, LIMITS, TWO_AXES, out.local, out.angles, out.quaternions)
    _chain_into(out.local, np.asarray(hand_position, np.float64), np.asarray(hand_world, np.float64),
                np.asarray(offsets, np.float64), np.asarray(tips, np.float64), out.world, out.positions, out.tips)
    return out


def hold_hand(quaternions: np.ndarray, hand_world: np.ndarray, hand_position: np.ndarray, offsets: np.ndarray,
              tips: np.ndarray) -> PosedHand:
    """A hand's bones posed from given local quaternions (a hand not seen: held, or at rest)."""
    out = PosedHand(np.empty((BONES_PER_HAND, 3, 3)), np.asarray(quaternions, np.float64),
                    np.empty((BONES_PER_HAND, 3, 3)), np.empty((BONES_PER_HAND, 3)), np.empty((len(FINGER_BASES), 3)))
    for b in range(BONES_PER_HAND):
        matrix_into(out.quaternions[b], out.local[b])
    _chain_into(out.local, np.asarray(hand_position, np.float64), np.asarray(hand_world, np.float64),
                np.asarray(offsets, np.float64), np.asarray(tips, np.float64), out.world, out.positions, out.tips)
    return out


def relaxed(quaternions: np.ndarray, max_angle: float) -> np.ndarray:
    """Rotations (N x 4, x y z w) each turned back towards the identity by at most `max_angle` radians about its
    own axis: a held pose relaxing to rest at a bounded speed, never snapping."""
    q = np.asarray(quaternions, np.float64) * np.where(quaternions[:, 3:] < 0, -1.0, 1.0)
    sine = np.linalg.norm(q[:, :3], axis=1)
    angle = np.maximum(2.0 * np.arctan2(sine, q[:, 3]) - max_angle, 0.0)
    scale = np.divide(np.sin(angle / 2), sine, out=np.zeros_like(sine), where=sine > 1e-12)
    return np.column_stack([q[:, :3] * scale[:, None], np.cos(angle / 2)])


def quaternion_of(matrix: np.ndarray) -> np.ndarray:
    """A rotation matrix's quaternion x y z w (w >= 0)."""
    out = np.empty(4)
    quaternion_into(np.asarray(matrix, np.float64), out)
    return out


@njit(cache=True)
def _fit_into(directions, mirrored, hand_world, rest, curl_direction, hinge, limits, two_axes, local, angles,
              quaternions):
    """Each bone, parents first, solved in its parent's frame: the rotation within its degrees of freedom that
    points its rest direction d closest to the measured direction (the right hand solved as its mirror image in
    x). A knuckle: direction = R_u(spread) R_w(curl) d = cos(c)cos(s) d + sin(c) u - cos(c)sin(s) w, so both
    angles come in closed form; other joints only curl about w."""
    parent = np.empty((3, 3))
    spread_turn = np.empty((3, 3))
    curl_turn = np.empty((3, 3))
    for b in range(directions.shape[0]):
        if b % 3 == 0:
            parent[:, :] = hand_world
        dx, dy, dz = directions[b, 0], directions[b, 1], directions[b, 2]
        length = max(np.sqrt(dx * dx + dy * dy + dz * dz), 1e-12)
        v = np.empty(3)
        for a in range(3):  # parent^T @ direction
            v[a] = (parent[0, a] * dx + parent[1, a] * dy + parent[2, a] * dz) / length
        if mirrored:
            v[0] = -v[0]
        along = v[0] * rest[b, 0] + v[1] * rest[b, 1] + v[2] * rest[b, 2]
        towards_palm = v[0] * curl_direction[b, 0] + v[1] * curl_direction[b, 1] + v[2] * curl_direction[b, 2]
        sideways = v[0] * hinge[b, 0] + v[1] * hinge[b, 1] + v[2] * hinge[b, 2]
        if two_axes[b]:
            spread = min(max(np.arctan2(-sideways, along), limits[b, 1, 0]), limits[b, 1, 1])
            curl = min(max(np.arctan2(towards_palm, np.sqrt(along * along + sideways * sideways)), limits[b, 0, 0]),
                       limits[b, 0, 1])
        else:
            spread = 0.0
            curl = min(max(np.arctan2(towards_palm, along), limits[b, 0, 0]), limits[b, 0, 1])
        angles[b, 0], angles[b, 1] = curl, spread
        rotvec_into(curl_direction[b, 0] * spread, curl_direction[b, 1] * spread, curl_direction[b, 2] * spread,
                    spread_turn)
        rotvec_into(hinge[b, 0] * curl, hinge[b, 1] * curl, hinge[b, 2] * curl, curl_turn)
        _multiply_into(spread_turn, curl_turn, local[b])
        if mirrored:  # MIRROR @ rotation @ MIRROR
            for a in range(1, 3):
                local[b, 0, a], local[b, a, 0] = -local[b, 0, a], -local[b, a, 0]
        quaternion_into(local[b], quaternions[b])
        _multiply_into(parent, local[b], spread_turn)
        parent[:, :] = spread_turn


@njit(cache=True)
def _chain_into(local, hand_position, hand_world, offsets, tip_offsets, world, positions, tips):
    """Forward kinematics of one hand's five three-bone chains below the hand joint, and their fingertips."""
    for b in range(local.shape[0]):
        parent_rotation = hand_world if b % 3 == 0 else world[b - 1]
        parent_position = hand_position if b % 3 == 0 else positions[b - 1]
        _multiply_into(parent_rotation, local[b], world[b])
        for a in range(3):
            positions[b, a] = parent_position[a] + (parent_rotation[a, 0] * offsets[b, 0] + parent_rotation[a, 1]
                                                    * offsets[b, 1] + parent_rotation[a, 2] * offsets[b, 2])
        if b % 3 == 2:
            for a in range(3):
                tips[b // 3, a] = positions[b, a] + (world[b, a, 0] * tip_offsets[b // 3, 0] + world[b, a, 1]
                                                     * tip_offsets[b // 3, 1] + world[b, a, 2] * tip_offsets[b // 3, 2])


@njit(cache=True)
def _multiply_into(a, b, out):
    # hand-written: numba sends `@` to BLAS, whose per-call overhead dwarfs a 3x3 product
    for r in range(3):
        for c in range(3):
            out[r, c] = a[r, 0] * b[0, c] + a[r, 1] * b[1, c] + a[r, 2] * b[2, c]


@njit(cache=True)
def matrix_into(q, out):
    """A unit quaternion x y z w as a rotation matrix."""
    x, y, z, w = q[0], q[1], q[2], q[3]
    out[0, 0], out[0, 1], out[0, 2] = 1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)
    out[1, 0], out[1, 1], out[1, 2] = 2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)
    out[2, 0], out[2, 1], out[2, 2] = 2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)


@dataclass
class HandShape:
    """One hand's measured shape (it lives on the person's track): the finger bases and bone lengths measured so
    far, and the rest offsets built from their medians, frozen after `bone_frames` frames."""

    side: str
    bases: list[np.ndarray] = field(default_factory=list)
    lengths: list[np.ndarray] = field(default_factory=list)
    offsets: np.ndarray | None = None
    tips: np.ndarray | None = None  # 5 x 3: each fingertip from its Distal joint
    bone_lengths: np.ndarray | None = None  # 15: each bone's own length, the Distal's to the fingertip
    frozen: bool = False

    def update(self, points: np.ndarray, bone_frames: int = BONE_FRAMES) -> np.ndarray:
        """Adds this frame's measurement (until frozen); returns the rest offsets (15 x 3)."""
        if not self.frozen:
            bases, lengths = measure_hand(points, self.side)
            self.bases.append(bases)
            self.lengths.append(lengths)
            self.bone_lengths = np.median(self.lengths, axis=0)
            self.offsets = rest_offsets(np.median(self.bases, axis=0), self.bone_lengths, self.side)
            self.tips = tip_offsets(self.bone_lengths, self.side)
            self.frozen = len(self.lengths) >= bone_frames
        return self.offsets
