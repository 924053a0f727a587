"""The people benchmark's metrics: hand-made cases with known answers, the AP harness scoring ground truth as
perfect, and one real run of the recall metric on a short clip."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import MEDIA, SHARED_MODELS, media
import people_bench as bp
import people_reference as br
from livecap.models.catalog import ModelCatalog
from evaluation import keypoint_ap, outside_ignore_regions
from livecap.models.runtime import OnnxModel

A, B = np.array([0, 0, 10, 20.0]), np.array([100, 0, 110, 20.0])


def shifted(box, dx):
    return box + np.array([dx, 0, dx, 0])


def test_box_iou_matrix_of_known_boxes():
    iou = bp.box_iou_matrix([A, B], [A, shifted(A, 5)])
    assert iou[0, 0] == pytest.approx(1.0)
    assert iou[0, 1] == pytest.approx(100 / 300)  # half overlap: 5x20 shared, 2 x 200 - 100 in all
    assert iou[1].tolist() == [0.0, 0.0]


def test_identities_chain_through_overlapping_boxes_and_start_anew_after_a_jump():
    ids = bp.chain_identities([np.array([A, B]), np.array([shifted(B, 1), shifted(A, 1)]), np.array([shifted(A, 50)])])
    assert ids[0].tolist() == [0, 1]
    assert ids[1].tolist() == [1, 0]  # order in the frame does not matter
    assert ids[2].tolist() == [2]


def test_stints_are_runs_of_consecutive_frames():
    assert bp.stint_lengths([[1, 2], [1], [1, 2], [2], []]) == {1: [3], 2: [1, 2]}


def test_recall_counts_covered_person_frames_and_id_switches():
    reference = [np.array([A, B])] * 4
    tracked = [(np.array([1, 2]), np.array([A, B])),
               (np.array([1]), np.array([A])),  # B missed
               (np.array([1, 3]), np.array([A, shifted(B, 2)])),  # B back under a new id: one switch
               (np.array([3, 1]), np.array([A, shifted(B, 60)]))]  # A given to 3: a switch; the 1 box is off B
    figures = bp.recall_against_reference(reference, tracked)
    assert figures.reference_person_frames == 8
    assert figures.covered == 6
    assert figures.recall == pytest.approx(0.75)
    assert figures.id_switches == 2
    assert figures.reference_identities == 2
    assert figures.uncovered_frames == [1, 3]
    assert figures.stints == {1: [4], 2: [1], 3: [2]}


def test_one_tracked_person_covers_at_most_one_reference_person():
    figures = bp.recall_against_reference([np.array([A, shifted(A, 1)])], [(np.array([1]), np.array([A]))])
    assert figures.covered == 1


def person(coco_shift=0.0, blaze_shift=0.0):
    """A 100 px tall record whose coco17 shoulders/hips and landmarks2d shoulders/hips can be moved apart."""
    coco17 = np.zeros((17, 3))
    coco17[[5, 6, 11, 12], :2] = [[40, 20], [60, 20], [42, 60], [58, 60]]
    landmarks = np.zeros((33, 3))
    landmarks[[11, 12, 23, 24], :2] = coco17[[5, 6, 11, 12], :2]
    coco17[:, 0] += coco_shift
    landmarks[:, 0] += blaze_shift
    return {"bbox": [30, 0, 70, 100], "coco17": coco17.tolist(), "landmarks2d": landmarks.tolist()}


def test_records_agree_when_their_two_skeletons_lie_within_015_box_heights():
    verdicts = bp.records_consistent([person(), person(coco_shift=14), person(coco_shift=16), person(blaze_shift=-20)])
    assert verdicts.tolist() == [True, True, False, False]


def test_merged_passes_keep_one_of_each_person():
    def found(boxes, scores):
        return bp.PeopleDetections(np.array(boxes, np.float32), np.array(scores, np.float32),
                                   np.zeros((len(boxes), 17, 3), np.float32))
    merged = bp.merge_passes([found([A, B], [0.5, 0.4]), found([shifted(A, 1), shifted(A, 300)], [0.6, 0.3])])
    assert len(merged) == 3
    assert merged.scores.tolist() == pytest.approx([0.6, 0.4, 0.3])


@pytest.mark.parametrize("name", list(bp.DEV_SETS))
def test_the_ap_harness_scores_each_dev_set_ground_truth_as_perfect(name):
    media(bp.DEV_SETS[name][0])
    dataset = bp.load_dev_set(name, MEDIA)
    perfect = []
    for ann in dataset.ground_truth["annotations"]:
        if ann["num_keypoints"] == 0:  # no point shared with COCO-17 (crowdpose: head and neck only): ignored
            continue
        raw = np.array(ann["keypoints"]).reshape(-1, 3)
        kps = np.zeros((17, 3))
        for i, c in enumerate(dataset.coco_index):
            if c is not None:
                kps[c] = raw[i]
        perfect.append(dataset.to_result(ann["image_id"], kps, 1.0))
    assert keypoint_ap(dataset, perfect) == pytest.approx(1.0)
    assert keypoint_ap(dataset, outside_ignore_regions(dataset, perfect)) == pytest.approx(1.0)


def test_a_person_inside_an_ignore_region_is_dropped_before_scoring():
    media(bp.DEV_SETS["posetrack18"][0])
    dataset = bp.load_dev_set("posetrack18", MEDIA)
    image = next(img for img in dataset.ground_truth["images"] if img.get("ignore_regions_x"))
    polygon = np.array(list(zip(image["ignore_regions_x"][0], image["ignore_regions_y"][0])), np.int32)
    mask = cv2.fillPoly(np.zeros((image["height"], image["width"]), np.uint8), [polygon], 1)
    y, x = np.argwhere(mask)[len(np.argwhere(mask)) // 2]  # a pixel well inside the first region
    inside = np.zeros((17, 3))
    inside[:, :2] = [x, y]
    outside = np.zeros((17, 3))
    outside[:, :2] = np.argwhere(mask == 0)[0][::-1]
    kept = outside_ignore_regions(dataset, [dataset.to_result(image["id"], points, 0.9) for points in (inside, outside)])
    assert [r["keypoints"][:2] for r in kept] == [outside[0, :2].tolist()]


def test_recall_of_the_default_preset_on_a_real_clip():
    """Reference pass (MoveNet multi-scale + RTMDet boxes) and `livecap process` on 30 frames of basketball:
    the metric runs end to end on real data and gives figures in range."""
    video = media("video/basketball_240p.mp4")
    rtmdet = SHARED_MODELS / "rtmdet_nano_person.onnx"
    movenet = OnnxModel(ModelCatalog().require("movenet_multipose_lightning").path)
    detector = br.ReferenceDetector(movenet, rtmdet if rtmdet.exists() else None, sides=(256, 384))
    reference = br.reference_pass(video, detector, max_frames=30)
    frames, fps = bp.tracked_run(video, "balanced", max_frames=30)
    row = bp.video_row(video, "balanced", reference, frames, fps)
    assert len(reference) == row.frames == 30
    assert row.figures.reference_person_frames >= 30  # at least one clearly visible player throughout
    assert row.figures.recall >= 0.5
    assert 0.0 <= row.consistent <= 1.0 and row.records > 0
