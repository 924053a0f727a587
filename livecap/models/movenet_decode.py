"""MoveNet MultiPose's six people from its heads: the TF.js model's own post-processing, done in Numba.

In the graph, that post-processing weighs every keypoint heatmap cell for every person and keypoint (six people x
17 keypoints x every cell, where all but each person's box is then masked out): ONNX Runtime spent a sixth of a
call on it at a 512 input (docs/benchmarks.md, "MoveNet's decoding"). The same arithmetic here visits each person's
box only. The shipped model ends at the heads (tools/build_models.py); a model that ends
at the graph's own `output_0` (the reference file, a user's own) is read as before.

Each step below is the graph's (the reference ONNX file's nodes named after the TF ops):
- the person centres: the centre heatmap's local maxima over 5 x 5 cells (MaxPool), the six strongest (TopK);
- each centre's keypoints regressed from it, its box (centre offset, scale);
- each keypoint at the heatmap cell inside the person's box that maximises heatmap x exp(-d^2 / (0.3 x the map's
  short side)), d the cell's distance from the regressed point; its score the largest such value any person
  gives that cell; its place the cell plus the offset head's;
- the person's score: the centre's, times the mean of the keypoint scores above KEYPOINT_THRESHOLD.
"""

from __future__ import annotations

import cv2
import numpy as np
from numba import njit

# the heads' layer names (each output's name holds "/NAME/"), in decode_heads' order
HEADS = ("center_0", "kpt_heatmap_0", "kpt_regress_0", "kpt_offset_0", "box_scale_0", "box_offset_0")
KEYPOINTS = 17
PEOPLE = 6  # the graph's fixed rows
STRIDE = 4  # input pixels per heatmap cell
# the graph's constants
CENTRE_POOL = 5
PEAK_TOLERANCE = np.float32(1.013279e-06)  # a centre is a local maximum where it is within this of the pool's
SPREAD = np.float32(0.30004883)  # x the map's short side: the squared-distance scale of the keypoint weighting
KEYPOINT_THRESHOLD = np.float32(0.12695312)


def head_order(output_names: list[str]) -> list[str]:
    """The model's output names in HEADS' order."""
    return [next(name for name in output_names if f"/{head}/" in name) for head in HEADS]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (np.float32(1) / (np.float32(1) + np.exp(-x))).astype(np.float32)


def decode_heads(centre: np.ndarray, heatmap: np.ndarray, regress: np.ndarray, offset: np.ndarray,
                 box_scale: np.ndarray, box_offset: np.ndarray) -> np.ndarray:
    """The heads (NCHW, batch 1: 1, 17, 34, 34, 2, 2 channels) as the graph's `output_0`: [1, 6, 56], each person 17
    x (y, x, score), then ymin, xmin, ymax, xmax and the person's score, coordinates over the padded input's size."""
    height, width = centre.shape[2:]
    rows, cols, centre_scores = _centres(centre[0, 0])
    regressed = regress[0][:, rows, cols].T.reshape(PEOPLE, KEYPOINTS, 2)
    key_y = (rows[:, None].astype(np.float32) + regressed[..., 0]).astype(np.float32)
    key_x = (cols[:, None].astype(np.float32) + regressed[..., 1]).astype(np.float32)
    half = np.maximum(box_scale[0][:, rows, cols].T, np.float32(0)) * np.float32(0.5)
    middle = box_offset[0][:, rows, cols].T + np.stack([rows, cols], axis=1).astype(np.float32)
    cells_high = np.array([height, width, height, width], np.float32)
    boxes = np.clip(np.concatenate([middle - half, middle + half], axis=1), 0, cells_high).astype(np.float32)
    spread = np.float32(min(height, width)) * SPREAD
    cells, scores = _keypoint_cells(_sigmoid(heatmap[0]), key_y, key_x, boxes, spread)
    out = np.empty((PEOPLE, 56), np.float32)
    out[:, :51] = _keypoints(cells, scores, offset[0]).reshape(PEOPLE, 51)
    # over the input's size as the graph computes it: cells x STRIDE / (cells x STRIDE)
    out[:, 51:55] = np.clip(boxes * np.float32(STRIDE) / (cells_high * np.float32(STRIDE)), 0, 1)
    out[:, 55] = _person_scores(centre_scores, scores)
    return out[None]


def _centres(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The six strongest local maxima of the centre heatmap: their rows, columns and scores."""
    centres = _sigmoid(logits)
    pooled = cv2.dilate(centres, np.ones((CENTRE_POOL, CENTRE_POOL), np.uint8))
    peaks = (centres * (np.abs(centres - pooled) < PEAK_TOLERANCE)).ravel()
    best = np.argsort(-peaks, kind="stable")[:PEOPLE]  # TopK: the lower index first among equals
    width = logits.shape[1]
    return best // width, best % width, peaks[best]


def _keypoints(cells: np.ndarray, scores: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """PEOPLE x KEYPOINTS x (y, x, score): each keypoint's cell moved by the offset head's, over the map's size."""
    _, height, width = offset.shape
    rows, cols = cells // width, cells % width
    offsets = offset.reshape(KEYPOINTS, 2, height, width)
    k = np.arange(KEYPOINTS)[None, :]
    per_cell = np.float32(STRIDE) / (np.array([height, width], np.float32) * np.float32(STRIDE))
    keypoints = np.empty((PEOPLE, KEYPOINTS, 3), np.float32)
    keypoints[..., 0] = (rows + offsets[k, 0, rows, cols]).astype(np.float32) * per_cell[0]
    keypoints[..., 1] = (cols + offsets[k, 1, rows, cols]).astype(np.float32) * per_cell[1]
    keypoints[..., 2] = scores
    return keypoints


def _person_scores(centre_scores: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The centre's score times the mean of the keypoint scores above KEYPOINT_THRESHOLD."""
    above = scores > KEYPOINT_THRESHOLD
    summed = (centre_scores[:, None] * np.where(above, scores, np.float32(0))).sum(axis=1, dtype=np.float32)
    return np.float32(1) / np.maximum(above.sum(axis=1), 1).astype(np.float32) * summed


@njit(cache=True)
def _weight(heat, dy, dx, spread):
    return heat * np.exp(-(dy * dy + dx * dx) / spread)


@njit(cache=True)
def _inside(box, row, col):
    return box[0] <= row < box[2] and box[1] <= col < box[3]


@njit(cache=True)
def _keypoint_cells(heat, key_y, key_x, boxes, spread):
    """Per person and keypoint: the heatmap cell (a flat index) the graph's ArgMax picks, and its score (the
    largest weighted value any person gives that cell: the graph's ReduceMax over people)."""
    people, keypoints = key_y.shape
    width = heat.shape[2]
    cells = np.zeros((people, keypoints), np.int64)
    scores = np.zeros((people, keypoints), np.float32)
    for p in range(people):
        box = boxes[p]
        top, left = int(np.ceil(box[0])), int(np.ceil(box[1]))
        for k in range(keypoints):
            best, cell = np.float32(0), 0  # all values 0 (an empty box): ArgMax's first cell
            for row in range(top, int(np.ceil(box[2]))):
                for col in range(left, int(np.ceil(box[3]))):
                    value = _weight(heat[k, row, col], np.float32(row) - key_y[p, k],
                                    np.float32(col) - key_x[p, k], spread)
                    if value > best:
                        best, cell = value, row * width + col
            cells[p, k] = cell
            row, col = cell // width, cell % width
            for q in range(people):
                if _inside(boxes[q], np.float32(row), np.float32(col)):
                    value = _weight(heat[k, row, col], np.float32(row) - key_y[q, k],
                                    np.float32(col) - key_x[q, k], spread)
                    scores[p, k] = max(scores[p, k], value)
    return cells, scores
