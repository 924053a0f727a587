"""Faces: the 478-point face mesh (MediaPipe's face landmark model on a rotation-aligned face crop, then its iris
model on each eye's crop, as MediaPipe's iris tracking graph does), and BlazeFace (short range), which finds faces
that fill the frame where no body is seen. Crops are placed as MediaPipe places them."""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy.special import expit

from livecap.facemesh import (EYE_CONTOUR, EYE_INNER, EYE_OUTER, EYE_REFINED, FACE478, FACE_POINTS, IRIS_POINTS,
                              IRIS_START, MESH_POINTS, SIDES)
from livecap.models.crop import _normalize_angle, apply_affine, crop_to_image_matrix, image_to_crop_matrix, unit_pixels
from livecap.models.runtime import OnnxModel
from livecap.types import FaceDetections, FaceLandmarks, Landmarks, Roi

MESH_SIZE, IRIS_SIZE, DETECTOR_SIZE = 192, 64, 128
MESH_OUTPUTS = ["conv2d_21", "conv2d_31"]  # 468 x 3 points (crop pixels), face presence logit
IRIS_OUTPUTS = ["output_eyes_contours_and_brows", "output_iris"]  # 71 x 3, 5 x 3 (crop pixels)
DETECTOR_OUTPUTS = ["regressors", "classificators"]
FACE_SCALE = 1.5  # MediaPipe's face crop: 1.5 x the box of the face's landmarks, or of the detector's face
EYE_SCALE = 2.3  # its eye crop: 2.3 x the eye's width
# the face crop from the body's face points (BlazePose 0-10), fitted to the crop from the face's own landmarks on
# the dev faces and two_people (24 faces, medians): centred this share of the way from the eyes' centre to the
# mouth's (0.07 of the crop from the landmarks' centre), its side this many times the larger of the ears' distance
# and twice the eyes-to-mouth distance (a face seen side-on has its ears together)
BODY_CENTRE_TOWARDS_MOUTH = 0.4
BODY_SCALE = 1.9
# BlazeFace short range (MediaPipe's face_detection_short_range graph): SSD anchors on 16 x 16 cells (2 each) and
# 8 x 8 cells (6 each), weighted non-maximum suppression
DETECTOR_GRID = ((16, 2), (8, 6))
# of the iris model's 71 points of an eye, those that replace the mesh's: the eye's contour but its corners (0 and
# 8) and the two halos around it (16-47); the brows and outer halos (48-70) stay the mesh's, which rank the dev faces'
# brow heights as their annotations do (Spearman 0.88, the iris model's 0.51)
REPLACED = np.r_[1:8, 9:48]
DETECTOR_IOU = 0.3


def _level_rotation(start: np.ndarray, end: np.ndarray) -> float:
    """The crop rotation (clockwise, radians) that turns start -> end to point right."""
    return _normalize_angle(math.atan2(float(end[1] - start[1]), float(end[0] - start[0])))


def face_roi_from_landmarks(image478: np.ndarray) -> Roi:
    """MediaPipe's next face crop from a face's mesh: around the mesh's box, level along the outer eye corners."""
    points = np.asarray(image478[:MESH_POINTS, :2], np.float64)
    low, high = points.min(axis=0), points.max(axis=0)
    centre = (low + high) / 2
    rotation = _level_rotation(points[EYE_OUTER["right"]], points[EYE_OUTER["left"]])
    return Roi(float(centre[0]), float(centre[1]), max(float((high - low).max()) * FACE_SCALE, 1.0), rotation)


def face_roi_from_detection(box: np.ndarray, keypoints: np.ndarray) -> Roi:
    """MediaPipe's face crop from a BlazeFace detection: around its box, level along its eyes."""
    x1, y1, x2, y2 = (float(v) for v in box)
    rotation = _level_rotation(keypoints[0], keypoints[1])
    return Roi((x1 + x2) / 2, (y1 + y2) / 2, max(max(x2 - x1, y2 - y1) * FACE_SCALE, 1.0), rotation)


def face_roi_from_body(face_points: np.ndarray) -> Roi:
    """The face crop from a body's face points (livecap.facemesh.BODY_FACE_POINTS, in that order): level along the
    eyes, centred between eyes and mouth."""
    points = np.asarray(face_points[:, :2], np.float64)
    right_eye, left_eye = points[5], points[2]
    eyes, mouth = (right_eye + left_eye) / 2, (points[9] + points[10]) / 2
    centre = eyes + BODY_CENTRE_TOWARDS_MOUTH * (mouth - eyes)
    span = max(float(np.linalg.norm(points[7] - points[8])), 2.0 * float(np.linalg.norm(mouth - eyes)))
    return Roi(float(centre[0]), float(centre[1]), max(span * BODY_SCALE, 1.0), _level_rotation(right_eye, left_eye))


def eye_roi(image478: np.ndarray, side: str) -> Roi:
    """MediaPipe's iris crop: around the eye's corners, level along them (the right eye's outer -> inner, the left
    eye's inner -> outer), 2.3 x their larger extent."""
    start, end = ((EYE_OUTER[side], EYE_INNER[side]) if side == "right" else (EYE_INNER[side], EYE_OUTER[side]))
    a, b = np.asarray(image478[start, :2], np.float64), np.asarray(image478[end, :2], np.float64)
    centre = (a + b) / 2
    return Roi(float(centre[0]), float(centre[1]), max(float(np.abs(b - a).max()) * EYE_SCALE, 1.0),
               _level_rotation(a, b))


def cut_crops(image_rgb: np.ndarray, rois: list[Roi], size: int, mirrored: list[bool] | None = None) -> np.ndarray:
    """N x size x size x 3 float32 crops (RGB 0..1), the image's edge repeated outside it as MediaPipe's face
    graphs do; mirrored[i]: crop i flipped left-right."""
    crops = np.empty((len(rois), size, size, 3), np.float32)
    flip = np.array([[-1.0, 0.0, size], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    for i, roi in enumerate(rois):
        to_crop = image_to_crop_matrix(roi, size)
        if mirrored is not None and mirrored[i]:
            to_crop = (flip @ np.vstack([to_crop, [0, 0, 1]]))[:2]
        patch = cv2.warpAffine(image_rgb, to_crop, (size, size), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
        unit_pixels(patch, crops[i])
    return crops


def to_image(points: np.ndarray, roi: Roi, size: int, mirrored: bool = False) -> np.ndarray:
    """Crop points (x, y, z in crop pixels) to image pixels; z scaled as x and y are."""
    points = np.asarray(points, np.float64).reshape(-1, 3).copy()
    if mirrored:
        points[:, 0] = size - points[:, 0]
    out = np.empty_like(points)
    out[:, :2] = apply_affine(crop_to_image_matrix(roi, size), points[:, :2])
    out[:, 2] = points[:, 2] * roi.size / size
    return out


class FaceMeshLandmarker:
    """Runs the face mesh on every face crop of one frame (all people's) in one batched call, then the iris model on
    all their eyes in another (a Landmarker, livecap.models.landmarker, of the 478 points of FACE478; it paints no
    body out). The iris model is a part of its own (`parts`: the role it plays, the catalog format it must have).
    Without one (its two eyes cost twice the mesh: 4.7 ms against 2.3 ms of CPU a face at batch 1, onnxruntime 1.32)
    each iris is put at its eye's centre (the mean of its contour), marked not measured."""

    scheme = FACE478
    parts = {"iris": "mediapipe_iris"}

    def __init__(self, model: OnnxModel, iris: OnnxModel | None = None):
        self.model, self.iris = model, iris

    def __call__(self, image_rgb: np.ndarray, rois: list[Roi],
                 masked: list[Landmarks | None] | None = None) -> list[FaceLandmarks]:
        if not rois:
            return []
        raw, flags = self.model.run(MESH_OUTPUTS, {self.model.input_names[0]: cut_crops(image_rgb, rois, MESH_SIZE)})
        faces = []
        for i, roi in enumerate(rois):
            points = np.empty((FACE_POINTS, 3))
            points[:MESH_POINTS] = to_image(raw[i], roi, MESH_SIZE)
            faces.append((points, float(expit(flags[i].ravel()[0]))))
        if self.iris is not None:
            self._refine_eyes(image_rgb, [points for points, _ in faces])
        else:
            for points, _ in faces:
                for side in SIDES:
                    start = IRIS_START[side]
                    points[start:start + IRIS_POINTS] = points[EYE_REFINED[side][:EYE_CONTOUR]].mean(axis=0)
        no_world = np.zeros((0, 3), np.float32)  # the mesh gives no metric points
        return [FaceLandmarks(points.astype(np.float32), no_world, presence, FACE478, roi, iris=self.iris is not None)
                for (points, presence), roi in zip(faces, rois)]

    def _refine_eyes(self, image_rgb: np.ndarray, faces: list[np.ndarray]) -> None:
        """Each eye's contour and iris from the iris model, on a crop placed by the mesh's eye corners: the contour
        replaces the mesh's points (REPLACED; x, y: the mesh's depth is kept), the iris takes the contour's mean
        depth. The mesh's own corners lie nearer the annotated ones (dev faces' NME over the shared points: 0.044
        with the mesh's corners, 0.047 with the iris model's)."""
        eyes = [(face, side, eye_roi(face, side)) for face in faces for side in SIDES]
        mirrored = [side == "left" for _, side, _ in eyes]  # the model knows right eyes: a left eye is mirrored
        crops = cut_crops(image_rgb, [roi for _, _, roi in eyes], IRIS_SIZE, mirrored)
        contours, irises = self.iris.run(IRIS_OUTPUTS, {self.iris.input_names[0]: crops})
        for (face, side, roi), contour, iris, flip in zip(eyes, contours, irises, mirrored):
            refined = EYE_REFINED[side]
            face[refined[REPLACED], :2] = to_image(contour, roi, IRIS_SIZE, flip)[REPLACED, :2]
            start = IRIS_START[side]
            face[start:start + IRIS_POINTS, :2] = to_image(iris, roi, IRIS_SIZE, flip)[:, :2]
            face[start:start + IRIS_POINTS, 2] = face[refined[:EYE_CONTOUR], 2].mean()


def ssd_anchors(grid=DETECTOR_GRID) -> np.ndarray:
    """The detector's anchor centres (normalised to its input), in its output order: per layer, cells row by row,
    each cell's anchors together (all of one size: MediaPipe's fixed_anchor_size)."""
    centres = []
    for cells, per_cell in grid:
        ys, xs = np.mgrid[0:cells, 0:cells]
        cell = np.stack([(xs.ravel() + 0.5) / cells, (ys.ravel() + 0.5) / cells], axis=1)
        centres.append(np.repeat(cell, per_cell, axis=0))
    return np.concatenate(centres)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, iou: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe's weighted non-maximum suppression: each kept face is the score-weighted mean of the candidates
    that overlap the best remaining one by more than `iou`, with that best one's score."""
    order = np.argsort(-scores)
    kept_boxes, kept_points, kept_scores = [], [], []
    while order.size:
        best = boxes[order[0]]
        x1, y1 = np.maximum(best[0], boxes[order, 0]), np.maximum(best[1], boxes[order, 1])
        x2, y2 = np.minimum(best[2], boxes[order, 2]), np.minimum(best[3], boxes[order, 3])
        overlap = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        areas = (boxes[order, 2] - boxes[order, 0]) * (boxes[order, 3] - boxes[order, 1])
        union = areas + areas[0] - overlap
        together = order[overlap / np.maximum(union, 1e-9) > iou]
        weights = scores[together] / scores[together].sum()
        kept_boxes.append(weights @ boxes[together])
        kept_points.append(np.tensordot(weights, keypoints[together], axes=1))
        kept_scores.append(scores[order[0]])
        order = np.setdiff1d(order, together, assume_unique=True)
        order = order[np.argsort(-scores[order])]
    return (np.array(kept_boxes, np.float32).reshape(-1, 4), np.array(kept_points, np.float32).reshape(-1, 6, 2),
            np.array(kept_scores, np.float32))


def tiles(width: int, height: int, per_side: int) -> list[Roi]:
    """Square tiles over the image, `per_side` across its long side, each overlapping its neighbours by half (a face
    on one tile's edge lies inside the next); one tile, the whole image, for 1."""
    side = max(width, height) / per_side
    if per_side == 1:
        return [Roi(width / 2, height / 2, side, 0.0)]
    return [Roi(float(x), float(y), side, 0.0) for y in _tile_centres(height, side)
            for x in _tile_centres(width, side)]


def _tile_centres(extent: float, side: float) -> np.ndarray:
    """Centres of tiles `side` long along an image side `extent` long, from edge to edge, at most half a tile apart."""
    if extent <= side:
        return np.array([extent / 2])
    count = int(math.ceil((extent - side) / (side / 2) - 1e-6)) + 1
    return np.linspace(side / 2, extent - side / 2, count)


class BlazeFaceDetector:
    """Faces in the image (short range: faces within about two metres of the camera, as a webcam sees its user): the
    whole image letterboxed into the detector's 128 x 128 input, or each of a set of tiles, for smaller faces."""

    def __init__(self, model: OnnxModel, min_score: float = 0.5):
        self.model, self.min_score = model, min_score
        self.anchors = ssd_anchors()

    def __call__(self, image_rgb: np.ndarray, tilings: tuple[int, ...] = (1,)) -> FaceDetections:
        """The faces found on every tile of every tiling (tiles per long side: 1 is the whole image), merged."""
        height, width = image_rgb.shape[:2]
        found = [self._detect(image_rgb, roi) for per_side in tilings for roi in tiles(width, height, per_side)]
        boxes, keypoints, scores = (np.concatenate(parts) for parts in zip(*found))
        if not len(scores):
            return FaceDetections(boxes.astype(np.float32), keypoints.astype(np.float32), scores.astype(np.float32))
        return FaceDetections(*weighted_nms(boxes, keypoints, scores, DETECTOR_IOU))

    def _detect(self, image_rgb: np.ndarray, roi: Roi) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One square region's candidate faces (boxes, keypoints, scores), in image pixels, before suppression."""
        patch = cv2.warpAffine(image_rgb, image_to_crop_matrix(roi, DETECTOR_SIZE), (DETECTOR_SIZE, DETECTOR_SIZE),
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        tensor = (patch.astype(np.float32) * (2.0 / 255.0) - 1.0)[None]
        raw, logits = self.model.run(DETECTOR_OUTPUTS, {self.model.input_names[0]: tensor})
        scores = expit(logits[0, :, 0])
        chosen = scores >= self.min_score
        values, anchors = raw[0, chosen].astype(np.float64), self.anchors[chosen] * DETECTOR_SIZE
        centres, halves = values[:, :2] + anchors, values[:, 2:4] / 2
        corners = np.concatenate([centres - halves, centres + halves], axis=1).reshape(-1, 2)
        keypoints = (values[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]).reshape(-1, 2)
        to_image_matrix = crop_to_image_matrix(roi, DETECTOR_SIZE)
        return (apply_affine(to_image_matrix, corners).reshape(-1, 4),
                apply_affine(to_image_matrix, keypoints).reshape(-1, 6, 2), scores[chosen].astype(np.float64))
