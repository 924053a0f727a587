"""Irregular capture samples of one person -> poses at a fixed frame rate (pure; no files).

Output frame k is the pose at `t0 + k / fps`, t0 being the person's first sample. Between two samples closer than
`max_gap` seconds the pose is interpolated (slerp per joint, linear root); across a longer absence the last pose
is held until the person is seen again, and the held frames are reported as a gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation


@dataclass
class Pose:
    root: np.ndarray  # 3, world metres
    rotations: np.ndarray  # J x 4 local quaternions x y z w, world-space root


def interpolate(a: Pose, b: Pose, u: float) -> Pose:
    """The pose a fraction u in [0, 1] of the way from a to b."""
    ra, rb = Rotation.from_quat(a.rotations), Rotation.from_quat(b.rotations)
    turn = Rotation.from_rotvec((ra.inv() * rb).as_rotvec() * u)  # shortest path, per joint
    return Pose(a.root + (b.root - a.root) * u, (ra * turn).as_quat())


@dataclass
class Resampler:
    fps: float
    max_gap: float = 0.5  # seconds without a sample after which the person counts as away
    t0: float | None = None
    last_time: float = 0.0
    last: Pose | None = None
    next_frame: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)  # [first, last] output frames held while away

    def time_of(self, frame: int) -> float:
        return self.t0 + frame / self.fps

    def add(self, time: float, pose: Pose) -> list[Pose]:
        """The output frames up to `time` that this sample completes."""
        if self.last is None:
            self.t0, self.last_time, self.last, self.next_frame = time, time, pose, 1
            return [pose]
        if time <= self.last_time:  # a repeated or out-of-order timestamp adds nothing
            return []
        away = time - self.last_time > self.max_gap
        out, first = [], self.next_frame
        # a tolerance of a microsecond keeps float noise from dropping the frame that falls exactly on a sample
        while self.time_of(self.next_frame) <= time + 1e-6:
            t = self.time_of(self.next_frame)
            if away:
                out.append(pose if t >= time - 1e-6 else self.last)
            else:
                out.append(interpolate(self.last, pose, min(1.0, (t - self.last_time) / (time - self.last_time))))
            self.next_frame += 1
        held = sum(1 for frame in out if frame is self.last) if away else 0
        if held:
            self.gaps.append((first, first + held - 1))
        self.last_time, self.last = time, pose
        return out

    @property
    def seconds(self) -> float:
        """How long the person has been tracked, first to last sample."""
        return 0.0 if self.last is None else self.last_time - self.t0
