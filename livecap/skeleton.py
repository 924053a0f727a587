"""The one humanoid hierarchy every stage and sink uses.

Convention (documented here once; the BVH and OSC sinks convert from it):
- Joint names are Unity HumanBodyBones names, Hips is the root.
- Rest pose is a T-pose facing +Z, Y up, X to the person's left, right-handed, metres.
- A joint's local rotation of identity means its T-pose orientation.
"""

from __future__ import annotations

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
