"""What the people tracker weighs when it pairs what it sees with the people it follows (pure): each question is a
function the tracker is given, as norfair's trackers take a `distance_function`. A cost is lower for a likelier
pair and `NO_MATCH` (infinite) where the two cannot be one person. The numbers are TrackerSettings'; the defaults,
`TrackerCosts.from_settings`, are the rules the dev videos were tuned with.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from livecap.pose.similarity import box_area, box_centre, box_iou, object_keypoint_similarity
from livecap.pose.track import Track
from livecap.settings import TrackerSettings

NO_MATCH = math.inf

# a detection's COCO-17 keypoints (17 x 3) against a track seen in the last frame
DetectionCost = Callable[[np.ndarray, Track], float]
# a detection's box (x1, y1, x2, y2) against a track that no detection's pose explains (lost, or drifted)
ReattachCost = Callable[[np.ndarray, Track], float]
# two poses' COCO-17 points and the area OKS scales them by: are they one body?
SameBody = Callable[[np.ndarray, np.ndarray, float], bool]
# a box-only detection's box and another box: does the other already explain it?
Covers = Callable[[np.ndarray, np.ndarray], bool]


def pose_cost(keypoints: np.ndarray, track: Track, same_body_oks: float) -> float:
    """1 - OKS against the track's own landmarks, gated: a pose less alike than `same_body_oks` is another body
    (poses, not boxes: two people one behind the other share a box but not a pose)."""
    oks = object_keypoint_similarity(keypoints, track.own_coco17, box_area(track.joint_box))
    return 1.0 - oks if oks >= same_body_oks else NO_MATCH


def reattach_cost(box: np.ndarray, track: Track, max_distance: float, size_ratio: float) -> float:
    """Appearance-free: the distance, in body sizes, of the box's centre from where the track was heading, for a
    body size within `size_ratio` of the track's (poses change it: crouching, arms up) and at most `max_distance`
    away. The detector's box spans the whole body, as the track's size does."""
    height = float(max(box[3] - box[1], box[2] - box[0], 1.0))
    ratio = height / track.body_size
    if not 1 / size_ratio <= ratio <= size_ratio:
        return NO_MATCH
    distance = float(np.linalg.norm(box_centre(box) - heading(track))) / track.body_size
    return distance if distance <= max_distance else NO_MATCH


def heading(track: Track) -> np.ndarray:
    """Where a lost track's body centre has moved to by now, at its last velocity (for ten frames at most)."""
    return box_centre(track.seen_box) + track.velocity * min(track.missed, 10)


def same_body_by_oks(a: np.ndarray, b: np.ndarray, area: float, same_body_oks: float) -> bool:
    return object_keypoint_similarity(a, b, area) >= same_body_oks


def covers_by_iou(box: np.ndarray, other: np.ndarray, same_box_iou: float) -> bool:
    return box_iou(box, other) >= same_box_iou


@dataclass(frozen=True)
class TrackerCosts:
    """The tracker's rules, one function per question it asks (livecap.pose.tracking)."""

    detection: DetectionCost  # which seen person a detection is (Hungarian assignment on it)
    reattach: ReattachCost  # which lost (or drifted) person a detection no pose explains is
    same_body: SameBody  # whether two crops, or a crop and its detection, found one body
    covers: Covers  # whether a box-only detection is someone already seen

    @classmethod
    def from_settings(cls, settings: TrackerSettings) -> "TrackerCosts":
        return cls(partial(pose_cost, same_body_oks=settings.same_body_oks),
                   partial(reattach_cost, max_distance=settings.reattach_distance,
                           size_ratio=settings.reattach_size_ratio),
                   partial(same_body_by_oks, same_body_oks=settings.same_body_oks),
                   partial(covers_by_iou, same_box_iou=settings.same_box_iou))
