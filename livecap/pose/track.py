"""One tracked person as the tracker keeps them between frames (livecap.pose.tracking)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from livecap.types import Landmarks, Roi


@dataclass
class Track:
    id: int
    roi: Roi  # where to look in the next frame
    landmarks: Landmarks
    coco17: np.ndarray
    bbox: np.ndarray  # the body's outline, as a box detector draws it (published; compared with detector boxes)
    score: float
    missed: int = 0  # consecutive frames without this person
    age: int = 0  # frames seen
    # 17 x 2: detector keypoint minus landmark at the last detection, zero where the two disagreed
    coco_offset: np.ndarray | None = None
    detection_score: float = 1.0
    resumed: bool = False  # seen again this frame after being lost: temporal state must restart
    restarted: bool = False  # still seen, but re-attached to a detection this frame; its filters and fit carry on
    # (the person did not move: starting them afresh made the published pose snap, 44 cm in depth on two_people)
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))  # box centre, pixels per frame
    masked_by: int | None = None  # the track whose body was painted out of this one's crop in the last frame
    second_model: bool = False  # last seen through the second landmark model (Candidate.second_model)
    covered: bool = False  # lost because its crop found a body that another track keeps (PoseTracker.predicted)
    state: Any = None  # what later stages keep about this person between frames; dies with the track

    @property
    def own_coco17(self) -> np.ndarray:
        """The track's body as its landmarks place it, in COCO-17 points (no detector offset)."""
        return self.landmarks.coco17()

    # the outline of the confident landmarks only: where association places the body (a crop drifting onto a
    # neighbour spreads its unsure points over both, and the whole outline then spans two people)
    seen_box: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float32))
    body_size: float = 0.0  # seen_box's longer side, averaged over recent frames (a last bad frame moves it little)
    # around the landmarks themselves: the area OKS scales poses by (COCO's area is the body's, not its box's)
    joint_box: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float32))
