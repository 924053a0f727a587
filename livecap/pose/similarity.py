"""How alike two people are: boxes (IoU) and poses (COCO object keypoint similarity, OKS), and the union of
several detector passes by pose. Pure numpy."""

from __future__ import annotations

import numpy as np

from livecap.keypoints import COCO17
from livecap.types import Landmarks, PeopleDetections

COCO_SIGMAS = np.array([.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062,
                        .107, .107, .087, .087, .089, .089], np.float32)  # per COCO17 point
MIN_KEYPOINT_SCORE = 0.3  # a point below this is not seen (MoveNet's and BlazePose's usual cut)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def box_area(box: np.ndarray) -> float:
    return float(max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0))


def keypoint_similarities(a: np.ndarray, b: np.ndarray, area: float) -> np.ndarray:
    """Per COCO-17 point, the OKS term exp(-d^2 / 2 area (2 sigma)^2): 1 where two points coincide."""
    d2 = ((a[:, :2] - b[:, :2]) ** 2).sum(axis=1)
    return np.exp(-d2 / (2 * max(area, 1.0) * (2 * COCO_SIGMAS) ** 2))


def object_keypoint_similarity(a: np.ndarray, b: np.ndarray, area: float, min_score: float = MIN_KEYPOINT_SCORE) -> float:
    """COCO OKS between two 17 x 3 keypoint sets, over the points both see."""
    seen = (a[:, 2] >= min_score) & (b[:, 2] >= min_score)
    if not seen.any() or area <= 0:
        return 0.0
    return float(keypoint_similarities(a, b, area)[seen].mean())


def mirror_invariant_oks(a: np.ndarray, b: np.ndarray, area: float) -> float:
    """OKS of a against b as it is or mirrored (left and right swapped), whichever is higher: one body seen from
    the front and from the back."""
    return max(object_keypoint_similarity(a, b, area), object_keypoint_similarity(a, b[COCO17.mirrored], area))


def landmark_pose(landmarks: Landmarks) -> tuple[np.ndarray, float]:
    """A landmark result as COCO-17 points and the area OKS scales them by."""
    return landmarks.coco17(), box_area(keypoint_box(landmarks.image))


def keypoint_box(points: np.ndarray, min_score: float = 0.5, margin: float = 0.05) -> np.ndarray:
    """Box around the confident points (all points when too few are confident), with a small margin."""
    seen = points[points[:, 2] >= min_score, :2]
    if len(seen) < 3:
        seen = points[:, :2]
    lo, hi = seen.min(axis=0), seen.max(axis=0)
    pad = (hi - lo) * margin
    return np.concatenate([lo - pad, hi + pad]).astype(np.float32)


# A body's outline around its joint centres, in units of the landmark model's body circle radius (hip centre to
# the alignment point at the crown: about half a standing height). Joints lie inside the limbs by about half a
# limb's thickness (~4% of the height) and the soles below the heel and toe points; measured against a box
# detector's person boxes on the dev videos (the crown point within 0.04 radii of their top edge).
LIMB_HALF_WIDTH = 0.08
SOLE = 0.05


def body_outline(image: np.ndarray, roi_points: np.ndarray, min_score: float = 0.0) -> np.ndarray:
    """Box around a person as a box detector draws one (head to soles, the limbs' full width), from their
    landmarks with at least min_score visibility (all when fewer than three have it) and the crown point
    (roi_points: hip centre, crown). By default all of them: the landmark model places every point, and one it is
    unsure of is a limb blurred or half hidden, still part of the body a detector boxes (with the confident
    points only, basketball's 240p players came out too narrow: recall against the reference 0.897 against 0.911
    with all)."""
    seen = image[image[:, 2] >= min_score, :2]
    if len(seen) < 3:
        seen = image[:, :2]
    crown = roi_points[1]
    lo, hi = np.minimum(seen.min(axis=0), crown), np.maximum(seen.max(axis=0), crown)
    radius = float(np.linalg.norm(roi_points[1] - roi_points[0]))
    pad = radius * np.array([-LIMB_HALF_WIDTH, 0.0, LIMB_HALF_WIDTH, SOLE])
    return (np.concatenate([lo, hi]) + pad).astype(np.float32)


def box_centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], np.float32)


def merge_people(passes: list[PeopleDetections], same_body_oks: float = 0.5) -> PeopleDetections:
    """Union of several detector passes, best person score first; a person whose pose matches one already kept
    (OKS >= same_body_oks, the tracker's gate) is the same body and is dropped. Poses, not boxes: two people one
    behind the other share a box but not a pose."""
    if len(passes) == 1:
        return passes[0]
    boxes = np.concatenate([p.boxes for p in passes]).reshape(-1, 4)
    scores = np.concatenate([p.scores for p in passes])
    keypoints = np.concatenate([p.keypoints for p in passes]).reshape(-1, 17, 3)
    kept: list[int] = []
    for i in np.argsort(-scores, kind="stable"):
        if all(object_keypoint_similarity(keypoints[i], keypoints[k], max(box_area(boxes[i]), box_area(boxes[k])))
               < same_body_oks for k in kept):
            kept.append(int(i))
    return PeopleDetections(boxes[kept], scores[kept], keypoints[kept])


def shortened_to(offsets: np.ndarray, boxes: tuple[np.ndarray, ...], tolerance: float) -> np.ndarray:
    """Offsets (detector point minus landmark point) shortened to `tolerance` x the lowest of these boxes' heights
    (the published box's and the landmarks' own): the detector refines the landmarks' point within the body, never
    moves it onto another."""
    # a hair inside the tolerance: published coordinates are rounded
    height = min(float(box[3] - box[1]) for box in boxes)
    limit = 0.99 * tolerance * max(height, 1.0)
    length = np.linalg.norm(offsets, axis=1, keepdims=True)
    return (offsets * np.minimum(1.0, limit / np.maximum(length, 1e-6))).astype(np.float32)


def confidence_weighted(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two models' keypoints of one body (K x 3): each point their mean weighted by the two confidences, with the
    higher confidence."""
    weights = np.stack([a[:, 2], b[:, 2]])[..., None] + 1e-3
    fused = a.copy()
    fused[:, :2] = (weights[0] * a[:, :2] + weights[1] * b[:, :2]) / weights.sum(axis=0)
    fused[:, 2] = np.maximum(a[:, 2], b[:, 2])
    return fused
