"""The one humanoid hierarchy every stage and sink uses.

Convention (documented here once; the BVH and OSC sinks convert from it):
- Joint names are Unity HumanBodyBones names, Hips is the root.
- Rest pose is a T-pose facing +Z, Y up, X to the person's left, right-handed, metres. `offsets[j]` is joint j's
  position relative to its parent in that rest pose.
- A joint's local rotation of identity means its T-pose orientation. Rotations compose parent-first:
  world(j) = world(parent) @ local(j), position(j) = position(parent) + world(parent) @ offsets[j].
- A fitted pose lives in camera space (x right, y down, z forward, metres, origin at the camera): the root's
  rotation takes the skeleton's rest axes into camera axes, so a person facing the camera has a root rotation of
  180 degrees about X.
- World space, for sinks that want Y up (BVH, OSC): x = the camera's right, y up, z towards the camera, i.e.
  camera space turned 180 degrees about X (`CAMERA_TO_WORLD`). A person facing the camera then has an identity
  root rotation and faces +Z, as BVH and Unity-style tools expect; their left hand is on the image's right.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

JOINTS: tuple[str, ...] = (
    "Hips", "Spine", "Chest", "Neck", "Head",
    "LeftShoulder", "LeftUpperArm", "LeftLowerArm", "LeftHand",
    "RightShoulder", "RightUpperArm", "RightLowerArm", "RightHand",
    "LeftUpperLeg", "LeftLowerLeg", "LeftFoot", "LeftToes",
    "RightUpperLeg", "RightLowerLeg", "RightFoot", "RightToes",
)

_PARENT_NAMES: dict[str, str | None] = {
    "Hips": None, "Spine": "Hips", "Chest": "Spine", "Neck": "Chest", "Head": "Neck",
    "LeftShoulder": "Chest", "LeftUpperArm": "LeftShoulder", "LeftLowerArm": "LeftUpperArm",
    "LeftHand": "LeftLowerArm",
    "RightShoulder": "Chest", "RightUpperArm": "RightShoulder", "RightLowerArm": "RightUpperArm",
    "RightHand": "RightLowerArm",
    "LeftUpperLeg": "Hips", "LeftLowerLeg": "LeftUpperLeg", "LeftFoot": "LeftLowerLeg", "LeftToes": "LeftFoot",
    "RightUpperLeg": "Hips", "RightLowerLeg": "RightUpperLeg", "RightFoot": "RightLowerLeg",
    "RightToes": "RightFoot",
}

PARENTS: tuple[int, ...] = tuple(
    -1 if _PARENT_NAMES[name] is None else JOINTS.index(_PARENT_NAMES[name]) for name in JOINTS
)


def header() -> dict:
    """The skeleton as the JSONL header and other sinks describe it."""
    return {"joints": list(JOINTS), "parents": list(PARENTS)}


CAMERA_TO_WORLD = np.diag([1.0, -1.0, -1.0])  # a 180-degree turn about X: its own inverse


def forward_kinematics(offsets: np.ndarray, rotations: np.ndarray, root: np.ndarray) -> np.ndarray:
    """Joint positions (J x 3) from rest offsets (J x 3), local quaternions (J x 4, x y z w) and the root
    position, in whatever space the root's rotation and position are given in."""
    local = Rotation.from_quat(np.asarray(rotations, np.float64)).as_matrix()
    world = np.empty_like(local)
    positions = np.empty((len(JOINTS), 3))
    for j, parent in enumerate(PARENTS):
        if parent < 0:
            world[j], positions[j] = local[j], root
        else:
            world[j] = world[parent] @ local[j]
            positions[j] = positions[parent] + world[parent] @ offsets[j]
    return positions


def to_world(rotations: np.ndarray, root: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A camera-space pose's local rotations and root position in world space (Y up; see the module notes).
    Only the root's rotation changes: every other rotation is relative to its parent."""
    rotations = np.array(rotations, np.float64)
    turn = Rotation.from_matrix(CAMERA_TO_WORLD)
    rotations[0] = (turn * Rotation.from_quat(rotations[0])).as_quat()
    return rotations, CAMERA_TO_WORLD @ np.asarray(root, np.float64)
