"""MoveNet MultiPose, the people detector: its decoding and the input sizes it runs at."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import MEDIA, VTEST
from livecap.models.catalog import ModelCatalog
from livecap.models.movenet import MoveNetMultiPose, decode_movenet, letterbox_shape, letterboxed
from livecap.models.runtime import OnnxModel
from livecap.types import SearchRegion


def test_movenet_decoding_undoes_the_letterbox():
    scale, pad_w, pad_h = letterbox_shape(1920, 1080, 256)
    assert (pad_w, pad_h) == (256, 160) and pad_w % 32 == 0 and pad_h % 32 == 0
    raw = np.zeros((1, 6, 56), np.float32)
    raw[0, 0, 0:3] = (0.5, 0.25, 0.9)  # nose at y = 0.5, x = 0.25 of the padded input
    raw[0, 0, 51:55] = (0.1, 0.2, 0.6, 0.4)
    raw[0, 0, 55] = 0.8
    raw[0, 1, 55] = 0.05  # below the person threshold
    people = decode_movenet(raw, scale, pad_w, pad_h, min_score=0.2)
    assert len(people) == 1
    assert people.keypoints[0, 0, :2] == pytest.approx([0.25 * 256 / scale, 0.5 * 160 / scale])
    assert people.boxes[0] == pytest.approx([0.2 * 256 / scale, 0.1 * 160 / scale,
                                             0.4 * 256 / scale, 0.6 * 160 / scale])


def test_the_shipped_models_heads_decode_to_the_people_its_own_graph_decoded():
    """The shipped MoveNet ends at its heads and livecap decodes them (livecap.models.movenet_decode); the
    reference is the uncut graph's own decoding on the dev stills at 256, 384 and 512 (tests/data/reference/
    movenet_graph_people.npz, made before the cut): every person scored 0.2 or more (livecap's threshold) has the
    same points, scores and box to 1e-4, and every slot the same person score."""
    detector = MoveNetMultiPose(OnnxModel(ModelCatalog(user_dir="/nonexistent").require("movenet_multipose_lightning")
                                          .path))
    assert "output_0" not in detector.model.output_names
    reference = np.load(MEDIA / "reference" / "movenet_graph_people.npz")
    found = 0
    for key in reference.files:
        image, side = key.rsplit("@", 1)
        rgb = cv2.cvtColor(cv2.imread(str(MEDIA / "images" / image)), cv2.COLOR_BGR2RGB)
        ours, theirs = detector.raw(letterboxed(rgb, int(side)))[0], reference[key][0]
        kept = theirs[:, 55] >= 0.2
        assert np.abs(ours[:, 55] - theirs[:, 55]).max() < 1e-4, key
        assert np.abs(ours[kept] - theirs[kept]).max(initial=0.0) < 1e-4, key
        found += kept.sum()
    assert found == 32


def test_movenet_input_sizes_follow_the_image():
    detector = MoveNetMultiPose(None, (256, 384, 640))  # type: ignore[arg-type]
    assert detector.sides_for(1920, 1080) == (256, 384, 640)
    assert detector.sides_for(640, 480) == (256, 384, 640)
    assert detector.sides_for(426, 240) == (256, 384)
    assert detector.sides_for(200, 100) == (256,)


def test_movenet_input_size_on_video_follows_the_smallest_person():
    detector = MoveNetMultiPose(None, (256, 384, 512))  # type: ignore[arg-type]
    # nobody followed yet: the native size, the larger ones in turn between
    assert [detector.side_for_run(768, 576, i, None) for i in range(4)] == [256, 384, 256, 512]
    # two people 900 px tall in 1080p: the native size shows them 120 px tall
    assert [detector.side_for_run(1920, 1080, i, 900.0) for i in range(4)] == [256, 384, 256, 512]
    # an 80 px bystander in a 340 x 256 clip: enlarged to 384 (90 px), 512 between
    assert [detector.side_for_run(340, 256, i, 80.0) for i in range(4)] == [384, 512, 384, 512]
    # a 50 px pedestrian in a 768 x 576 street: 512 is the most there is, every run
    assert [detector.side_for_run(768, 576, i, 50.0) for i in range(4)] == [512] * 4


def test_a_region_search_finds_the_person_there_in_image_pixels_and_drops_those_its_edges_cut():
    """vtest frame 250, the pedestrian at (397, 278) about 90 px tall: sought in a region 3.2 bodies wide around
    them, at the scale the whole image's run shows them (512 of 768), found where the whole image's run finds them;
    nothing the region's edges cut is returned."""
    capture = cv2.VideoCapture(str(VTEST))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 250)
    frame = cv2.cvtColor(capture.read()[1], cv2.COLOR_BGR2RGB)
    capture.release()
    detector = MoveNetMultiPose(OnnxModel(ModelCatalog(user_dir="/nonexistent").require("movenet_multipose_lightning")
                                          .path), (256, 384, 512))
    whole = detector.run(frame, 512)
    region = SearchRegion(np.array([397 - 144, 278 - 144, 397 + 144, 278 + 144], np.float32), 90.0)
    found = detector.search(frame, region)

    def around(boxes: np.ndarray) -> np.ndarray:
        return boxes[(boxes[:, 0] <= 397) & (397 <= boxes[:, 2]) & (boxes[:, 1] <= 278) & (278 <= boxes[:, 3])]

    assert len(around(found.boxes)) == 1
    assert np.allclose(around(found.boxes)[0], around(whole.boxes)[0], atol=8)
    assert np.all(found.boxes[:, :2] > region.box[:2]) and np.all(found.boxes[:, 2:] < region.box[2:])
