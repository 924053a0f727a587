"""Keypoint schemes: which points a landmark or keypoint model gives, in which order. Code that needs a named point
asks the scheme (`scheme.index("left_hip")`) instead of hard-coding one model's numbering; the index arrays a hot
loop needs are computed from it once.

A point's left/right twin is the point whose name swaps the words "left" and "right" (the person's own sides); a
scheme speaks COCO-17 when it has every COCO-17 point name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from livecap.errors import LivecapError


def _other_side(name: str) -> str:
    return name.replace("left", "\0").replace("right", "left").replace("\0", "right")


@dataclass(frozen=True, eq=False)
class KeypointScheme:
    """A model's points by name, in its output order. Compared by identity: each scheme is defined once."""

    name: str  # as the results name it (the JSONL header's "landmarks")
    points: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self):
        if len(set(self.points)) != len(self.points):
            raise ValueError(f"keypoint scheme {self.name} names a point twice")
        object.__setattr__(self, "_index", {point: i for i, point in enumerate(self.points)})

    def __len__(self) -> int:
        return len(self.points)

    def __contains__(self, point: str) -> bool:
        return point in self._index

    def index(self, point: str) -> int:
        try:
            return self._index[point]
        except KeyError:
            raise LivecapError(f"keypoint scheme {self.name} has no point '{point}': a model that lacks it cannot "
                               f"be used here") from None

    def indices(self, *points: str) -> np.ndarray:
        return np.array([self.index(point) for point in points], np.intp)

    @cached_property
    def mirror_pairs(self) -> tuple[tuple[int, int], ...]:
        """(left, right) index pairs of the points that have a twin on the other side."""
        return tuple((i, self._index[_other_side(p)]) for i, p in enumerate(self.points)
                     if "left" in p and _other_side(p) in self._index)

    @cached_property
    def mirrored(self) -> np.ndarray:
        """Each point's other-side twin (itself where it has none): `points[scheme.mirrored]` swaps left and
        right."""
        order = np.arange(len(self.points))
        for left, right in self.mirror_pairs:
            order[left], order[right] = right, left
        return order

    @cached_property
    def coco17(self) -> np.ndarray | None:
        """This scheme's point for each COCO-17 keypoint, in COCO order; None where it lacks one of them."""
        if not all(point in self._index for point in COCO17.points):
            return None
        return self.indices(*COCO17.points)

    def coco17_of(self, points: np.ndarray) -> np.ndarray:
        """These points' COCO-17 subset (a copy), in COCO order."""
        return points[self.coco17]


COCO17 = KeypointScheme("coco17", (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle"))
