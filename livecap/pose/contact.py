"""Foot contact: which of a person's feet stand on the floor, frame by frame, from their world pose.

A foot is in contact when it is low (its lowest point, ankle or toes, within `height` of the person's floor) and
still (its horizontal speed under `speed`; on the first frame a person is seen, a low foot counts as still, so
that someone standing is held from the start). The floor is each person's own (livecap.skeleton.FloorEstimator over
their lowest foot): people far apart on a sloping or badly calibrated view each get theirs. The fit holds a foot
in contact where it was planted (livecap.pose.fitting.plant), which is what keeps it from sliding and the root
from drifting while someone stands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from livecap.skeleton import FOOT_JOINTS, FloorEstimator, J

FEET = {"left": (J["LeftFoot"], J["LeftToes"]), "right": (J["RightFoot"], J["RightToes"])}


@dataclass(frozen=True)
class ContactSettings:
    height: float = 0.1  # metres above the floor the lowest point of a standing foot may be (3D noise: cm)
    speed: float = 0.3  # metres per second: a foot slower than this, horizontally, is still


class FootContacts:
    """One person's foot contacts (it lives on the person's track). reset() when they are found again."""

    def __init__(self, settings: ContactSettings | None = None):
        self.settings = settings or ContactSettings()
        self.reset()

    def reset(self) -> None:
        self.floor = FloorEstimator()
        self._last: tuple[float, np.ndarray] | None = None  # time, foot joints' world positions
        self.flags = {side: False for side in FEET}

    def update(self, time: float, positions: np.ndarray) -> dict[str, bool]:
        """This frame's contacts ({"left": bool, "right": bool}) from the person's world joint positions
        (livecap.skeleton.WorldPose.positions)."""
        self.floor.add(positions[FOOT_JOINTS, 1].min())
        floor = self.floor.height
        feet = positions[[j for joints in FEET.values() for j in joints]]
        dt = time - self._last[0] if self._last is not None else 0.0
        for k, side in enumerate(FEET):
            low = feet[2 * k:2 * k + 2, 1].min() - floor < self.settings.height
            still = self._last is None  # a person is first seen standing until their feet are seen to move
            if dt > 0:
                step = feet[2 * k] - self._last[1][2 * k]
                still = np.hypot(step[0], step[2]) / dt < self.settings.speed
            self.flags[side] = bool(low and still)
        self._last = (time, feet)
        return dict(self.flags)


def joints_in_contact(flags: dict[str, bool]) -> dict[int, bool]:
    """The contact flags by the joint the fit plants for each foot (the ankle)."""
    return {FEET[side][0]: flag for side, flag in flags.items()}
