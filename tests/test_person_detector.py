"""NanoDet-g finds every pedestrian of a busy street frame (more than MoveNet MultiPose's six), as image-pixel boxes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import VTEST
from livecap.models.catalog import ModelCatalog
from livecap.models.nanodet import DISTANCE_BINS, NUM_CLASSES, NanoDetPersonDetector, decode_nanodet
from livecap.models.runtime import OnnxModel

# vtest.avi frame 250 holds seven pedestrians; a point on each body, located by eye on the frame.
BUSY_FRAME = 250
PEDESTRIANS_AT = [(50, 208), (207, 188), (397, 278), (562, 225), (619, 303), (645, 153), (668, 155)]


def _vtest_frame(index: int) -> np.ndarray:
    capture = cv2.VideoCapture(str(VTEST))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, bgr = capture.read()
    capture.release()
    assert ok, f"vtest.avi has no frame {index}"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _boxes_around(boxes: np.ndarray, x: float, y: float) -> np.ndarray:
    return boxes[(boxes[:, 0] <= x) & (x <= boxes[:, 2]) & (boxes[:, 1] <= y) & (y <= boxes[:, 3])]


@pytest.fixture(scope="module")
def detector() -> NanoDetPersonDetector:
    return NanoDetPersonDetector(OnnxModel(ModelCatalog(user_dir="/nonexistent").require("nanodet_g").path))


def test_finds_every_pedestrian_of_a_busy_frame(detector):
    people = detector(_vtest_frame(BUSY_FRAME))
    assert people.keypoints is None
    assert len(people) >= len(PEDESTRIANS_AT) > 6
    for x, y in PEDESTRIANS_AT:
        assert len(_boxes_around(people.boxes, x, y)), f"no box around the pedestrian at ({x}, {y})"
    assert np.all(np.diff(people.scores) <= 0), "best first"


def test_boxes_follow_the_frame_when_it_is_resized(detector):
    frame = _vtest_frame(BUSY_FRAME)
    full = detector(frame)
    half = detector(cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2), interpolation=cv2.INTER_AREA))
    x, y = PEDESTRIANS_AT[2]  # the largest pedestrian
    big = _boxes_around(full.boxes, x, y)[0]
    small = _boxes_around(half.boxes, x / 2, y / 2)[0]
    assert np.allclose(small * 2, big, atol=8), (small * 2, big)


def test_an_empty_frame_has_no_people(detector):
    assert len(detector(np.full((480, 640, 3), 90, np.uint8))) == 0


def test_decoding_places_a_box_around_its_cell():
    """One confident stride-8 cell whose four side distances all peak at bin 5 (5 strides = 40 px)."""
    raw = []
    for stride in (8, 16, 32):
        cells = (416 // stride) ** 2
        raw.append(np.zeros((1, cells, NUM_CLASSES), np.float32))
        raw.append(np.full((1, cells, 4 * DISTANCE_BINS), -20.0, np.float32))
    row, col = 10, 20
    cell = row * 52 + col
    raw[0][0, cell, 0] = 0.9
    raw[1][0, cell].reshape(4, DISTANCE_BINS)[:, 5] = 20.0
    boxes, scores = decode_nanodet(raw, scale=0.5)
    centre_x, centre_y = (col + 0.5) * 8, (row + 0.5) * 8
    expected = np.array([centre_x - 40, centre_y - 40, centre_x + 40, centre_y + 40]) / 0.5
    assert scores.tolist() == pytest.approx([0.9])
    assert boxes[0] == pytest.approx(expected, abs=1e-3)
