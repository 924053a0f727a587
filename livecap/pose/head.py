"""The head's rotation from the face mesh, blended into the fitted skeleton (pure per-frame core; its state lives
on each person's face).

The body model places the head from a few points (nose, eyes, ears), the face mesh from 468: where the face is
seen, the Head joint turns as the mesh does (FacePose.rotation), so the results, BVH and VMC carry it. The blend
comes after the fit and smoothing: the fitted skeleton's other joints, its positions and its bone lengths stay as
they are (Head is a leaf: turning it moves no joint). The mesh's head is kept relative to the neck, so when the face
is lost the head stays where the mesh left it, turning with the body, and eases back to the fitted head over
EASE_OUT_S; a face found again eases in over EASE_IN_S, so neither is a jump.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from livecap.skeleton import JOINTS, PARENTS, WorldPose, quaternion_product
from livecap.types import FacePose, SkeletonPose

HEAD = JOINTS.index("Head")
NECK_CHAIN = (0, 1, 2, 3)  # Hips, Spine, Chest, Neck: the head's ancestors, root first
EASE_IN_S = 0.15  # a face found: the mesh takes the head over this long
EASE_OUT_S = 0.5  # a face lost: the fitted head takes it back over this long
# FacePose.rotation's columns are the head's left, down and back in camera axes; the skeleton's rest axes are the
# person's left, up and forward, so the head's rotation in camera space is the mesh's with its last two axes turned
MESH_TO_REST = np.diag([1.0, -1.0, -1.0])


def mesh_head(face_rotation: np.ndarray) -> np.ndarray:
    """The Head joint's rotation in camera space (3 x 3: rest axes -> camera axes) that the mesh shows."""
    return np.asarray(face_rotation, np.float64) @ MESH_TO_REST


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """The rotation t of the way from quaternion a to b, the short way (x y z w)."""
    dot = float(a @ b)
    b = -b if dot < 0.0 else b
    angle = np.arccos(min(abs(dot), 1.0))
    if angle < 1e-6:
        return b.copy()
    return (np.sin((1.0 - t) * angle) * a + np.sin(t * angle) * b) / np.sin(angle)


def quaternion_of(m: np.ndarray) -> np.ndarray:
    """x y z w of a rotation matrix (Shepperd's method: from its largest diagonal term; scipy's from_matrix costs
    ten times as much, orthonormalising a matrix that already is)."""
    m = np.asarray(m, np.float64)
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    k = int(np.argmax([m[0, 0], m[1, 1], m[2, 2], trace]))
    if k == 3:
        q = np.array([m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1], 1.0 + trace])
    else:
        i, j, l = k, (k + 1) % 3, (k + 2) % 3
        q = np.empty(4)
        q[i] = 1.0 + 2.0 * m[i, i] - trace
        q[j], q[l], q[3] = m[j, i] + m[i, j], m[l, i] + m[i, l], m[l, j] - m[j, l]
    return q / np.linalg.norm(q)


def _conjugate(q: np.ndarray) -> np.ndarray:
    return np.array([-q[0], -q[1], -q[2], q[3]])


@dataclass
class HeadFromFace:
    """One person's head between frames: how much the mesh drives it, and the mesh's head relative to the neck as
    last seen."""

    weight: float = 0.0  # 0: the fitted head, 1: the mesh's
    local: np.ndarray | None = None  # x y z w: the mesh's head in its parent's (the neck's) axes
    time: float | None = None

    def apply(self, skeleton: SkeletonPose, world: WorldPose, face: FacePose | None, time_s: float,
              ease: bool = True) -> tuple[SkeletonPose, WorldPose]:
        """The skeleton and its world pose with the head turned towards the mesh's by the current weight (new
        objects; the given ones are not changed). ease False (still images): the mesh's head at once."""
        step = 0.0 if self.time is None or not ease else max(time_s - self.time, 0.0)
        self.time = time_s
        rotations = np.asarray(skeleton.rotations, np.float64)
        if face is not None:
            neck = rotations[NECK_CHAIN[0]]
            for j in NECK_CHAIN[1:]:
                neck = quaternion_product(neck, rotations[j])
            mesh = quaternion_of(mesh_head(face.rotation))
            self.local = quaternion_product(_conjugate(neck), mesh)
            self.weight = 1.0 if not ease else min(1.0, self.weight + step / EASE_IN_S)
        else:
            self.weight = 0.0 if not ease else max(0.0, self.weight - step / EASE_OUT_S)
            self.local = None if self.weight <= 0.0 else self.local  # back to the fitted head: nothing to keep
        if self.local is None or self.weight <= 0.0:
            return skeleton, world
        head = slerp(rotations[HEAD], self.local, self.weight)
        turned = np.array(skeleton.rotations)
        turned[HEAD] = head
        local, world_rotations = world.local.copy(), world.world.copy()
        local[HEAD] = head  # a joint's local rotation is the same in camera and world space, the root's aside
        world_rotations[HEAD] = quaternion_product(world.world[PARENTS[HEAD]], head)
        return replace(skeleton, rotations=turned), replace(world, local=local, world=world_rotations)
