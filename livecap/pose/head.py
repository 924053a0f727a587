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
from scipy.spatial.transform import Rotation, Slerp

from livecap.skeleton import JOINTS, PARENTS, world_rotations
from livecap.types import FacePose, SkeletonPose

HEAD = JOINTS.index("Head")
EASE_IN_S = 0.15  # a face found: the mesh takes the head over this long
EASE_OUT_S = 0.5  # a face lost: the fitted head takes it back over this long
# FacePose.rotation's columns are the head's left, down and back in camera axes; the skeleton's rest axes are the
# person's left, up and forward, so the head's rotation in camera space is the mesh's with its last two axes turned
MESH_TO_REST = np.diag([1.0, -1.0, -1.0])


def mesh_head(face_rotation: np.ndarray) -> np.ndarray:
    """The Head joint's rotation in camera space (3 x 3: rest axes -> camera axes) that the mesh shows."""
    return np.asarray(face_rotation, np.float64) @ MESH_TO_REST


@dataclass
class HeadFromFace:
    """One person's head between frames: how much the mesh drives it, and the mesh's head relative to the neck as
    last seen."""

    weight: float = 0.0  # 0: the fitted head, 1: the mesh's
    local: np.ndarray | None = None  # x y z w: the mesh's head in its parent's (the neck's) axes
    time: float | None = None

    def apply(self, skeleton: SkeletonPose, face: FacePose | None, time_s: float, ease: bool = True
              ) -> SkeletonPose:
        """The skeleton with its head turned towards the mesh's by the current weight (a new SkeletonPose; the
        given one is not changed). ease False (still images): the mesh's head at once where the face is seen."""
        step = 0.0 if self.time is None or not ease else max(time_s - self.time, 0.0)
        self.time = time_s
        rotations = np.asarray(skeleton.rotations, np.float64)
        if face is not None:
            neck = world_rotations(rotations)[PARENTS[HEAD]]
            self.local = Rotation.from_matrix(neck.T @ mesh_head(face.rotation)).as_quat()
            self.weight = 1.0 if not ease else min(1.0, self.weight + step / EASE_IN_S)
        else:
            self.weight = 0.0 if not ease else max(0.0, self.weight - step / EASE_OUT_S)
            self.local = None if self.weight <= 0.0 else self.local  # back to the fitted head: nothing to keep
        if self.local is None or self.weight <= 0.0:
            return skeleton
        fitted = Rotation.from_quat(rotations[HEAD])
        ends = Rotation.from_quat(np.stack([fitted.as_quat(), self.local]))
        blended = Slerp([0.0, 1.0], ends)(self.weight).as_quat()
        turned = rotations.copy()
        turned[HEAD] = blended
        return replace(skeleton, rotations=turned.astype(np.asarray(skeleton.rotations).dtype))
