"""The world of a skeleton, one home for its geometry: the humanoid hierarchy every stage and sink uses, forward
kinematics, camera -> world, body height and the floor.

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

from collections import deque
from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial.transform import Rotation

from livecap.fingers import FINGER_JOINTS, FINGER_PARENT_NAMES, FingerPose, full_hierarchy  # noqa: F401 (exported)
from livecap.fingers import POINT_NAMES as HAND_POINT_NAMES

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


J = {name: i for i, name in enumerate(JOINTS)}
FOOT_JOINTS = [J[name] for name in ("LeftFoot", "RightFoot", "LeftToes", "RightToes")]
BONE_FRAMES = 30  # frames (about a second) whose reliability-weighted median sets a person's bone lengths, then frozen


# The eyes, with faces on: two joints under the Head (Unity's LeftEye, RightEye), each at its place on the head
# (livecap's Head sits between the ears): 3.2 cm aside, 1.5 cm up, 8.5 cm ahead, rest axes (the person's left +X, up
# +Y, ahead +Z). Identity looks straight ahead along the head's forward. The End Site of each continues forward by
# an eyeball's diameter (2.4 cm), so an eye bone points where the eye looks.
EYE_JOINTS = ("LeftEye", "RightEye")
EYE_SIDES = ("left", "right")  # the results' "eyes" keys, in EYE_JOINTS order
EYE_OFFSETS = np.array([(0.032, 0.015, 0.085), (-0.032, 0.015, 0.085)])
EYE_TIP = np.array([0.0, 0.0, 0.024])


def header(hands: bool = False, eyes: bool = False) -> dict:
    """The skeleton as the JSONL header and other sinks describe it; with hands, also the finger bones (the
    "fingers" field's order per side, each side's 15 after the other's), their parents' names and the 21 points;
    with eyes (faces on), the eye bones (the "eyes" field's), their parent and their rest offsets (metres)."""
    out = {"joints": list(JOINTS), "parents": list(PARENTS)}
    if hands:
        out.update({"finger_bones": list(FINGER_JOINTS),
                    "finger_parents": [FINGER_PARENT_NAMES[name] for name in FINGER_JOINTS],
                    "hand_points": list(HAND_POINT_NAMES)})
    if eyes:
        out.update({"eye_bones": list(EYE_JOINTS), "eye_parents": ["Head"] * len(EYE_JOINTS),
                    "eye_offsets": EYE_OFFSETS.tolist()})
    return out


CAMERA_TO_WORLD = np.diag([1.0, -1.0, -1.0])  # a 180-degree turn about X: its own inverse


def world_rotations(rotations: np.ndarray) -> np.ndarray:
    """Each joint's rotation matrix (J x 3 x 3) composed from the local quaternions (J x 4, x y z w)."""
    local = Rotation.from_quat(np.asarray(rotations, np.float64)).as_matrix()
    world = np.empty_like(local)
    for j, parent in enumerate(PARENTS):
        world[j] = local[j] if parent < 0 else world[parent] @ local[j]
    return world


def forward_kinematics(offsets: np.ndarray, rotations: np.ndarray, root: np.ndarray) -> np.ndarray:
    """Joint positions (J x 3) from rest offsets (J x 3), local quaternions (J x 4, x y z w) and the root
    position, in whatever space the root's rotation and position are given in."""
    world = world_rotations(rotations)
    positions = np.empty((len(JOINTS), 3))
    for j, parent in enumerate(PARENTS):
        positions[j] = root if parent < 0 else positions[parent] + world[parent] @ offsets[j]
    return positions


def offsets_from_pose(joints3d: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """The rest offsets that forward kinematics turned into these joints: offset(j) = world(parent)^-1 (p(j) -
    p(parent)). (The JSONL results keep bone lengths and joints, not offsets.)"""
    world = world_rotations(rotations)
    offsets = np.zeros((len(PARENTS), 3))
    for j, parent in enumerate(PARENTS):
        if parent >= 0:
            offsets[j] = world[parent].T @ (joints3d[j] - joints3d[parent])
    return offsets


def quaternion_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a * b for quaternions x y z w (rotation b first, then a), on the last axis, broadcast. The pipeline composes
    a few dozen of these per person and frame: scipy's Rotation costs ~40 us a call there, this ~3."""
    ax, ay, az, aw = np.moveaxis(np.asarray(a, np.float64), -1, 0)
    bx, by, bz, bw = np.moveaxis(np.asarray(b, np.float64), -1, 0)
    return np.stack([aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw,
                     aw * bw - ax * bx - ay * by - az * bz], axis=-1)


CAMERA_TO_WORLD_QUATERNION = np.array([1.0, 0.0, 0.0, 0.0])  # CAMERA_TO_WORLD: 180 degrees about X


def to_world(rotations: np.ndarray, root: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A camera-space pose's local rotations and root position in world space (Y up; see the module notes).
    Only the root's rotation changes: every other rotation is relative to its parent."""
    rotations = np.array(rotations, np.float64)
    rotations[0] = quaternion_product(CAMERA_TO_WORLD_QUATERNION, rotations[0])
    return rotations, CAMERA_TO_WORLD @ np.asarray(root, np.float64)


@dataclass
class WorldPose:
    """One person's fitted pose in world space (Y up, metres, origin at the camera), computed once per person and
    frame by the pipeline and handed to every sink."""

    positions: np.ndarray  # J x 3 joint positions
    local: np.ndarray  # J x 4 local quaternions x y z w; the root's is its world rotation
    world: np.ndarray  # J x 4 world quaternions x y z w
    offsets: np.ndarray  # J x 3 rest offsets (skeleton axes, metres)
    fingers: FingerPose | None = None  # the finger bones in world space, when hands are on (livecap.fingers)

    @property
    def root(self) -> np.ndarray:
        return self.positions[0]

    @property
    def lowest_foot(self) -> float:
        return float(self.positions[FOOT_JOINTS, 1].min())


def world_pose(fit) -> WorldPose:
    """A fitted camera-space pose (livecap.types.SkeletonPose) in world space."""
    local, _ = to_world(fit.rotations, fit.root)
    world = _compose_down_the_chain(local)
    fingers = getattr(fit, "fingers", None)
    return WorldPose(world_positions(fit.joints3d), local, world, np.asarray(fit.offsets, np.float64),
                     None if fingers is None else fingers_in_world(fingers))


def world_positions(joints3d: np.ndarray) -> np.ndarray:
    """Camera-space joint positions in world space. A pose moved as a whole (its rotations kept) has the world
    pose it had, with these positions."""
    return np.asarray(joints3d, np.float64) @ CAMERA_TO_WORLD.T


def _compose_down_the_chain(local: np.ndarray) -> np.ndarray:
    """World quaternions from local ones, parent first; on Python floats, which for 21 small products beat numpy's
    per-call overhead (0.03 ms against 0.3 a person)."""
    world: list[tuple[float, ...]] = []
    for j, (bx, by, bz, bw) in enumerate(local.tolist()):
        if PARENTS[j] < 0:
            world.append((bx, by, bz, bw))
            continue
        ax, ay, az, aw = world[PARENTS[j]]
        world.append((aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
                      aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz))
    return np.array(world)


def fingers_in_world(fingers: FingerPose) -> FingerPose:
    """Camera-space finger bones in world space: positions and world rotations turn, local rotations stay."""
    tips = None if fingers.tips is None else fingers.tips @ CAMERA_TO_WORLD.T
    return replace(fingers, positions=fingers.positions @ CAMERA_TO_WORLD.T, world=CAMERA_TO_WORLD @ fingers.world,
                   present=dict(fingers.present), tips=tips)


def full_skeleton(fingers: bool = True, eyes: bool = False) -> tuple[list[str], list[int], np.ndarray]:
    """The body with its 30 finger bones (`fingers`) and its two eye bones under the Head (`eyes`), depth-first:
    names, parents, and each joint's row in concatenate([body rows, finger rows if fingers, eye rows if eyes])
    (livecap.fingers.full_hierarchy)."""
    if fingers:
        names, parents, source = full_hierarchy(JOINTS, PARENTS)
    else:
        names, parents, source = list(JOINTS), list(PARENTS), np.arange(len(JOINTS))
    if not eyes:
        return names, parents, source
    head = names.index("Head")  # its children come right after it, depth-first
    after = [p + len(EYE_JOINTS) if p > head else p for p in parents[head + 1:]]
    rows = len(source) + np.arange(len(EYE_JOINTS))
    return (names[:head + 1] + list(EYE_JOINTS) + names[head + 1:],
            parents[:head + 1] + [head] * len(EYE_JOINTS) + after,
            np.concatenate([source[:head + 1], rows, source[head + 1:]]))


def body_height(shin: float, thigh: float, torso: float, neck_head: float) -> float:
    """Approximate standing height: ankle-to-ear chain plus the head above the ears and the heel below the ankle."""
    return 1.12 * (shin + thigh + torso + neck_head)


def skeleton_height(offsets: np.ndarray) -> float:
    """A skeleton's standing height read back from its rest offsets (the fitter builds its torso as 0.25 + 0.35
    + 0.40 of the measured torso over Spine, Chest and Neck)."""
    return height_from_bone_lengths(np.linalg.norm(offsets, axis=1))


def height_from_bone_lengths(lengths: np.ndarray) -> float:
    """The same from each joint's bone length (its offset's length: the results' `bone_lengths`)."""
    torso = lengths[J["Spine"]] + lengths[J["Chest"]] + lengths[J["Neck"]]
    return float(body_height(lengths[J["LeftFoot"]], lengths[J["LeftLowerLeg"]], torso, lengths[J["Head"]]))


FLOOR_PERCENTILE = 10.0  # the floor: this low percentile of the lowest feet seen


class FloorEstimator:
    """Where the floor is (its world y), from the lowest foot of every pose fed to it over recent frames. A low
    percentile rather than the minimum keeps one bad fit from sinking the floor, and a window of a few seconds keeps
    a jump from lifting it. The camera is assumed level (no roll or pitch correction)."""

    def __init__(self, window: int | None = 90, percentile: float = FLOOR_PERCENTILE):
        self.lowest: deque[float] = deque(maxlen=window)
        self.percentile = percentile
        self.height: float | None = None  # the floor's world y, once any feet were seen

    def update(self, poses: list[WorldPose]) -> float | None:
        """Feed one frame's poses; returns the floor's world y (None before any person was seen)."""
        for pose in poses:
            self.add(pose.lowest_foot)
        return self.height

    def add(self, lowest_foot_y: float) -> None:
        self.lowest.append(float(lowest_foot_y))
        self.height = float(np.percentile(self.lowest, self.percentile))
