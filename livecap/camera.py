"""Pinhole camera intrinsics."""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_HORIZONTAL_FOV_DEG = 60.0  # typical of laptop and USB webcams


@dataclass(frozen=True)
class CameraIntrinsics:
    fx: float
    fy: float
    cx: float
    cy: float

    @classmethod
    def from_fov(cls, width: int, height: int, horizontal_fov_deg: float = DEFAULT_HORIZONTAL_FOV_DEG):
        f = (width / 2.0) / math.tan(math.radians(horizontal_fov_deg) / 2.0)
        return cls(fx=f, fy=f, cx=width / 2.0, cy=height / 2.0)

    def to_dict(self) -> dict:
        return {"fx": round(self.fx, 3), "fy": round(self.fy, 3), "cx": round(self.cx, 3), "cy": round(self.cy, 3)}
