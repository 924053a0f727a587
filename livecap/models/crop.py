"""Geometry of the rotation-aligned square crops the landmark models see (as MediaPipe places them), and the run of
a landmark model on them that the wrappers share (`CropLandmarker`)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from livecap.keypoints import COCO17, KeypointScheme
from livecap.models.runtime import OnnxModel
from livecap.types import Landmarks, Roi

CROP_MARGIN = 1.25  # MediaPipe's scale of the body circle
CIRCLE_PER_TORSO = 1.5  # the body circle's least radius around the hips, in torso lengths (hips to shoulders)
CIRCLE_PER_HEAD = 1.1  # the same in hips-to-head lengths (the head lies ~1.4 torso lengths above the hips)
TORSO_PER_SHOULDER_WIDTH = 1.2  # hips-to-shoulders length per shoulder width, facing the camera (0.29 / 0.24)
TORSO_PER_HEAD_HEIGHT = 2.4  # the same per height of the eyes above the shoulder line (0.29 / 0.12)
SIDE_ON = 0.25  # a shoulder line shorter than this share of the eyes' height above it is seen side-on (frontal: ~2)
COCO_HIPS = tuple(COCO17.indices("left_hip", "right_hip"))
COCO_SHOULDERS = tuple(COCO17.indices("left_shoulder", "right_shoulder"))
COCO_HEAD = tuple(COCO17.indices("nose", "left_eye", "right_eye", "left_ear", "right_ear"))


def _normalize_angle(angle: float) -> float:
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def roi_from_alignment_points(center: np.ndarray, scale_point: np.ndarray, margin: float = CROP_MARGIN) -> Roi:
    """Square ROI centred on the hip centre, upright along hip -> scale point, covering the body circle."""
    dx, dy = float(scale_point[0] - center[0]), float(scale_point[1] - center[1])
    rotation = _normalize_angle(math.pi / 2 - math.atan2(-dy, dx))
    radius = math.hypot(dx, dy)
    return Roi(float(center[0]), float(center[1]), 2.0 * radius * margin, rotation)


def roi_from_coco17(keypoints: np.ndarray, box: np.ndarray, min_score: float = 0.3) -> Roi:
    """ROI for a detected person as MediaPipe's detector places one: centred on the hips, upright along hips ->
    shoulders (what the landmark model was trained on), covering the body circle. Where the detector is unsure of the
    shoulders, hips -> head gives the upright (a person lying, bent or seen from behind); where it is unsure of the
    hips, they are placed a torso's length below the shoulders (a webcam at a desk shows head and chest only: a crop
    centred on the chest left BlazePose unsure of the person in 57 of 59 such detections); else the box, upright.

    The body circle is fitted to the seen keypoints: padding it further (to the detector's box) let
    neighbours into crowded crops and cost 0.07 keypoint AP on the dev images.
    """
    conf = keypoints[:, 2] >= min_score
    hips, shoulders, head = conf[list(COCO_HIPS)].all(), conf[list(COCO_SHOULDERS)].all(), conf[list(COCO_HEAD)]
    hip = keypoints[list(COCO_HIPS), :2].mean(axis=0)
    if hips and shoulders:
        up = keypoints[list(COCO_SHOULDERS), :2].mean(axis=0) - hip
        least = CIRCLE_PER_TORSO
    elif hips and head.any():
        up = keypoints[np.flatnonzero(head), :2].mean(axis=0) - hip
        least = CIRCLE_PER_HEAD
    elif shoulders:
        hip, up = _hips_below_shoulders(keypoints, head)
        least = CIRCLE_PER_TORSO
    else:
        return box_roi(box)
    length = max(float(np.linalg.norm(up)), 1e-6)
    radius = max(float(np.linalg.norm(keypoints[conf, :2] - hip, axis=1).max()), least * length)
    return roi_from_alignment_points(hip, hip + up / length * radius)


def _hips_below_shoulders(keypoints: np.ndarray, head_seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hip centre of a person whose hips the detector did not see, and the hips -> shoulders vector: upright
    across the shoulder line, on the head's side (image up without a head), a torso's length long; a body seen side-on
    (its shoulder line under a quarter of the head's height above it) is upright along the neck. The torso is taken
    from body proportions (Winter's segment table: shoulder line to hip joints 0.29 of the height, shoulder joints
    ~0.24 apart, eyes ~0.12 above them), the larger of the two estimates: a turned body's shoulders look narrow, a
    bowed head looks low."""
    left, right = keypoints[COCO_SHOULDERS[0], :2], keypoints[COCO_SHOULDERS[1], :2]
    centre, across = (left + right) / 2, right - left
    width = float(np.linalg.norm(across))
    towards = (keypoints[np.flatnonzero(head_seen), :2].mean(axis=0) - centre if head_seen.any()
               else np.array([0.0, -1.0]))
    up = (np.array([across[1], -across[0]], np.float64) if width >= SIDE_ON * np.linalg.norm(towards)
          else towards.copy())
    up *= 1.0 if up @ towards >= 0 else -1.0
    up /= max(float(np.linalg.norm(up)), 1e-6)
    head_height = float(towards @ up) if head_seen.any() else 0.0
    torso = max(TORSO_PER_SHOULDER_WIDTH * width, TORSO_PER_HEAD_HEIGHT * head_height, 1.0)
    return centre - up * torso, up * torso


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


# every 0..255 pixel value as the landmark models take it: exactly what np.multiply(pixels, 1 / 255) gives them
_UNIT_PIXELS = np.empty(256, np.float32)
np.multiply(np.arange(256, dtype=np.uint8), 1.0 / 255.0, out=_UNIT_PIXELS, casting="unsafe")


def unit_pixels(patch: np.ndarray, out: np.ndarray) -> None:
    """A cut crop's uint8 pixels, 0..1 float32, into `out` (of its shape): looked up, not multiplied, the same
    values at about two thirds of the time (0.16 -> 0.10 ms a 256 x 256 crop)."""
    looked_up = cv2.LUT(patch, _UNIT_PIXELS, dst=out)
    if not np.may_share_memory(looked_up, out):  # OpenCV writes into `out` only where it is float32
        out[...] = looked_up


class CropLandmarker:
    """A landmark model run on every crop of one frame in a single batched call (a Landmarker,
    livecap.models.landmarker). A wrapper class names its scheme and the model outputs it reads, and says how it cuts
    its crops (`cut`) and reads one crop's outputs back into the image (`decode`)."""

    scheme: KeypointScheme
    outputs: list[str]

    def __init__(self, model: OnnxModel):
        self.model = model

    def __call__(self, image_rgb: np.ndarray, rois: list[Roi],
                 masked: list[Landmarks | None] | None = None) -> list[Landmarks]:
        if not rois:
            return []
        found = self.model.run(self.outputs, {self.model.input_names[0]: self.cut(image_rgb, rois, masked)})
        return [self.decode([output[i] for output in found], roi) for i, roi in enumerate(rois)]

    def cut(self, image_rgb: np.ndarray, rois: list[Roi], masked: list[Landmarks | None] | None) -> np.ndarray:
        """The model's input: one crop per roi, stacked."""
        raise NotImplementedError

    def decode(self, outputs: list[np.ndarray], roi: Roi) -> Landmarks:
        """One crop's outputs (in the order of `outputs`), mapped back to the image."""
        raise NotImplementedError
