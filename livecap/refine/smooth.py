"""Non-causal smoothing of a fitted person over each stretch they were seen frame after frame, in the space the
measurements live in: the fitted joints' positions, forward and backward through scipy's Butterworth filter
(filtfilt), which removes jitter without the lag every live filter has. The joint angles are then fitted again to
the smoothed joints (livecap.refine.core): smoothing the angles themselves averaged poses the fit reaches by
different turns (an upper arm's twist is barely seen while the elbow is straight): on two_people at 4 Hz, 79.3 mm
p95 from the landmarks where the smoothed joints fitted again are 76.1 mm away, at about the same jitter.

- The root is smoothed along the camera ray, as the live Kalman filter does (livecap.pose.filtering.RootKalman): its
  direction is measured to a pixel, its depth only to centimetres, so the depth gets a lower cutoff.
- The body's joints are smoothed relative to the root.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, filtfilt

from livecap.skeleton import PARENTS, quaternion_product

ORDER = 2  # Butterworth order, doubled by running forward and backward
# the cutoff is at most this share of the frame rate: at 10 fps a 4 Hz cutoff would leave the jitter as it is
MAX_CUTOFF_SHARE = 0.2
COLUMNS = 8  # filtered at once
LOWEST_CAP = 1.5  # Hz: ... but never capped below this: motion capture sampled at 3.9 fps lost 27 mm under 0.8 Hz


@dataclass(frozen=True)
class SmootherSettings:
    cutoff: float  # Hz, the body's joints' and the root direction's; 0: no smoothing
    depth_cutoff: float  # Hz, the root's depth

    @classmethod
    def from_strength(cls, strength: float) -> "SmootherSettings":
        """0 = none, 1 = heavy; each 0.1 of strength lowers the cutoff by a factor of ~1.26. The default 0.5 gives
        4 Hz (at 30 fps: two_people's pose jitter 0.35 of the live pass's, tests/test_refine.py)."""
        if strength <= 0:
            return cls(0.0, 0.0)
        cutoff = 4.0 * 10 ** (0.5 - strength)
        return cls(cutoff, 0.5 * cutoff)

    def record(self) -> dict:
        return {"method": "fitted joints forward-backward Butterworth (scipy filtfilt), refitted", "order": ORDER,
                "cutoff_hz": round(self.cutoff, 3), "root_depth_cutoff_hz": round(self.depth_cutoff, 3),
                "max_cutoff_share_of_fps": MAX_CUTOFF_SHARE}


def lowpass(values: np.ndarray, times: np.ndarray, cutoff: float) -> np.ndarray:
    """Each column of `values` (frames first) zero-phase low-passed at `cutoff` Hz (at most MAX_CUTOFF_SHARE of
    the rate), for samples at `times` (their median step sets the rate); unchanged where too short."""
    values = np.asarray(values, np.float64)
    if cutoff <= 0 or len(values) < 4:
        return values.copy()
    rate = 1.0 / max(float(np.median(np.diff(times))), 1e-6)
    cutoff = min(cutoff, max(MAX_CUTOFF_SHARE * rate, LOWEST_CAP))
    if cutoff >= 0.45 * rate:
        return values.copy()
    b, a = butter(ORDER, cutoff / (0.5 * rate))
    flat = values.reshape(len(values), -1)
    out = np.empty_like(flat)
    for first in range(0, flat.shape[1], COLUMNS):  # Gustafsson's edges copy the data a few times: in parts
        out[:, first:first + COLUMNS] = filtfilt(b, a, flat[:, first:first + COLUMNS], axis=0, method="gust")
    return out.reshape(values.shape)


def smooth_joints(joints: np.ndarray, times: np.ndarray, settings: SmootherSettings) -> np.ndarray:
    """One stretch's camera-space joints (frames x joints x 3, the root first) smoothed: the root along the camera
    ray, the body relative to it."""
    joints = np.asarray(joints, np.float64)
    root = joints[:, 0]
    depth = np.maximum(root[:, 2], 1e-3)
    direction = lowpass(root[:, :2] / depth[:, None], times, settings.cutoff)
    depth = lowpass(depth, times, settings.depth_cutoff)
    root = np.column_stack([direction * depth[:, None], depth])
    body = joints - joints[:, :1]
    return root[:, None] + lowpass(body.reshape(len(body), -1), times, settings.cutoff).reshape(body.shape)


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectors v (... x 3) turned by unit quaternions q (... x 4, x y z w)."""
    u, w = q[..., :3], q[..., 3:]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def joint_positions(offsets: np.ndarray, rotations: np.ndarray, root: np.ndarray) -> np.ndarray:
    """Forward kinematics of many frames at once (livecap.skeleton's conventions): frames x joints x 3."""
    frames, joints = rotations.shape[:2]
    world = np.empty((frames, joints, 4))
    positions = np.empty((frames, joints, 3))
    for j, parent in enumerate(PARENTS):
        if parent < 0:
            world[:, j], positions[:, j] = rotations[:, j], root
        else:
            world[:, j] = quaternion_product(world[:, parent], rotations[:, j])
            positions[:, j] = positions[:, parent] + rotate(world[:, parent], np.broadcast_to(offsets[j], (frames, 3)))
    return positions
