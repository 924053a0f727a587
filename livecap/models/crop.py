"""Geometry of the rotation-aligned square crops the landmark model sees (as MediaPipe places them)."""

from __future__ import annotations

import math

import numpy as np

from livecap.types import Roi

CROP_MARGIN = 1.25  # MediaPipe's scale of the body circle
HEAD_TO_CIRCLE = 1.1  # the same circle in hips-to-head lengths (the head lies ~1.4 torso lengths above the hips)
COCO_HIPS = (11, 12)
COCO_SHOULDERS = (5, 6)
COCO_HEAD = (0, 1, 2, 3, 4)


def _normalize_angle(angle: float) -> float:
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def roi_from_alignment_points(center: np.ndarray, scale_point: np.ndarray, margin: float = CROP_MARGIN) -> Roi:
    """Square ROI centred on the hip centre, upright along hip -> scale point, covering the body circle."""
    dx, dy = float(scale_point[0] - center[0]), float(scale_point[1] - center[1])
    rotation = _normalize_angle(math.pi / 2 - math.atan2(-dy, dx))
    radius = math.hypot(dx, dy)
    return Roi(float(center[0]), float(center[1]), 2.0 * radius * margin, rotation)


def roi_from_coco17(keypoints: np.ndarray, box: np.ndarray, min_score: float = 0.3) -> Roi:
    """ROI for a detected person: centred on the hips, aligned hips -> shoulders when both are seen, else hips ->
    head (a person lying, bent or seen from behind, whose shoulders the detector is unsure of, still gets an
    upright crop: upright is what the landmark model was trained on), else the box, upright.

    The body circle is fitted to the seen keypoints: padding it further (to the detector's box) let
    neighbours into crowded crops and cost 0.07 keypoint AP on the dev images.
    """
    conf = keypoints[:, 2] >= min_score
    if not conf[list(COCO_HIPS)].all():
        return box_roi(box)
    hip = keypoints[list(COCO_HIPS), :2].mean(axis=0)
    if conf[list(COCO_SHOULDERS)].all():
        up = keypoints[list(COCO_SHOULDERS), :2].mean(axis=0) - hip
        least = 1.5  # body circle radius in torso lengths (hips to shoulders)
    elif conf[list(COCO_HEAD)].any():
        head = [i for i in COCO_HEAD if conf[i]]
        up = keypoints[head, :2].mean(axis=0) - hip
        least = HEAD_TO_CIRCLE
    else:
        return box_roi(box)
    length = max(float(np.linalg.norm(up)), 1e-6)
    radius = max(float(np.linalg.norm(keypoints[conf, :2] - hip, axis=1).max()), least * length)
    return roi_from_alignment_points(hip, hip + up / length * radius)


def box_roi(box: np.ndarray) -> Roi:
    """Upright ROI around a box, for people whose torso the detector did not see."""
    x1, y1, x2, y2 = (float(v) for v in box)
    return Roi((x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1) * CROP_MARGIN, 0.0)


def crop_to_image_matrix(roi: Roi, crop_size: int) -> np.ndarray:
    """2x3 affine taking crop pixels to image pixels."""
    s = roi.size / crop_size
    c, n = math.cos(roi.rotation), math.sin(roi.rotation)
    linear = np.array([[c, -n], [n, c]]) * s
    offset = np.array([roi.cx, roi.cy]) - linear @ np.array([crop_size / 2, crop_size / 2])
    return np.hstack([linear, offset[:, None]]).astype(np.float64)


def image_to_crop_matrix(roi: Roi, crop_size: int) -> np.ndarray:
    forward = np.vstack([crop_to_image_matrix(roi, crop_size), [0, 0, 1]])
    return np.linalg.inv(forward)[:2]


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]
