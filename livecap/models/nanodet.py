"""People detection with boxes only (NanoDet-g, COCO): any number of people per frame, no keypoints.

MoveNet MultiPose (people.py) finds at most six people; this detector has no such limit, at the price of giving
boxes without keypoints. Its outputs, per stride 8 / 16 / 32 (52 x 52, 26 x 26, 13 x 13 cells of the 416 x 416
input, row-major): 80 COCO class scores (sigmoid already applied) and, per box side (left, top, right, bottom),
11 logits over distances 0..10 in stride units; a side's distance is the softmax-weighted mean of those
(NanoDet's "generalised focal loss" head, reg_max 10), measured from the cell's centre.
"""

from __future__ import annotations

import cv2
import numpy as np

from livecap.types import PeopleDetections
from livecap.models.runtime import OnnxModel

INPUT_SIZE = 416
STRIDES = (8, 16, 32)
DISTANCE_BINS = 11  # reg_max 10: distances 0..10 strides
NUM_CLASSES = 80
PERSON_CLASS = 0  # COCO
# NanoDet's own input normalisation (its configs' `normalize`), BGR channel order
MEAN_BGR = np.array([103.53, 116.28, 123.675], np.float32)
STD_BGR = np.array([57.375, 57.12, 58.395], np.float32)


def _outputs_by_stride(raw: list[np.ndarray], input_size: int) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(stride, class scores [cells, 80], distance logits [cells, 44]) per stride, found by shape, not name."""
    levels = []
    for stride in STRIDES:
        cells = (input_size // stride) ** 2
        scores = [r for r in raw if r.shape[-2:] == (cells, NUM_CLASSES)]
        distances = [r for r in raw if r.shape[-2:] == (cells, 4 * DISTANCE_BINS)]
        if len(scores) != 1 or len(distances) != 1:
            raise ValueError(f"NanoDet outputs {[r.shape for r in raw]} lack stride {stride} ({cells} cells)")
        levels.append((stride, scores[0].reshape(cells, NUM_CLASSES), distances[0].reshape(cells, 4 * DISTANCE_BINS)))
    return levels


def _side_distances(logits: np.ndarray, stride: int) -> np.ndarray:
    """[n, 44] logits -> [n, 4] distances (left, top, right, bottom) in input pixels."""
    logits = logits.reshape(-1, 4, DISTANCE_BINS)
    weights = np.exp(logits - logits.max(axis=2, keepdims=True))
    weights /= weights.sum(axis=2, keepdims=True)
    return (weights @ np.arange(DISTANCE_BINS, dtype=np.float32)) * stride


def decode_nanodet(raw: list[np.ndarray], scale: float, input_size: int = INPUT_SIZE, min_score: float = 0.5,
                   iou_threshold: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """NanoDet's six raw outputs -> person boxes N x 4 (x1, y1, x2, y2, image pixels) and scores N, best first.

    scale: input pixels per image pixel (the letterbox's resize factor; the image sits at the input's top left).
    """
    boxes, scores = [], []
    for stride, class_scores, distance_logits in _outputs_by_stride(raw, input_size):
        keep = np.flatnonzero(class_scores[:, PERSON_CLASS] >= min_score)
        side = input_size // stride
        row, col = np.divmod(keep, side)
        centre_x, centre_y = (col + 0.5) * stride, (row + 0.5) * stride  # NanoDet v0.x cell centres
        d = _side_distances(distance_logits[keep], stride)
        boxes.append(np.stack([centre_x - d[:, 0], centre_y - d[:, 1], centre_x + d[:, 2], centre_y + d[:, 3]], 1))
        scores.append(class_scores[keep, PERSON_CLASS])
    boxes_all = np.concatenate(boxes).astype(np.float32) / scale
    scores_all = np.concatenate(scores).astype(np.float32)
    if not len(scores_all):
        return np.zeros((0, 4), np.float32), scores_all
    xywh = np.concatenate([boxes_all[:, :2], boxes_all[:, 2:] - boxes_all[:, :2]], axis=1)
    kept = np.asarray(cv2.dnn.NMSBoxes(xywh.tolist(), scores_all.tolist(), min_score, iou_threshold), int).ravel()
    kept = kept[np.argsort(-scores_all[kept], kind="stable")]
    return boxes_all[kept], scores_all[kept]


# every 0..255 value of each RGB channel normalised as NanoDet takes it, (value - mean) / std of its BGR channel
_NORMALISED_RGB = ((np.arange(256, dtype=np.float32)[:, None] - MEAN_BGR) / STD_BGR)[:, None, ::-1].copy()


def nanodet_input(image_rgb: np.ndarray, input_size: int = INPUT_SIZE) -> tuple[np.ndarray, float]:
    """1 x 3 x S x S normalised BGR input with the image letterboxed at the top left, and its scale. The
    normalisation is looked up and written straight into the planes: 5.6 -> 3.6 ms a 1080p frame, resize included."""
    height, width = image_rgb.shape[:2]
    scale = input_size / max(width, height)
    new_w, new_h = min(input_size, round(width * scale)), min(input_size, round(height * scale))
    batch = np.zeros((1, 3, input_size, input_size), np.float32)  # padding is 0 after normalisation
    resized = cv2.resize(image_rgb, (new_w, new_h), interpolation=cv2.INTER_AREA)
    batch[0, :, :new_h, :new_w] = cv2.LUT(resized, _NORMALISED_RGB).transpose(2, 0, 1)[::-1]
    return batch, scale


class NanoDetPersonDetector:
    """Person boxes from NanoDet-g: no limit on the number of people, no keypoints."""

    def __init__(self, model: OnnxModel, input_size: int = INPUT_SIZE, min_score: float = 0.5,
                 iou_threshold: float = 0.6):
        self.model = model
        self.input_size = input_size
        self.min_score = min_score
        self.iou_threshold = iou_threshold

    def __call__(self, image_rgb: np.ndarray) -> PeopleDetections:
        batch, scale = nanodet_input(image_rgb, self.input_size)
        raw = self.model.run(None, {self.model.input_names[0]: batch})
        boxes, scores = decode_nanodet(raw, scale, self.input_size, self.min_score, self.iou_threshold)
        return PeopleDetections(boxes=boxes, scores=scores, keypoints=None)
