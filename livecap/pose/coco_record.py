"""Each tracked person's published COCO-17 keypoints (pure: a body's landmarks and its detector points in, the
record out).

COCO-17 keeps the detector's keypoints (the better points on the dev images: AP 0.44 against 0.30 for the
landmarks' own), carried between detector runs by the landmarks' motion as an offset from them. Their shoulders
and hips stay within a tolerance of the landmarks' (the body the fit and the landmarks describe): a record never
draws two bodies.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from livecap.keypoints import COCO17
from livecap.pose.similarity import confidence_weighted, landmark_pose, shortened_to
from livecap.types import Landmarks

# COCO-17 shoulders and hips: where a body is
TORSO = np.isin(np.arange(17), COCO17.indices("left_shoulder", "right_shoulder", "left_hip", "right_hip"))


def detector_points(detected: np.ndarray, refined: np.ndarray | None, landmarks: Landmarks,
                    same_body: Callable[[np.ndarray, np.ndarray, float], bool]) -> np.ndarray:
    """The detector's points, fused with the top-down refinement when one ran and found this body (`same_body`:
    the tracker's rule, livecap.pose.costs): each point the two models' mean weighted by their confidences (on the
    dev images neither model was better on every point; the weighted mean beat both on the mean AP)."""
    if refined is None:
        return detected
    pose, area = landmark_pose(landmarks)
    if not same_body(refined, pose, area):
        return detected
    return confidence_weighted(detected, refined)


def coco17_record(landmarks: Landmarks, detected: np.ndarray | None, offset: np.ndarray | None,
                  boxes: tuple[np.ndarray, ...], tolerance: float) -> tuple[np.ndarray, np.ndarray | None]:
    """The record and the detector offset it carries on: `detected` (17 x 3) where the detector saw this body now,
    else the last `offset` (17 x 2, detector point minus landmark point) moves with the landmarks. Limbs keep the
    detector's point even where the two differ; shoulders and hips are held within `tolerance` x the lowest of
    `boxes`' heights of the landmarks' (at detection, and while carried as the body turns or its size changes)."""
    own = landmarks.coco17()
    if detected is not None:
        offset = (detected[:, :2] - own[:, :2]).astype(np.float32)
        own[:, 2] = detected[:, 2]
    if offset is not None:
        offset[TORSO] = shortened_to(offset[TORSO], boxes, tolerance)
        own[:, :2] += offset
    return own, offset
