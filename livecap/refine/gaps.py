"""Gaps filled: a person unseen for a short while between two seen stretches is interpolated across it, joint
rotations by slerp (scipy.spatial.transform.Slerp, kept within the joints' limits) and the root along a cubic
Hermite curve that leaves and meets each stretch at its own velocity (scipy.interpolate.CubicHermiteSpline); the
person's image points are interpolated linearly. A longer gap stays a gap (the BVH recorder lists it as such).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicHermiteSpline
from scipy.spatial.transform import Rotation, Slerp

from livecap.pose.fitting import model
from livecap.pose.fitting.model import within_limits

MAX_GAP = 1.0  # seconds from the last frame seen to the next: what is filled at most
VELOCITY_SECONDS = 0.2  # each stretch's end velocity is measured over this much of it


@dataclass
class Timeline:
    """One person over the frames they are published in: those they were seen in and those filled."""

    frames: np.ndarray  # m: the take's frame positions, increasing
    seen: np.ndarray  # m: the index of the seen frame (into the fit's arrays), -1 where filled
    before: np.ndarray  # m: the seen frame before a filled one (itself where seen)
    after: np.ndarray  # m: the seen frame after a filled one (itself where seen)
    weight: np.ndarray  # m: how far a filled frame lies from `before` towards `after` (0 where seen)
    rotations: np.ndarray  # m x joints x 4
    root: np.ndarray  # m x 3
    contacts: np.ndarray  # m x 2

    @property
    def interpolated(self) -> np.ndarray:
        return self.seen < 0


def gaps(frames: np.ndarray, times: np.ndarray, max_gap: float = MAX_GAP) -> list[tuple[int, np.ndarray]]:
    """The gaps to fill: (k, the take's frame positions missing between seen frame k and k + 1) wherever the
    time from one to the other is at most `max_gap`. `times`: every frame of the take's."""
    out = []
    for k in np.flatnonzero(np.diff(frames) > 1):
        if times[frames[k + 1]] - times[frames[k]] <= max_gap + 1e-9:
            out.append((int(k), np.arange(frames[k] + 1, frames[k + 1])))
    return out


def _end_velocity(root: np.ndarray, times: np.ndarray, k: int, forward: bool) -> np.ndarray:
    """The root's velocity (metres per second) at the end of the stretch that ends (forward=False: starts) at k."""
    step = -1 if not forward else 1
    picked = [k]
    while 0 <= picked[-1] + step < len(times) and abs(times[picked[-1] + step] - times[k]) <= VELOCITY_SECONDS:
        picked.append(picked[-1] + step)
    if len(picked) < 2:
        return np.zeros(3)
    t = times[picked]
    return np.polyfit(t - t.mean(), root[picked], 1)[0]


def _slerp(ends: np.ndarray, t0: float, t1: float, t: np.ndarray, joint: int) -> np.ndarray:
    """A joint's rotation from `ends` (2 x 4) at times t between t0 and t1, kept within the joint's limits (the
    arc between two rotations inside the limits can leave them: by 0.006 rad on vtest)."""
    turns = Slerp([t0, t1], Rotation.from_quat(ends))(t)
    return (within_limits(turns, joint) if model.DOF[joint] else turns).as_quat()


def fill(frames: np.ndarray, seen_times: np.ndarray, rotations: np.ndarray, root: np.ndarray, contacts: np.ndarray,
         times: np.ndarray, max_gap: float = MAX_GAP) -> Timeline:
    """The timeline of a person seen at `frames` (the take's positions; `seen_times` theirs), with every short
    gap filled. `times`: every frame of the take's. Filled frames have no contact."""
    n = len(frames)
    pieces = [(frames, np.arange(n), np.arange(n), np.arange(n), np.zeros(n), rotations, root, contacts)]
    for k, missing in gaps(frames, times, max_gap):
        t0, t1, t = seen_times[k], seen_times[k + 1], times[missing]
        quats = np.stack([_slerp(rotations[[k, k + 1], j], t0, t1, t, j) for j in range(rotations.shape[1])],
                         axis=1)
        curve = CubicHermiteSpline([t0, t1], root[[k, k + 1]], np.stack([
            _end_velocity(root, seen_times, k, forward=False), _end_velocity(root, seen_times, k + 1, forward=True)]))
        m = len(missing)
        pieces.append((missing, np.full(m, -1), np.full(m, k), np.full(m, k + 1), (t - t0) / (t1 - t0), quats,
                       curve(t), np.zeros((m, 2), bool)))
    order = np.argsort(np.concatenate([p[0] for p in pieces]), kind="stable")
    kinds = (np.int32, np.int32, np.int32, np.int32, np.float32, np.float32, np.float64, bool)  # compact: kept
    return Timeline(*(np.concatenate([p[i] for p in pieces])[order].astype(kind) for i, kind in enumerate(kinds)))
