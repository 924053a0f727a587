"""Non-causal smoothing of a fitted person over each stretch they were seen frame after frame: the joint angles
and the root through scipy's forward-backward (zero-phase) Butterworth filter, which removes jitter without the lag
every live filter has.

- Rotations are smoothed as quaternions made continuous (each frame's sign chosen nearest the last: q and -q are
  one rotation), filtered per component and normalised again; for the small steps between frames this is the
  rotation average, and it never meets the wrap-around a rotation vector or Euler angles have at 180 degrees.
- The root is smoothed along the camera ray, as the live Kalman filter does (livecap.pose.filtering.RootKalman):
  its direction is measured to a pixel, its depth only to centimetres, so the depth gets a lower cutoff.
- Feet in contact are then held where the fit held them (livecap.refine.feet).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, filtfilt

from livecap.pose.filtering import OneEuroFilter, OneEuroSettings
from livecap.skeleton import PARENTS, quaternion_product

ORDER = 2  # Butterworth order, doubled by running forward and backward


@dataclass(frozen=True)
class SmootherSettings:
    cutoff: float  # Hz, the joint angles' and the root direction's; 0: no smoothing
    depth_cutoff: float  # Hz, the root's depth

    @classmethod
    def from_strength(cls, strength: float) -> "SmootherSettings":
        """0 = none, 1 = heavy; each 0.1 of strength lowers the cutoff by a factor of ~1.26 (the default 0.5 gives
        the figures of tests/test_refine.py)."""
        if strength <= 0:
            return cls(0.0, 0.0)
        cutoff = 4.0 * 10 ** (1.0 * (0.5 - strength))
        return cls(cutoff, 0.5 * cutoff)

    def record(self) -> dict:
        return {"method": "forward-backward Butterworth (scipy filtfilt)", "order": ORDER,
                "cutoff_hz": round(self.cutoff, 3), "root_depth_cutoff_hz": round(self.depth_cutoff, 3)}


def lowpass(values: np.ndarray, times: np.ndarray, cutoff: float) -> np.ndarray:
    """Each column of `values` (frames first) zero-phase low-passed at `cutoff` Hz, for samples at `times`
    (their median step sets the rate); unchanged where the stretch is too short or the cutoff too high for it."""
    values = np.asarray(values, np.float64)
    if cutoff <= 0 or len(values) < 4:
        return values.copy()
    rate = 1.0 / max(float(np.median(np.diff(times))), 1e-6)
    if cutoff >= 0.45 * rate:
        return values.copy()
    b, a = butter(ORDER, cutoff / (0.5 * rate))
    return filtfilt(b, a, values, axis=0, method="gust")


def continuous(quaternions: np.ndarray) -> np.ndarray:
    """frames x joints x 4, each frame's sign flipped where needed to lie nearest the previous frame's."""
    q = np.array(quaternions, np.float64)
    if len(q) > 1:
        steps = np.where((q[1:] * q[:-1]).sum(axis=-1) < 0, -1.0, 1.0)
        q[1:] *= np.cumprod(steps, axis=0)[..., None]
    return q


def smooth_rotations(rotations: np.ndarray, times: np.ndarray, cutoff: float) -> np.ndarray:
    """Local quaternions (frames x joints x 4, x y z w) smoothed; w >= 0 as the fit gives them."""
    q = lowpass(continuous(rotations), times, cutoff)
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., 3:] < 0, -q, q)


def smooth_root(root: np.ndarray, times: np.ndarray, settings: SmootherSettings) -> np.ndarray:
    """Camera-space root positions (frames x 3) smoothed along the camera ray."""
    root = np.asarray(root, np.float64)
    depth = np.maximum(root[:, 2], 1e-3)
    direction = lowpass(root[:, :2] / depth[:, None], times, settings.cutoff)
    depth = lowpass(depth, times, settings.depth_cutoff)
    return np.column_stack([direction * depth[:, None], depth])


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


def one_euro_both_ways(values: np.ndarray, times: np.ndarray, settings: OneEuroSettings, scales: np.ndarray
                       ) -> np.ndarray:
    """The live One-Euro filter (livecap.pose.filtering) run forward and backward over a stretch and the two
    averaged: it adapts its cutoff to the speed as live, and the lag of one direction cancels the lead of the
    other. values: frames x ..., scales: frames (the body's size, as live)."""
    values = np.asarray(values, np.float64)
    forward, backward = OneEuroFilter(settings), OneEuroFilter(settings)
    out = np.empty_like(values)
    for k in range(len(values)):
        out[k] = forward(float(times[k]), values[k], float(scales[k]))
    end = float(times[-1]) if len(times) else 0.0
    for k in range(len(values) - 1, -1, -1):  # time runs backwards: the filter sees it run forwards from the end
        out[k] += backward(2.0 * end - float(times[k]), values[k], float(scales[k]))
    return 0.5 * out
