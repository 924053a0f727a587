"""Speed / accuracy presets: which models run, at what input size, how often the people detector runs."""

from __future__ import annotations

from dataclasses import dataclass

from livecap.errors import LivecapError


@dataclass(frozen=True)
class Preset:
    name: str
    landmark_model: str  # catalog name
    detector_model: str
    detector_long_side: int  # MoveNet input, long side in pixels (multiple of 32)
    detect_every: int  # frames between detector runs while every person stays tracked


PRESETS = {
    "fast": Preset("fast", "blazepose_landmark_lite", "movenet_multipose_lightning", 256, 12),
    "balanced": Preset("balanced", "blazepose_landmark_full", "movenet_multipose_lightning", 256, 8),
    "accurate": Preset("accurate", "blazepose_landmark_full", "movenet_multipose_lightning", 448, 4),
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise LivecapError(f"unknown preset '{name}': choose one of {', '.join(PRESETS)}") from None
