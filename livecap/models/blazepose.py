"""Per-person landmarks: 33 image-space points and 33 metric 3D points (BlazePose), from rotation-aligned crops."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.special import expit

from livecap.models.crop import apply_affine, crop_to_image_matrix, image_to_crop_matrix
from livecap.types import Landmarks, Roi
from livecap.models.runtime import OnnxModel

CROP_SIZE = 256
NUM_LANDMARKS = 33
OUTPUTS = ["Identity", "Identity_1", "Identity_4"]  # landmarks, pose presence, world landmarks

# BlazePose landmark index for each COCO-17 keypoint (same names, BlazePose numbering).
COCO17_FROM_BLAZEPOSE33 = np.array([0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return expit(x)  # scipy's: no overflow warning for the very negative logits of absent landmarks


# Body parts painted over when another person is masked out of a crop: limbs, torso, head (BlazePose indices).
MASK_LIMBS = ((11, 13), (13, 15), (12, 14), (14, 16), (23, 25), (25, 27), (24, 26), (26, 28), (11, 12), (23, 24),
              (11, 23), (12, 24), (0, 11), (0, 12))
MASK_TORSO = (11, 12, 24, 23)
MASK_VISIBLE = 0.5


def mask_body(patch: np.ndarray, image33: np.ndarray, to_crop: np.ndarray) -> None:
    """Paints another person's body (their landmarks, image pixels) black in a crop, as the crop's outside is:
    the landmark model then follows the person it was centred on instead of the more visible one in front."""
    points = apply_affine(to_crop, image33[:, :2].astype(np.float64))
    seen = image33[:, 2] >= MASK_VISIBLE
    torso = float(np.linalg.norm(points[[11, 12]].mean(axis=0) - points[[23, 24]].mean(axis=0)))
    width = max(int(round(0.35 * torso)), 2)
    if all(seen[list(MASK_TORSO)]):
        cv2.fillConvexPoly(patch, np.round(points[list(MASK_TORSO)]).astype(np.int32), (0, 0, 0))
    for a, b in MASK_LIMBS:
        if seen[a] and seen[b]:
            cv2.line(patch, tuple(np.round(points[a]).astype(int)), tuple(np.round(points[b]).astype(int)),
                     (0, 0, 0), width)


def cut_crops(image_rgb: np.ndarray, rois: list[Roi], masked: list[np.ndarray | None] | None = None) -> np.ndarray:
    """N x 256 x 256 x 3 float32 crops (0..1), black outside the image; masked[i], when given, is a body
    (33 landmarks, image pixels) to paint out of crop i."""
    crops = np.empty((len(rois), CROP_SIZE, CROP_SIZE, 3), np.float32)
    for i, roi in enumerate(rois):
        to_crop = image_to_crop_matrix(roi, CROP_SIZE)
        patch = cv2.warpAffine(image_rgb, to_crop, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT)
        if masked is not None and masked[i] is not None:
            mask_body(patch, masked[i], to_crop)
        np.multiply(patch, 1.0 / 255.0, out=crops[i], casting="unsafe")
    return crops


def decode_landmarks(raw: np.ndarray, presence: float, world: np.ndarray, roi: Roi) -> Landmarks:
    """One crop's raw outputs mapped back to the image (2D) and un-rotated (3D)."""
    points = raw.reshape(-1, 5)
    to_image = crop_to_image_matrix(roi, CROP_SIZE)
    xy = apply_affine(to_image, points[:, :2].astype(np.float64))
    image33 = np.empty((NUM_LANDMARKS, 3), np.float32)
    image33[:, :2] = xy[:NUM_LANDMARKS]
    image33[:, 2] = _sigmoid(points[:NUM_LANDMARKS, 3])
    # world landmarks come in the crop's frame: turn them by the crop's rotation, as MediaPipe does
    rotation = to_image[:, :2] / np.linalg.norm(to_image[:, 0])
    world33 = world.reshape(-1, 3)[:NUM_LANDMARKS].astype(np.float32).copy()
    world33[:, :2] = world33[:, :2] @ rotation.T.astype(np.float32)
    return Landmarks(image33=image33, world33=world33, presence=float(presence),
                     roi_points=xy[NUM_LANDMARKS:NUM_LANDMARKS + 2].astype(np.float32))


def coco17_from_landmarks(image33: np.ndarray) -> np.ndarray:
    return image33[COCO17_FROM_BLAZEPOSE33].copy()


class BlazePoseLandmarker:
    """Runs the landmark model on every person's crop of one frame in a single batched call."""

    def __init__(self, model: OnnxModel):
        self.model = model

    def __call__(self, image_rgb: np.ndarray, rois: list[Roi],
                 masked: list[np.ndarray | None] | None = None) -> list[Landmarks]:
        if not rois:
            return []
        crops = cut_crops(image_rgb, rois, masked)
        raw, presence, world = self.model.run(OUTPUTS, {self.model.input_names[0]: crops})
        return [decode_landmarks(raw[i], presence[i, 0], world[i], roi) for i, roi in enumerate(rois)]
