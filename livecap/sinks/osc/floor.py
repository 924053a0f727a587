"""Where the floor is: shared by VRChat trackers and the plain stream's floor space (a person's height:
livecap.pose.fitting.model.skeleton_height).

The floor is estimated in world space (Y up) from the lowest foot joints of everyone over recent frames. A low
percentile rather than the minimum keeps one bad fit from sinking the floor, and a window of a few seconds keeps
a jump from lifting it. The camera is assumed level (no roll or pitch correction).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from livecap.sinks.osc.space import J, WorldPose

FOOT_JOINTS = [J["LeftFoot"], J["RightFoot"], J["LeftToes"], J["RightToes"]]


class FloorEstimator:
    def __init__(self, window: int = 90, percentile: float = 10.0):
        self.lowest: deque[float] = deque(maxlen=window)
        self.percentile = percentile
        self.height: float | None = None  # the floor's world y, once any feet were seen

    def update(self, poses: list[WorldPose]) -> float | None:
        """Feed one frame's poses; returns the floor's world y (None before any person was seen)."""
        for pose in poses:
            self.lowest.append(float(pose.positions[FOOT_JOINTS, 1].min()))
        if self.lowest:
            self.height = float(np.percentile(self.lowest, self.percentile))
        return self.height
