"""Where the people detector looks for someone lost (pure): the tracker asks for a whole-image run on a schedule, and
after a loss only for the regions where a detection could continue the lost person (livecap.pose.tracking)."""

from __future__ import annotations

import numpy as np

from livecap.pose.costs import heading
from livecap.pose.track import Track
from livecap.settings import TrackerSettings
from livecap.types import SearchRegion


def where_found_again(track: Track, settings: TrackerSettings, width: int, height: int) -> SearchRegion:
    """The region any detection that the re-attach cost (livecap.pose.costs.reattach_cost) lets continue this lost
    track lies in: its centre within reattach_distance body sizes of where the track was heading, its box's long
    side at most reattach_size_ratio body sizes, so reaching (reattach_distance + reattach_size_ratio / 2) body
    sizes from that point at most; bounded by the image (width x height)."""
    centre = heading(track)
    half = (settings.reattach_distance + settings.reattach_size_ratio / 2) * track.body_size
    box = np.clip(np.concatenate([centre - half, centre + half]), 0, [width, height, width, height])
    return SearchRegion(box.astype(np.float32), track.body_size)


def merged_regions(regions: list[SearchRegion]) -> list[SearchRegion]:
    """Overlapping regions joined into their bounding box (seeking the smaller body), until none overlap: one
    detector run per region, and no person found twice."""
    regions = list(regions)
    merged = True
    while merged:
        merged = False
        for i in range(len(regions)):
            for j in range(i + 1, len(regions)):
                a, b = regions[i].box, regions[j].box
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    box = np.concatenate([np.minimum(a[:2], b[:2]), np.maximum(a[2:], b[2:])])
                    regions[i] = SearchRegion(box, min(regions[i].body_size, regions[j].body_size))
                    del regions[j]
                    merged = True
                    break
            if merged:
                break
    return regions


def searched(box: np.ndarray, regions: list[SearchRegion]) -> bool:
    """Does one of these regions hold the whole box (a body its detector run could find: one the region's edge
    cuts is dropped, livecap.models.movenet.MoveNetMultiPose.search)?"""
    return any(bool(np.all(box[:2] >= r.box[:2]) and np.all(box[2:] <= r.box[2:])) for r in regions)
