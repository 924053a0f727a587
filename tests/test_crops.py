"""Where each landmark crop is cut (as MediaPipe places them) and what the model sees in it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from livecap.models.blazepose import BLAZEPOSE33, cut_crops
from livecap.models.crop import (apply_affine, box_roi, crop_to_image_matrix, image_to_crop_matrix,
                                 roi_from_alignment_points, roi_from_coco17)
from livecap.types import Landmarks, Roi


def test_crop_and_image_matrices_are_inverse():
    roi = Roi(cx=400.0, cy=300.0, size=220.0, rotation=0.4)
    points = np.array([[0.0, 0.0], [256.0, 0.0], [128.0, 128.0], [30.0, 200.0]])
    back = apply_affine(image_to_crop_matrix(roi, 256), apply_affine(crop_to_image_matrix(roi, 256), points))
    assert np.allclose(back, points, atol=1e-6)
    centre = apply_affine(crop_to_image_matrix(roi, 256), np.array([[128.0, 128.0]]))
    assert np.allclose(centre, [[400.0, 300.0]])


def test_upright_person_gets_an_unrotated_crop_and_a_tilted_one_is_turned_upright():
    hip = np.array([100.0, 200.0])
    upright = roi_from_alignment_points(hip, hip + [0.0, -80.0])
    assert upright.rotation == pytest.approx(0.0) and upright.size == pytest.approx(2 * 80 * 1.25)
    lying = roi_from_alignment_points(hip, hip + [80.0, 0.0])  # head to the right of the hips
    assert abs(lying.rotation) == pytest.approx(math.pi / 2)
    # the crop's "up" direction lands on the head side in the image
    top_centre = apply_affine(crop_to_image_matrix(lying, 256), np.array([[128.0, 0.0]]))[0]
    assert top_centre[0] > hip[0] + 50


def test_a_detected_person_lying_down_gets_a_crop_turned_upright_even_when_the_shoulders_are_unsure():
    """posetrack18's man lying on his side, seen from behind: MoveNet is sure of his hips and head only. An upright
    box crop showed BlazePose a sideways body (presence 0.005); aligned hips -> head, it finds him (0.999)."""
    keypoints = np.zeros((17, 3), np.float32)
    keypoints[[11, 12], :2], keypoints[[11, 12], 2] = [[1050, 800], [1130, 860]], 0.55  # hips
    keypoints[[5, 6], :2], keypoints[[5, 6], 2] = [[580, 570], [650, 610]], 0.2  # shoulders, unsure
    keypoints[[0, 3], :2], keypoints[[0, 3], 2] = [[590, 490], [520, 475]], 0.4  # nose, an ear
    box = np.array([300, 60, 1820, 1060], np.float32)
    roi = roi_from_coco17(keypoints, box)
    assert (roi.cx, roi.cy) == pytest.approx((1090, 830))  # centred on the hips, as MediaPipe's crops are
    top_centre = apply_affine(crop_to_image_matrix(roi, 256), np.array([[128.0, 0.0]]))[0]
    assert top_centre[0] < 700  # the crop's top is on the head's side: the body stands upright in it
    keypoints[[0, 3], 2] = 0.1  # nothing above the hips seen: the upright box crop
    assert roi_from_coco17(keypoints, box) == box_roi(box)


def test_a_person_seen_from_the_chest_up_gets_a_crop_centred_on_hips_below_the_shoulders():
    """A desk webcam: shoulders and head seen, hips under the frame. The crop is centred where the hips are, a
    torso's length below the shoulder line (the larger of 1.2 shoulder widths and 2.4 eye heights), upright."""
    keypoints = np.zeros((17, 3), np.float32)
    keypoints[[5, 6], :2], keypoints[[5, 6], 2] = [[700, 400], [500, 400]], 0.8  # the person's left is image right
    keypoints[[1, 2], :2], keypoints[[1, 2], 2] = [[620, 300], [580, 300]], 0.8  # eyes, 100 px above the shoulders
    roi = roi_from_coco17(keypoints, np.array([450, 200, 750, 480], np.float32))
    assert (roi.cx, roi.cy) == pytest.approx((600, 400 + 2.4 * 100))  # 240 px: more than 1.2 x 200 px shoulders
    assert roi.rotation == pytest.approx(0.0)
    assert roi.size == pytest.approx(2 * 1.25 * 1.5 * 240)
    keypoints[[5, 6], :2] = [[602, 390], [598, 410]]  # side-on: the shoulder line is short and tells no upright
    roi = roi_from_coco17(keypoints, np.array([450, 200, 750, 480], np.float32))
    assert abs(roi.rotation) < 0.3 and roi.cy > 500  # upright along the neck, the hips below


def test_a_masked_body_is_painted_out_of_the_crop():
    image = np.full((400, 400, 3), 200, np.uint8)
    points = np.zeros((33, 3), np.float32)
    points[:, :2] = [200, 200]
    torso = BLAZEPOSE33.indices("left_shoulder", "right_shoulder", "left_hip", "right_hip")
    points[torso, :2] = [[180, 150], [220, 150], [185, 250], [215, 250]]
    points[:, 2] = 1.0
    body = Landmarks(points, np.zeros((33, 3), np.float32), 1.0, BLAZEPOSE33)
    roi = Roi(200, 200, 400, 0.0)
    plain, masked = cut_crops(image, [roi, roi], [None, body])
    assert plain[128, 128].tolist() == pytest.approx([200 / 255] * 3)
    assert masked[128, 128].tolist() == [0.0, 0.0, 0.0]  # inside the torso
    assert masked[10, 10].tolist() == pytest.approx([200 / 255] * 3)  # elsewhere untouched


def test_a_crop_holds_its_pixels_times_one_255th_in_float32():
    """Cut unscaled and upright, a crop is its image's pixels, each exactly float32(value * (1 / 255)): what the
    landmark models were always given, whichever way it is computed."""
    x, y = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8))
    image = np.ascontiguousarray(np.stack([x, 255 - x, y], axis=2))
    crop = cut_crops(image, [Roi(128.0, 128.0, 256.0, 0.0)])[0]
    assert crop.dtype == np.float32
    np.testing.assert_array_equal(crop, np.multiply(image, 1.0 / 255.0).astype(np.float32))
