"""From the Y-up world of livecap.skeleton to Unity's frame.

Unity (VMC, VRChat) is left-handed, Y up, and a VRM avatar's rest pose faces +Z with its left hand at -X.
livecap's world is right-handed, Y up, and the rest pose faces +Z with the person's left at +X. So the change of
handedness mirrors X only (ecosystem notes 1.3): p_u = (-x, y, z), and a rotation R becomes S R S with
S = diag(-1, 1, 1), i.e. q_u = (qx, -qy, -qz, qw). Mirroring Z instead would also give valid rotations but would
turn the avatar 180 degrees against its rest pose. Names stay the person's own: the person's left arm drives the
avatar's LeftUpperArm.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation


def unity_position(p: np.ndarray) -> np.ndarray:
    """World position(s) (..., 3) in Unity axes."""
    out = np.array(p, np.float64)
    out[..., 0] *= -1.0
    return out


def unity_quaternion(q: np.ndarray) -> np.ndarray:
    """World or local quaternion(s) (..., 4, x y z w) in Unity axes: S R S with S = diag(-1, 1, 1)."""
    out = np.array(q, np.float64)
    out[..., 1:3] *= -1.0
    return out


def unity_euler_degrees(q_unity: np.ndarray) -> tuple[float, float, float]:
    """Unity's Transform.eulerAngles (x, y, z) of a Unity quaternion: Unity applies Z, then X, then Y, so
    R = Ry(y) Rx(x) Rz(z), which is scipy's intrinsic 'YXZ'."""
    y, x, z = Rotation.from_quat(q_unity).as_euler("YXZ", degrees=True)
    return float(x), float(y), float(z)
