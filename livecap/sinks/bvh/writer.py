"""BVH text for livecap's skeleton: the hierarchy from livecap.skeleton and one line per frame.

Pure functions and one small stateful converter; files, streaming and crash safety live in livecap.sinks.bvh.recorder.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.spatial.transform import Rotation

from livecap import skeleton

UNIT_SCALE = {"cm": 100.0, "m": 1.0}  # file units per metre
FRAME_COUNT_WIDTH = 10  # "Frames: " is followed by this many characters, rewritten in place as frames arrive
END_SITE_FRACTION = 0.5  # a leaf's End Site continues its bone by half its length: no zero-length bones
DECIMALS = 6


def check_order(order: str) -> str:
    """A rotation order ("ZXY") as scipy's intrinsic sequence; ValueError for anything else."""
    order = order.upper()
    if sorted(order) != ["X", "Y", "Z"]:
        raise ValueError(f"rotation order must be a permutation of XYZ such as ZXY, not {order!r}")
    return order


def _children(parents: list[int]) -> list[list[int]]:
    children: list[list[int]] = [[] for _ in parents]
    for joint, parent in enumerate(parents):
        if parent >= 0:
            children[parent].append(joint)
    return children


def _number(value: float) -> str:
    text = f"{value:.{DECIMALS}f}"
    return "0.000000" if text == "-0.000000" else text


def _triple(values) -> str:
    return " ".join(_number(v) for v in values)


def hierarchy_lines(offsets: np.ndarray, order: str, scale: float, names: list[str] | None = None,
                    parents: list[int] | None = None) -> list[str]:
    """HIERARCHY section for livecap's skeleton: the root has position and rotation channels, every other joint
    rotations only, all in `order`; leaves get an End Site. The joints come in livecap.skeleton.JOINTS order (or
    `names` with their `parents`: the body with its fingers or eyes, livecap.skeleton.full_skeleton), which is
    depth-first, so motion columns follow that order too."""
    order = check_order(order)
    names = list(skeleton.JOINTS) if names is None else names
    parents = list(skeleton.PARENTS) if parents is None else parents
    rotations = " ".join(f"{axis}rotation" for axis in order)
    children = _children(parents)
    lines = ["HIERARCHY"]
    written: list[int] = []

    def joint(j: int, depth: int) -> None:  # depth <= 8 for this fixed skeleton
        pad = "\t" * depth
        keyword = "ROOT" if depth == 0 else "JOINT"
        offset = np.zeros(3) if depth == 0 else offsets[j] * scale  # the root's position channels rule
        channels = f"CHANNELS 6 Xposition Yposition Zposition {rotations}" if depth == 0 else f"CHANNELS 3 {rotations}"
        lines.extend([f"{pad}{keyword} {names[j]}", f"{pad}{{", f"{pad}\tOFFSET {_triple(offset)}",
                      f"{pad}\t{channels}"])
        written.append(j)
        for child in children[j]:
            joint(child, depth + 1)
        if not children[j]:  # an eye's bone points where it looks; any other leaf continues its bone
            eye = names[j] in skeleton.EYE_JOINTS
            tip = (skeleton.EYE_TIP if eye else offsets[j] * END_SITE_FRACTION) * scale
            lines.extend([f"{pad}\tEnd Site", f"{pad}\t{{", f"{pad}\t\tOFFSET {_triple(tip)}", f"{pad}\t}}"])
        lines.append(f"{pad}}}")

    joint(0, 0)
    assert written == list(range(len(names))), "joints must be in depth-first order"
    return lines


def frame_count_field(frames: int) -> str:
    """The frame count padded to a fixed width, so it can be rewritten in place (readers split on spaces)."""
    return f"{frames:<{FRAME_COUNT_WIDTH}d}"


def header_text(offsets: np.ndarray, order: str, scale: float, frame_time: float, frames: int = 0,
                names: list[str] | None = None, parents: list[int] | None = None) -> str:
    lines = hierarchy_lines(offsets, order, scale, names, parents)
    lines += ["MOTION", f"Frames: {frame_count_field(frames)}", f"Frame Time: {frame_time:.9f}"]
    return "\n".join(lines) + "\n"


def frame_count_position(header: str) -> int:
    """Character (= byte: the header is ASCII) position of the frame count in `header_text`'s output."""
    return header.index("\nFrames: ") + len("\nFrames: ")


def frame_line(root: np.ndarray, angles: np.ndarray, scale: float) -> str:
    """One motion line: root position (metres, scaled to file units) then every joint's three angles."""
    values = np.concatenate([np.asarray(root, np.float64) * scale, np.asarray(angles, np.float64).ravel()])
    return " ".join(_number(v) for v in values) + "\n"


def _nearest_turn(angles: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`angles` shifted by whole turns to lie within 180 degrees of `reference`."""
    return angles + 360.0 * np.round((reference - angles) / 360.0)


class EulerConverter:
    """Local quaternions -> BVH Euler angles (degrees, channel order), continuous from frame to frame.

    scipy gives one of the two Euler solutions, with angles wrapped to +-180; both jump when a joint turns past
    them. Each frame takes, per joint, whichever of the two equivalent solutions - (a, b, c) or (a + 180, 180 - b,
    c + 180) - unwrapped to the nearest turn lies closest to the previous frame's angles.
    """

    def __init__(self, order: str = "ZXY"):
        self.order = check_order(order)
        self.previous: np.ndarray | None = None

    def __call__(self, rotations_xyzw: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():  # gimbal lock is handled by the continuity choice below
            warnings.simplefilter("ignore", UserWarning)
            angles = Rotation.from_quat(np.asarray(rotations_xyzw, np.float64)).as_euler(self.order, degrees=True)
        if self.previous is not None:
            other = angles + np.array([180.0, 0.0, 180.0])
            other[:, 1] = 180.0 - angles[:, 1]
            first, second = _nearest_turn(angles, self.previous), _nearest_turn(other, self.previous)
            closer = np.abs(second - self.previous).sum(axis=1) < np.abs(first - self.previous).sum(axis=1)
            angles = np.where(closer[:, None], second, first)
        self.previous = angles
        return angles
