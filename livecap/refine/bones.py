"""Bones from the whole take: the fit's own reliability-weighted bone estimate (livecap.pose.fitting.model), made
over every frame a person was seen rather than their first second. Live, the bones must be frozen before the BVH
header is written; a refined take's header is written after the pass."""

from __future__ import annotations

import numpy as np

from livecap.pose.fitting import model


def track_segments(world33: np.ndarray, image33: np.ndarray) -> np.ndarray:
    """Segment lengths (model.SEGMENT_NAMES, metres) from many frames' landmarks (frames x 33 x 3 each): per
    segment the reliability-squared weighted median of every frame's measure of it."""
    visibility = np.clip(np.asarray(image33, np.float64)[..., 2], 0.0, 1.0)
    return model.segments_from_pairs(model.BLAZEPOSE_BODY.measure_pairs(np.asarray(world33, np.float64)),
                                     model.BLAZEPOSE_BODY.pair_reliability(visibility))


def whole_take_offsets(world33: np.ndarray, image33: np.ndarray, height: float | None = None) -> np.ndarray:
    """A person's rest offsets (joints x 3) from every frame they were seen in, scaled to `height` when known."""
    segments = track_segments(world33, image33)
    if height:
        segments *= height / model.standing_height(segments)
    return model.rest_offsets(segments)
