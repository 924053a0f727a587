"""Per-person landmarks: 33 image-space points and 33 metric 3D points (BlazePose), from rotation-aligned crops."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.special import expit

from livecap.keypoints import KeypointScheme
from livecap.models.crop import (CropLandmarker, apply_affine, crop_to_image_matrix, image_to_crop_matrix,
                                 unit_pixels)
from livecap.types import Landmarks, Roi

CROP_SIZE = 256
OUTPUTS = ["Identity", "Identity_1", "Identity_4"]  # landmarks, pose presence, world landmarks

# MediaPipe Pose's 33 landmarks ("left": the person's own left), its COCO-17 points among them
BLAZEPOSE33 = KeypointScheme("blazepose33", (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index"))
NUM_LANDMARKS = len(BLAZEPOSE33)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return expit(x)  # scipy's: no overflow warning for the very negative logits of absent landmarks


# Body parts painted over when another person is masked out of a crop: limbs, torso, head
MASK_LIMBS = (("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"),
              ("right_elbow", "right_wrist"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
              ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("left_shoulder", "right_shoulder"),
              ("left_hip", "right_hip"), ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
              ("nose", "left_shoulder"), ("nose", "right_shoulder"))
MASK_TORSO = ("left_shoulder", "right_shoulder", "right_hip", "left_hip")
MASK_VISIBLE = 0.5


def mask_body(patch: np.ndarray, body: Landmarks, to_crop: np.ndarray) -> None:
    """Paints another person's body (their landmarks, image pixels) black in a crop, as the crop's outside is:
    the landmark model then follows the person it was centred on instead of the more visible one in front."""
    scheme = body.scheme
    points = apply_affine(to_crop, body.image[:, :2].astype(np.float64))
    seen = body.image[:, 2] >= MASK_VISIBLE
    shoulders, hips = scheme.indices("left_shoulder", "right_shoulder"), scheme.indices("left_hip", "right_hip")
    torso = float(np.linalg.norm(points[shoulders].mean(axis=0) - points[hips].mean(axis=0)))
    width = max(int(round(0.35 * torso)), 2)
    corners = scheme.indices(*MASK_TORSO)
    if all(seen[corners]):
        cv2.fillConvexPoly(patch, np.round(points[corners]).astype(np.int32), (0, 0, 0))
    for a, b in MASK_LIMBS:
        a, b = scheme.index(a), scheme.index(b)
        if seen[a] and seen[b]:
            cv2.line(patch, tuple(np.round(points[a]).astype(int)), tuple(np.round(points[b]).astype(int)),
                     (0, 0, 0), width)


def cut_crops(image_rgb: np.ndarray, rois: list[Roi], masked: list[Landmarks | None] | None = None) -> np.ndarray:
    """N x 256 x 256 x 3 float32 crops (0..1), black outside the image; masked[i], when given, is a body to paint
    out of crop i."""
    crops = np.empty((len(rois), CROP_SIZE, CROP_SIZE, 3), np.float32)
    for i, roi in enumerate(rois):
        to_crop = image_to_crop_matrix(roi, CROP_SIZE)
        patch = cv2.warpAffine(image_rgb, to_crop, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT)
        if masked is not None and masked[i] is not None:
            mask_body(patch, masked[i], to_crop)
        unit_pixels(patch, crops[i])
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
    return Landmarks(image33, world33, float(presence), BLAZEPOSE33, roi,
                     xy[NUM_LANDMARKS:NUM_LANDMARKS + 2].astype(np.float32))


class BlazePoseLandmarker(CropLandmarker):
    """BlazePose lite, full or heavy on every person's crop of one frame (a Landmarker, livecap.models.landmarker):
    masked[i], when given, is another body painted out of crop i."""

    scheme, outputs = BLAZEPOSE33, OUTPUTS

    def cut(self, image_rgb: np.ndarray, rois: list[Roi], masked: list[Landmarks | None] | None) -> np.ndarray:
        return cut_crops(image_rgb, rois, masked)

    def decode(self, outputs: list[np.ndarray], roi: Roi) -> Landmarks:
        raw, presence, world = outputs
        return decode_landmarks(raw, presence[0], world, roi)
