"""The head's and the eyes' rotation from the face mesh, blended into the fitted skeleton (pure per-frame core; its
state lives on each person's face).

The body model places the head from a few points (nose, eyes, ears), the face mesh from 468: where the face is
seen, the head turns as the mesh does (FacePose.rotation), so the results, BVH and VMC carry it. The body fit
measures the neck's bend (its bone aims from the shoulders to the ears) but not its twist about that bone, which
the fitter leaves at the chest's; the mesh shows the head's whole turn, and the neck takes NECK_TWIST_SHARE of its
twist about the neck bone: about half of the cervical spine's axial rotation happens between C1 and C2 (the Head
joint, level with the ears) and half below (the Neck joint, C2-C7: White & Panjabi, Clinical Biomechanics of the
Spine); humanoid rigs (Unity's, VRM's) likewise turn both the Neck and the Head. Twisting the neck about its own bone
moves no joint, so the fitted joints, positions and bone lengths stay as they are, and the head's rotation is the
mesh's exactly. The blend comes after the fit and smoothing. The mesh's head is kept relative to the fitted neck, so
when the face is lost the head stays where the mesh left it, turning with the body, and eases back to the fitted
head over EASE_OUT_S (the neck's twist with it); a face found again eases in over EASE_IN_S, so neither is a jump.

The eyes (LeftEye, RightEye under the Head: livecap.skeleton.EYE_JOINTS) turn with the gaze where the irises are
measured (`eye_rotation`); where they are not (the iris model off, as in `balanced`), nothing measures the gaze and
the eyes stay at rest, looking along the head.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial.transform import Rotation

from livecap.pose.expressions import GAZE_SIDE_FULL, GAZE_UP_FULL
from livecap.pose.fitting.fingers import quaternion_of
from livecap.skeleton import EYE_JOINTS, JOINTS, PARENTS, WorldPose, quaternion_product
from livecap.types import FacePose, SkeletonPose

HEAD, NECK = JOINTS.index("Head"), JOINTS.index("Neck")
NECK_CHAIN = (0, 1, 2, 3)  # Hips, Spine, Chest, Neck: the head's ancestors, root first
NECK_TWIST_SHARE = 0.5  # the neck's share of the head's twist about the neck bone (C2-C7 against C0-C2)
EASE_IN_S = 0.15  # a face found: the mesh takes the head over this long
EASE_OUT_S = 0.5  # a face lost: the fitted head takes it back over this long
# FacePose.rotation's columns are the head's left, down and back in camera axes; the skeleton's rest axes are the
# person's left, up and forward, so the head's rotation in camera space is the mesh's with its last two axes turned
MESH_TO_REST = np.diag([1.0, -1.0, -1.0])
# The eyes' turn at a full look: the iris moves GAZE_*_FULL of the eye's width, and the eyeball's radius is about
# 0.4 of that width (12 of 30 mm), so the turn is asin(full / 0.4): 22 degrees aside, 11.5 up or down.
EYEBALL_RADIUS = 0.4
EYE_YAW_FULL, EYE_PITCH_FULL = np.arcsin(GAZE_SIDE_FULL / EYEBALL_RADIUS), np.arcsin(GAZE_UP_FULL / EYEBALL_RADIUS)


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


def eye_rotation(expressions: dict[str, float]) -> np.ndarray:
    """Both eyes' local rotation (x y z w, rest axes: identity looks ahead) from the gaze expressions: a look to
    the person's left turns +Z towards +X (about +Y), a look up turns it towards +Y (about -X)."""
    yaw = (expressions.get("LookLeft", 0.0) - expressions.get("LookRight", 0.0)) * EYE_YAW_FULL
    pitch = (expressions.get("LookDown", 0.0) - expressions.get("LookUp", 0.0)) * EYE_PITCH_FULL
    return Rotation.from_euler("YX", [yaw, pitch]).as_quat()


def eye_rotations(face: FacePose | None) -> np.ndarray | None:
    """Each eye joint's local rotation (EYE_JOINTS order, 2 x 4, x y z w) where the gaze is measured; None where
    the face is not found or its irises were not measured (the eyes are then at rest)."""
    if face is None or not face.iris:
        return None
    return np.tile(eye_rotation(face.expressions), (len(EYE_JOINTS), 1))


def _conjugate(q: np.ndarray) -> np.ndarray:
    return np.array([-q[0], -q[1], -q[2], q[3]])


def _twist(q: np.ndarray, axis: np.ndarray) -> float:
    """The angle (radians, within +-pi) q turns about the unit `axis`: its twist in a swing-twist split."""
    sign = 1.0 if q[3] >= 0.0 else -1.0  # q and -q are one rotation: the short way round
    return 2.0 * float(np.arctan2(sign * (q[:3] @ axis), sign * q[3]))


def _about(axis: np.ndarray, angle: float) -> np.ndarray:
    return np.append(axis * np.sin(angle / 2.0), np.cos(angle / 2.0))


def split_neck_head(fitted_neck: np.ndarray, head_on_chest: np.ndarray, neck_bone: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The Neck's and the Head's local rotations (x y z w) that turn the head to `head_on_chest` (its rotation
    relative to the chest), the neck keeping its fitted bend (`fitted_neck`'s swing of the bone `neck_bone`, the
    Head's rest offset) and taking NECK_TWIST_SHARE of the head's twist about its bone."""
    axis = np.asarray(neck_bone, np.float64) / np.linalg.norm(neck_bone)
    swing = quaternion_product(fitted_neck, _conjugate(_about(axis, _twist(fitted_neck, axis))))
    twist = _twist(quaternion_product(_conjugate(swing), head_on_chest), axis)
    neck = quaternion_product(swing, _about(axis, NECK_TWIST_SHARE * twist))
    return neck, quaternion_product(_conjugate(neck), head_on_chest)


@dataclass
class HeadFromFace:
    """One person's head between frames: how much the mesh drives it, and the mesh's head relative to the fitted
    neck as last seen."""

    weight: float = 0.0  # 0: the fitted head, 1: the mesh's
    local: np.ndarray | None = None  # x y z w: the mesh's head in the fitted neck's axes
    time: float | None = None

    def apply(self, skeleton: SkeletonPose, world: WorldPose, face: FacePose | None, time_s: float,
              ease: bool = True) -> tuple[SkeletonPose, WorldPose]:
        """The skeleton and its world pose with the neck and head turned towards the mesh's by the current weight
        (new objects; the given ones are not changed). ease False (still images): the mesh's head at once."""
        step = 0.0 if self.time is None or not ease else max(time_s - self.time, 0.0)
        self.time = time_s
        rotations = np.asarray(skeleton.rotations, np.float64)
        if face is not None:
            neck_world = rotations[NECK_CHAIN[0]]
            for j in NECK_CHAIN[1:]:
                neck_world = quaternion_product(neck_world, rotations[j])
            self.local = quaternion_product(_conjugate(neck_world), quaternion_of(mesh_head(face.rotation)))
            self.weight = 1.0 if not ease else min(1.0, self.weight + step / EASE_IN_S)
        else:
            self.weight = 0.0 if not ease else max(0.0, self.weight - step / EASE_OUT_S)
            self.local = None if self.weight <= 0.0 else self.local  # back to the fitted head: nothing to keep
        if self.local is None or self.weight <= 0.0:
            return skeleton, world
        # the head's rotation on the fitted neck eases as a whole; the neck's twist eases with it (the two neck
        # rotations differ by a twist about its bone only, so every one between keeps the fitted bend)
        fitted_neck = rotations[NECK]
        on_neck = slerp(rotations[HEAD], self.local, self.weight)
        full_neck, _ = split_neck_head(fitted_neck, quaternion_product(fitted_neck, self.local),
                                       np.asarray(skeleton.offsets, np.float64)[HEAD])
        turned = np.array(skeleton.rotations)
        turned[NECK] = slerp(fitted_neck, full_neck, self.weight)
        turned[HEAD] = quaternion_product(_conjugate(turned[NECK]), quaternion_product(fitted_neck, on_neck))
        local, world_rotations = world.local.copy(), world.world.copy()
        for j in (NECK, HEAD):  # a joint's local rotation is the same in camera and world space, the root's aside
            local[j] = turned[j]
            world_rotations[j] = quaternion_product(world_rotations[PARENTS[j]], turned[j])
        return replace(skeleton, rotations=turned), replace(world, local=local, world=world_rotations)
