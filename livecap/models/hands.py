"""Per-hand landmarks: 21 image points and 21 metric 3D points (MediaPipe's hand landmark model), from
rotation-aligned crops placed as MediaPipe Holistic places them: from the body's wrist, index and pinky landmarks,
or from the hand's own landmarks of the previous frame. No palm detector."""

from __future__ import annotations

import math

import cv2
import numpy as np

from livecap.fingers import HAND_POINTS, INDEX_BASE, MIDDLE_BASE, POINT_NAMES, RING_BASE, WRIST
from livecap.keypoints import KeypointScheme
from livecap.models.crop import (CropLandmarker, _normalize_angle, apply_affine, crop_to_image_matrix,
                                 image_to_crop_matrix, unit_pixels)
from livecap.types import Landmarks, Roi

CROP_SIZE = 224
OUTPUTS = ["Identity", "Identity_1", "Identity_3"]  # landmarks (crop pixels), hand presence, world landmarks

HAND21 = KeypointScheme("mediapipe_hand21", POINT_NAMES)  # one hand's points (livecap.fingers)
# the scale of the crop around the body's hand region (side = 2 x wrist to knuckles): MediaPipe Holistic crops 2.7
# for its re-crop model, which this crop replaces: 1.45 frames the hand about as large as a crop from its own
# landmarks does (PCK on the dev hand images: 1.3 0.92, 1.45 0.90, 1.6 0.89 on freihand with lite)
FROM_BODY_SCALE = 1.45
FROM_BODY_SHIFT = -0.1  # of the side, towards the fingers
# the points MediaPipe frames the next crop around (wrist, thumb base, every finger's first two joints), its scale
PALM_POINTS = [0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18]
FROM_HAND_SCALE = 2.0
FROM_HAND_SHIFT = -0.1


def _rotation_up(start: np.ndarray, end: np.ndarray) -> float:
    """The crop rotation (clockwise, radians) that turns start -> end to point up."""
    return _normalize_angle(math.pi / 2 - math.atan2(-(end[1] - start[1]), end[0] - start[0]))


def _shifted(cx: float, cy: float, height: float, rotation: float, shift: float) -> tuple[float, float]:
    """The centre moved by shift x height along the crop's own y axis (negative: towards its top)."""
    return cx - height * shift * math.sin(rotation), cy + height * shift * math.cos(rotation)


def hand_roi_from_body(wrist: np.ndarray, pinky: np.ndarray, index: np.ndarray, scale: float | None = None
                       ) -> Roi:
    """MediaPipe Holistic's hand region from the pose: centred on the estimated middle knuckle (a third of the way
    from index to pinky), upright along wrist -> middle knuckle, twice that distance across, then scaled."""
    middle = (2.0 * np.asarray(index[:2], np.float64) + np.asarray(pinky[:2], np.float64)) / 3.0
    wrist = np.asarray(wrist[:2], np.float64)
    side = 2.0 * float(np.linalg.norm(middle - wrist))
    rotation = _rotation_up(wrist, middle)
    cx, cy = _shifted(float(middle[0]), float(middle[1]), side, rotation, FROM_BODY_SHIFT)
    return Roi(cx, cy, max(side * (scale or FROM_BODY_SCALE), 1.0), rotation)


def hand_roi_from_landmarks(image21: np.ndarray, scale: float = FROM_HAND_SCALE) -> Roi:
    """MediaPipe's next hand crop from this frame's hand landmarks: upright along wrist -> the knuckles, around the
    palm points' box in that rotated frame, its longer side scaled."""
    points = np.asarray(image21[:, :2], np.float64)
    knuckles = ((points[INDEX_BASE] + points[RING_BASE]) / 2 + points[MIDDLE_BASE]) / 2
    rotation = _rotation_up(points[WRIST], knuckles)
    palm = points[PALM_POINTS]
    centre = (palm.min(axis=0) + palm.max(axis=0)) / 2
    c, s = math.cos(rotation), math.sin(rotation)
    unrotate = np.array([[c, s], [-s, c]])  # image -> crop axes
    projected = (palm - centre) @ unrotate.T
    low, high = projected.min(axis=0), projected.max(axis=0)
    mid = unrotate.T @ ((low + high) / 2) + centre
    width, height = high - low
    cx, cy = _shifted(float(mid[0]), float(mid[1]), float(height), rotation, FROM_HAND_SHIFT)
    return Roi(cx, cy, max(float(max(width, height)) * scale, 1.0), rotation)


def cut_crops(image_rgb: np.ndarray, rois: list[Roi]) -> np.ndarray:
    """N x 224 x 224 x 3 float32 crops (RGB 0..1), black outside the image."""
    crops = np.empty((len(rois), CROP_SIZE, CROP_SIZE, 3), np.float32)
    for i, roi in enumerate(rois):
        patch = cv2.warpAffine(image_rgb, image_to_crop_matrix(roi, CROP_SIZE), (CROP_SIZE, CROP_SIZE),
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        unit_pixels(patch, crops[i])
    return crops


def decode_hand(raw: np.ndarray, presence: float, world: np.ndarray, roi: Roi) -> Landmarks:
    """One crop's raw outputs: points mapped back to the image, world points turned by the crop's rotation."""
    to_image = crop_to_image_matrix(roi, CROP_SIZE)
    image21 = np.empty((HAND_POINTS, 3), np.float32)
    image21[:, :2] = apply_affine(to_image, raw.reshape(HAND_POINTS, 3)[:, :2].astype(np.float64))
    image21[:, 2] = presence
    rotation = to_image[:, :2] / np.linalg.norm(to_image[:, 0])
    world21 = world.reshape(HAND_POINTS, 3).astype(np.float32).copy()
    world21[:, :2] = world21[:, :2] @ rotation.T.astype(np.float32)
    return Landmarks(image21, world21, float(presence), HAND21, roi)


class MediaPipeHandLandmarker(CropLandmarker):
    """MediaPipe's hand landmark model on every hand crop of one frame, all people's (a Landmarker,
    livecap.models.landmarker; it follows the hand in its crop, so it paints no body out)."""

    scheme, outputs = HAND21, OUTPUTS

    def cut(self, image_rgb: np.ndarray, rois: list[Roi], masked: list[Landmarks | None] | None) -> np.ndarray:
        return cut_crops(image_rgb, rois)

    def decode(self, outputs: list[np.ndarray], roi: Roi) -> Landmarks:
        raw, presence, world = outputs
        return decode_hand(raw, float(presence[0]), world, roi)
