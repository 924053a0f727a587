"""BVH as a typed value: the hierarchy, the motion table, and forward kinematics to world positions.

Conventions (see docs/bvh.md, "The format"): rotation channels are degrees, listed in composition order, so channels
`Zrotation Xrotation Yrotation` mean R = Rz(z) Rx(x) Ry(y) = scipy `from_euler("ZXY", [z, x, y])` (uppercase:
intrinsic). A joint's world transform is M_parent * T(offset) * R; position channels replace the OFFSET.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from livecap.errors import LivecapError

POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")
CHANNEL_NAMES = POSITION_CHANNELS + ROTATION_CHANNELS


class BvhFormatError(LivecapError):
    """A BVH file does not follow the format; the message names the file and line."""

    def __init__(self, source: str, line: int | None, problem: str):
        where = f"{source} line {line}" if line else source
        super().__init__(f"{where}: {problem}")
        self.source, self.line, self.problem = source, line, problem


@dataclass
class Joint:
    name: str
    parent: int  # index into Bvh.joints, -1 for the root
    offset: np.ndarray  # 3, relative to the parent, file units
    channels: tuple[str, ...]  # e.g. ("Xposition", ..., "Zrotation", "Xrotation", "Yrotation")
    end_site: np.ndarray | None = None  # 3: the End Site's offset, if the joint has one
    first_channel: int = 0  # column of this joint's first channel in the motion table

    @property
    def rotation_order(self) -> str:
        """scipy intrinsic sequence of the rotation channels, e.g. "ZXY" ("" when the joint has none)."""
        return "".join(c[0] for c in self.channels if c in ROTATION_CHANNELS)


@dataclass
class Bvh:
    joints: list[Joint]
    frame_time: float  # seconds
    motion: np.ndarray  # frames x channels, float64
    source: str = "<bvh>"
    notes: list[str] = field(default_factory=list)  # tolerated oddities (e.g. a short final line)

    @property
    def frames(self) -> int:
        return len(self.motion)

    @property
    def channel_count(self) -> int:
        return sum(len(j.channels) for j in self.joints)

    @property
    def duration(self) -> float:
        return self.frames * self.frame_time

    @property
    def names(self) -> list[str]:
        return [j.name for j in self.joints]

    def index(self, name: str) -> int:
        return self.names.index(name)


def _local_transforms(joint: Joint, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame local rotation matrices (F x 3 x 3) and translations (F x 3) of one joint."""
    frames = len(values)
    columns = {name: values[:, joint.first_channel + k] for k, name in enumerate(joint.channels)}
    translation = np.tile(joint.offset, (frames, 1))
    for axis, name in enumerate(POSITION_CHANNELS):
        if name in columns:  # position channels replace the OFFSET (what Blender and most readers do)
            translation[:, axis] = columns[name]
    order = joint.rotation_order
    if not order:
        return np.tile(np.eye(3), (frames, 1, 1)), translation
    angles = np.stack([columns[f"{axis}rotation"] for axis in order], axis=1)
    return Rotation.from_euler(order, angles, degrees=True).as_matrix(), translation


def world_positions(bvh: Bvh, frames: slice | np.ndarray | None = None, end_sites: bool = False) -> np.ndarray:
    """World positions (F x J x 3, file units) of every joint by forward kinematics; with `end_sites`, the End
    Sites follow the joints as extra columns (in joint order)."""
    values = bvh.motion if frames is None else bvh.motion[frames]
    if len(values) == 0:  # the rest pose when there is no motion
        values = np.zeros((1, bvh.channel_count))
    count = len(values)
    rotation = np.empty((len(bvh.joints), count, 3, 3))
    position = np.empty((len(bvh.joints), count, 3))
    tips = []
    for j, joint in enumerate(bvh.joints):
        local_r, local_t = _local_transforms(joint, values)
        if joint.parent < 0:
            rotation[j], position[j] = local_r, local_t
        else:
            parent_r = rotation[joint.parent]
            rotation[j] = parent_r @ local_r
            position[j] = position[joint.parent] + np.einsum("fij,fj->fi", parent_r, local_t)
        if end_sites and joint.end_site is not None:
            tips.append(position[j] + np.einsum("fij,j->fi", rotation[j], joint.end_site))
    out = position.transpose(1, 0, 2)
    if tips:
        out = np.concatenate([out, np.stack(tips, axis=1)], axis=1)
    return out


def rest_positions(bvh: Bvh) -> np.ndarray:
    """Joint and End Site positions (N x 3) with every channel at zero and the root at its OFFSET."""
    rest = Bvh(bvh.joints, bvh.frame_time, np.zeros((1, bvh.channel_count)), bvh.source)
    root = bvh.joints[0]
    for k, name in enumerate(root.channels):  # zero position channels would drop the root OFFSET
        if name in POSITION_CHANNELS:
            rest.motion[0, root.first_channel + k] = root.offset[POSITION_CHANNELS.index(name)]
    return world_positions(rest, end_sites=True)[0]


def guess_units(bvh: Bvh) -> str:
    """A guess from the rest skeleton's size (BVH has no unit field): an adult is ~1.5-1.9 m tall."""
    points = rest_positions(bvh)
    size = float((points.max(axis=0) - points.min(axis=0)).max())
    for low, high, units in ((0.8, 2.5, "metres"), (80, 250, "centimetres"), (40, 80, "inches"),
                             (18, 40, "CMU units (~5.6 cm)")):
        if low <= size <= high:
            return f"{units} (figure {size:.4g} units tall)"
    return f"unknown (figure {size:.4g} units tall)"
