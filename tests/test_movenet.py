"""MoveNet MultiPose, the people detector: its decoding and the input sizes it runs at."""

from __future__ import annotations

import numpy as np
import pytest

from livecap.models.movenet import MoveNetMultiPose, decode_movenet, letterbox_shape


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
