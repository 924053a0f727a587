"""The hands of the skeleton, defined once: the 21 hand points, the 30 Unity finger bones that hang below the body's
LeftHand and RightHand, their rest pose and hinge axes, and forward kinematics. livecap.skeleton re-exports these;
BVH, VMC, plain OSC and the desktop app all read the finger hierarchy from here.

Conventions (those of livecap.skeleton): rest T-pose facing +Z, Y up, X to the person's left, metres; palms face
down (-Y) and thumbs point forward (+Z) at rest, fingers straight along the arm (+X for the left hand, -X for the
right), the thumb 45 degrees forward of them. A finger bone's local rotation of identity is that rest pose.

The hand points are MediaPipe's (also COCO-WholeBody's): wrist, then thumb CMC, MCP, IP, tip, then index, middle,
ring and pinky MCP, PIP, DIP, tip. The bone named `<Side><Finger>Proximal` starts at the finger's first point after
the wrist (the thumb's CMC, the other fingers' MCP knuckle), Intermediate at the next, Distal at the next; the tip
is the Distal bone's end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIDES = ("left", "right")
SIDE_NAMES = {"left": "Left", "right": "Right"}
FINGERS = ("Thumb", "Index", "Middle", "Ring", "Little")
PHALANGES = ("Proximal", "Intermediate", "Distal")
HAND_POINTS = 21
BONES_PER_HAND = len(FINGERS) * len(PHALANGES)  # 15

POINT_NAMES: tuple[str, ...] = ("wrist",) + tuple(f"{finger}{k}" for finger in ("thumb", "index", "middle", "ring",
                                                                                   "pinky") for k in range(1, 5))
WRIST, INDEX_BASE, MIDDLE_BASE, RING_BASE, PINKY_BASE = 0, 5, 9, 13, 17
FINGER_BASES = np.array([1, 5, 9, 13, 17])  # first point of each finger

# per hand, bone b (finger f = b // 3, phalanx k = b % 3) runs from point BONE_START[b] to BONE_START[b] + 1
BONE_START = np.array([1 + 4 * f + k for f in range(len(FINGERS)) for k in range(len(PHALANGES))])
BONE_END = BONE_START + 1

FINGER_JOINTS: tuple[str, ...] = tuple(f"{SIDE_NAMES[side]}{finger}{phalanx}" for side in SIDES
                                       for finger in FINGERS for phalanx in PHALANGES)
# each finger bone's parent by name: the body's hand for a Proximal bone, else the previous phalanx
FINGER_PARENT_NAMES: dict[str, str] = {}
for _side in SIDES:
    for _finger in FINGERS:
        _chain = [f"{SIDE_NAMES[_side]}Hand"] + [f"{SIDE_NAMES[_side]}{_finger}{p}" for p in PHALANGES]
        FINGER_PARENT_NAMES.update({child: parent for parent, child in zip(_chain, _chain[1:])})

# drawing: the hand's 21 points as segments (palm outline and each finger's chain)
HAND_EDGES = np.array([(0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (9, 10), (10, 11), (11, 12),
                       (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20), (5, 9), (9, 13),
                       (13, 17)], np.intp)

# The left hand's rest geometry (the right hand is its mirror image in X, see MIRROR). Per bone: its rest
# direction d (along the finger), the way it curls u (towards the palm) and the hinge axis w = d x u: a curl of
# angle a turns d towards u about w. The thumb curls across the palm, towards the little finger.
_THUMB = np.array([1.0, 0.0, 1.0]) / np.sqrt(2.0)
_THUMB_CURL = np.array([0.5, -1.0, -0.5]) / np.linalg.norm([0.5, -1.0, -0.5])
REST_DIRECTION = np.array([_THUMB if b < 3 else (1.0, 0.0, 0.0) for b in range(BONES_PER_HAND)])
CURL_DIRECTION = np.array([_THUMB_CURL if b < 3 else (0.0, -1.0, 0.0) for b in range(BONES_PER_HAND)])
HINGE_AXIS = np.cross(REST_DIRECTION, CURL_DIRECTION)
MIRROR = np.diag([-1.0, 1.0, 1.0])  # left hand <-> right hand

# The hand's own frame from its points: fingers (wrist -> middle base), across (pinky base -> index base), and
# their cross product; at rest these are these axes, per side.
HAND_REST_AXES = {"left": np.column_stack([(1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, -1.0, 0.0)]),
                  "right": np.column_stack([(-1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, 1.0, 0.0)])}


def full_hierarchy(body_joints: tuple[str, ...], body_parents: tuple[int, ...]
                   ) -> tuple[list[str], list[int], np.ndarray]:
    """The body's joints with every finger bone below its hand, depth-first (as BVH lists joints): names, parent
    indices in that list, and for each the index into concatenate([body joints, FINGER_JOINTS])."""
    children: list[list[int]] = [[] for _ in body_joints]
    for j, parent in enumerate(body_parents):
        if parent >= 0:
            children[parent].append(j)
    names: list[str] = []
    parents: list[int] = []
    source: list[int] = []

    def add(name: str, parent: int, index: int) -> int:
        names.append(name)
        parents.append(parent)
        source.append(index)
        return len(names) - 1

    def visit(j: int, parent: int) -> None:
        me = add(body_joints[j], parent, j)
        if body_joints[j] in ("LeftHand", "RightHand"):
            side = "left" if body_joints[j] == "LeftHand" else "right"
            for f in range(len(FINGERS)):
                up = me
                for k in range(len(PHALANGES)):
                    b = SIDES.index(side) * BONES_PER_HAND + 3 * f + k
                    up = add(FINGER_JOINTS[b], up, len(body_joints) + b)
        for child in children[j]:
            visit(child, me)

    visit(0, -1)
    return names, parents, np.array(source)


def rest_offsets(base_points: np.ndarray, lengths: np.ndarray, side: str) -> np.ndarray:
    """One hand's 15 bone offsets from their parents (metres, rest axes): each Proximal bone starts at its finger's
    base point (base_points: 5 x 3, the left hand's frame, relative to the wrist), the next phalanges along the rest
    direction by the length of the bone before (lengths: 15, each bone's own length)."""
    offsets = np.zeros((BONES_PER_HAND, 3))
    for b in range(BONES_PER_HAND):
        offsets[b] = base_points[b // 3] if b % 3 == 0 else REST_DIRECTION[b] * lengths[b - 1]
    return offsets if side == "left" else offsets @ MIRROR


# A typical adult hand (left hand's rest frame, metres) for a hand not measured yet, scaled to the forearm
TYPICAL_FOREARM = 0.26
TYPICAL_BASES = np.array([(0.025, -0.01, 0.02), (0.09, 0.0, 0.025), (0.092, 0.0, 0.0), (0.085, 0.0, -0.02),
                          (0.075, 0.0, -0.04)])
TYPICAL_LENGTHS = np.array([0.04, 0.035, 0.03, 0.045, 0.025, 0.022, 0.05, 0.03, 0.024, 0.045, 0.028, 0.023,
                            0.035, 0.02, 0.02])


def typical_offsets(side: str, forearm: float) -> tuple[np.ndarray, np.ndarray]:
    """A typical hand's rest offsets and tip offsets, scaled to a person's forearm length (metres)."""
    scale = forearm / TYPICAL_FOREARM if forearm > 0 else 1.0
    return (rest_offsets(TYPICAL_BASES * scale, TYPICAL_LENGTHS * scale, side),
            tip_offsets(TYPICAL_LENGTHS * scale, side))


@dataclass
class FingerPose:
    """Both hands' finger bones of one person in one space (camera or world, as its hand rotations are): rows in
    FINGER_JOINTS order, left hand first; a hand not seen has NaN positions and its last fitted rotations, relaxing
    towards rest (identity) since it was lost."""

    positions: np.ndarray  # 30 x 3 joint positions
    local: np.ndarray  # 30 x 4 local quaternions x y z w (relative to the parent bone; identity = rest)
    world: np.ndarray  # 30 x 3 x 3 rotation matrices in that space
    offsets: np.ndarray  # 30 x 3 rest offsets (rest axes, metres)
    present: dict[str, bool]  # per side: was this hand fitted in this frame
    tips: np.ndarray | None = None  # 10 x 3 fingertips (the Distal bones' ends), left hand's five first
    lengths: np.ndarray | None = None  # 30: each bone's own length (to the next joint or the fingertip), metres;
    # NaN for a hand whose shape is not measured yet (its offsets are then a typical hand's)


def tip_offsets(lengths: np.ndarray, side: str) -> np.ndarray:
    """Each finger's tip from its Distal joint, in that bone's rest frame (5 x 3): its length along the finger."""
    tips = REST_DIRECTION[2::3] * np.asarray(lengths)[2::3, None]
    return tips if side == "left" else tips @ MIRROR


def fingertips(positions: np.ndarray, world: np.ndarray, tips: np.ndarray) -> np.ndarray:
    """The five fingertips (5 x 3) of one hand's posed bones (finger_kinematics) and its tip offsets."""
    return positions[2::3] + np.einsum("fij,fj->fi", world[2::3], tips)


def finger_kinematics(hand_position: np.ndarray, hand_rotation: np.ndarray, local: np.ndarray,
                      offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One hand's 15 bone positions and world rotation matrices from the hand joint's position and world rotation
    (3 x 3), the bones' local rotation matrices (15 x 3 x 3) and offsets (15 x 3)."""
    positions = np.empty((BONES_PER_HAND, 3))
    world = np.empty((BONES_PER_HAND, 3, 3))
    for b in range(BONES_PER_HAND):
        parent_p, parent_r = (hand_position, hand_rotation) if b % 3 == 0 else (positions[b - 1], world[b - 1])
        positions[b] = parent_p + parent_r @ offsets[b]
        world[b] = parent_r @ local[b]
    return positions, world
