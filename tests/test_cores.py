"""Behaviour of the pure stage cores: geometry, decoding, tracking, provider choice, the JSONL writer."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from conftest import TWO_PEOPLE, media, read_jsonl, run_livecap
from livecap.models.crop import (apply_affine, box_roi, crop_to_image_matrix, image_to_crop_matrix,
                                 roi_from_alignment_points, roi_from_coco17)
from livecap.errors import RuntimeMissingError
from livecap.models.blazepose import coco17_from_landmarks
from livecap.models.blazepose import cut_crops
from livecap.models.movenet import MoveNetMultiPose, decode_movenet, letterbox_shape
from livecap.pose.similarity import LIMB_HALF_WIDTH, SOLE, body_outline, box_iou, merge_people
from livecap.types import Candidate, Landmarks, PeopleDetections, Roi
from livecap.models.runtime import resolve_providers
from livecap.sinks.jsonl import JsonlWriter
from livecap.pose.tracking import PoseTracker, object_keypoint_similarity
from livecap.settings import TrackerSettings


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


def _landmarks_at(x: float, presence: float = 0.9) -> Landmarks:
    image = np.zeros((33, 3), np.float32)
    image[:, 0] = x + np.linspace(-20, 20, 33)
    image[:, 1] = np.linspace(100, 400, 33)
    image[:, 2] = 0.9
    return Landmarks(image, np.zeros((33, 3), np.float32), presence,
                     np.array([[x, 250.0], [x, 100.0]], np.float32))


def _detections_at(*xs: float) -> PeopleDetections:
    """The detector's people at these x positions, on the same bodies as _landmarks_at."""
    keypoints = np.stack([coco17_from_landmarks(_landmarks_at(x).image33) for x in xs]).reshape(-1, 17, 3)
    boxes = np.array([[x - 25, 95, x + 25, 405] for x in xs], np.float32)
    return PeopleDetections(boxes, np.full(len(xs), 0.8, np.float32), keypoints)


def test_tracker_keeps_ids_through_a_short_occlusion_and_never_reuses_them():
    tracker = PoseTracker(TrackerSettings(detect_every=1000, max_missed=5))
    first = tracker.update(tracker.propose(_detections_at(100, 300)), [_landmarks_at(100), _landmarks_at(300)])
    assert [t.id for t in first] == [1, 2]
    # person 2 disappears (the landmark model sees nobody in its crop) for three frames
    asked_for_detection = []
    for _ in range(3):
        asked_for_detection.append(tracker.needs_detection())
        candidates = tracker.propose(_detections_at(100) if asked_for_detection[-1] else None)
        results = [_landmarks_at(100) if c.track_id == 1 else _landmarks_at(300, presence=0.0)
                   for c in candidates]
        assert [t.id for t in tracker.update(candidates, results)] == [1]
    assert asked_for_detection == [False, True, False]  # the frame after a loss looks for people again
    # ... and comes back a little further on: same id
    candidates = tracker.propose(_detections_at(100, 310))
    seen = tracker.update(candidates, [_landmarks_at(100 if c.track_id == 1 else 310) for c in candidates])
    assert [t.id for t in seen] == [1, 2]
    # a newcomer far away gets a fresh id, as does anyone after a reset
    candidates = tracker.propose(_detections_at(100, 310, 600))
    seen = tracker.update(candidates, [_landmarks_at({1: 100, 2: 310}.get(c.track_id, 600)) for c in candidates])
    assert [t.id for t in seen] == [1, 2, 3]
    tracker.reset()
    candidates = tracker.propose(_detections_at(100))
    assert [t.id for t in tracker.update(candidates, [_landmarks_at(100)])] == [4]


def test_two_crops_on_one_person_collapse_to_the_older_track():
    tracker = PoseTracker()
    tracker.update(tracker.propose(_detections_at(100, 300)), [_landmarks_at(100), _landmarks_at(300)])
    candidates = [Candidate(1, Roi(100, 250, 300, 0)), Candidate(2, Roi(300, 250, 300, 0))]
    seen = tracker.update(candidates, [_landmarks_at(100), _landmarks_at(101)])  # 2 drifted onto 1
    assert [t.id for t in seen] == [1]


def test_oks_is_one_for_identical_poses_and_falls_with_distance():
    pose = _detections_at(100).keypoints[0]
    assert object_keypoint_similarity(pose, pose, area=10000) == pytest.approx(1.0)
    moved = pose.copy()
    moved[:, 0] += 30
    assert object_keypoint_similarity(pose, moved, area=10000) < 0.5


def test_provider_choice():
    available = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_providers(None, available) == available
    assert resolve_providers(["cpu"], available) == ["CPUExecutionProvider"]
    assert resolve_providers(None, ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    with pytest.raises(RuntimeMissingError, match="CoreMLExecutionProvider"):
        resolve_providers(["coreml"], available)


def test_jsonl_writer_writes_whole_lines(tmp_path):
    with JsonlWriter(tmp_path / "r.jsonl", {"livecap": "x"}) as writer:
        writer.write({"frame": 0, "people": []})
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"livecap": "x"}, {"frame": 0, "people": []}]


@pytest.fixture
def two_copies(tmp_path):
    folder = tmp_path / "seq"
    folder.mkdir()
    for name in ("000.jpg", "001.jpg"):
        shutil.copy(media("images/ochuman/000817.jpg"), folder / name)
    return folder


def test_a_folder_is_a_sequence_and_stills_treats_each_image_alone(two_copies, tmp_path):
    sequence, stills = tmp_path / "sequence.jsonl", tmp_path / "stills.jsonl"
    assert run_livecap("process", str(two_copies), "--out", str(sequence)).returncode == 0
    assert run_livecap("process", str(two_copies), "--stills", "--out", str(stills)).returncode == 0
    _, seq_frames = read_jsonl(sequence)
    _, still_frames = read_jsonl(stills)
    assert [f["image"] for f in seq_frames] == ["000.jpg", "001.jpg"]
    seq_ids = [{p["id"] for p in f["people"]} for f in seq_frames]
    still_ids = [{p["id"] for p in f["people"]} for f in still_frames]
    assert seq_ids[0] == seq_ids[1] and len(seq_ids[0]) >= 2  # same people carried over
    assert len(still_ids[0]) == len(still_ids[1]) >= 2 and not still_ids[0] & still_ids[1]  # found anew


def test_max_frames_stops_early(tmp_path):
    out = tmp_path / "o.jsonl"
    done = run_livecap("process", str(TWO_PEOPLE), "--out", str(out), "--max-frames", "5")
    assert done.returncode == 0 and "processed 5 frames, 2 people" in done.stdout
    assert len(read_jsonl(out)[1]) == 5


def test_a_detection_on_another_body_inside_a_tracks_box_becomes_a_newcomer():
    """Someone standing just behind a tracked person: boxes overlap, poses do not, so it is a new candidate."""
    tracker = PoseTracker(TrackerSettings(detect_every=1000))
    tracker.update(tracker.propose(_detections_at(100)), [_landmarks_at(100)])
    both = _detections_at(100, 120)  # the second box overlaps the track's (IoU 0.39), its pose is 20 px off
    assert box_iou(both.boxes[1], tracker.tracks[1].bbox) > 0.35
    candidates = tracker.propose(both)
    assert [c.track_id for c in candidates] == [1, None]
    seen = tracker.update(candidates, [_landmarks_at(100), _landmarks_at(120)])
    assert [t.id for t in seen] == [1, 2]


def test_a_detection_is_kept_out_of_a_record_whose_landmarks_found_another_body():
    tracker = PoseTracker(TrackerSettings(detect_every=1000))
    candidates = tracker.propose(_detections_at(100))
    assert tracker.update(candidates, [_landmarks_at(300)]) == []  # the newcomer's crop found someone else
    assert tracker.needs_detection()


def test_a_crop_that_found_its_detections_body_less_precisely_asks_for_no_extra_detector_run():
    """Small people: the landmarks sit on the detected body, 20 px off its keypoints (OKS 0.38, under the gate):
    the detection is kept out of the record, but no body went unexplained, so the detector keeps its schedule."""
    tracker = PoseTracker(TrackerSettings(detect_every=8))
    tracker.update(tracker.propose(_detections_at(100)), [_landmarks_at(100)])
    candidates = tracker.propose(_detections_at(100))
    assert [c.track_id for c in candidates] == [1]
    assert [t.id for t in tracker.update(candidates, [_landmarks_at(120)])] == [1]
    assert not tracker.tracks[1].coco_offset.any()  # the detector's points (20 px off) did not join the record
    asked = []
    for _ in range(4):  # half a period: an unexplained body would have been looked for after a quarter
        asked.append(tracker.needs_detection())
        tracker.update(tracker.propose(None), [_landmarks_at(120)])
    assert asked == [False] * 4


def test_a_persons_box_spans_every_landmark_and_association_only_the_confident_ones():
    """A landmark the model is unsure of is still part of the body a detector boxes; where the track is (its
    motion, its size) comes from the points it sees."""
    tracker = PoseTracker(TrackerSettings(detect_every=1000))
    landmarks = _landmarks_at(100)
    landmarks.image33[25:, 0] += 60  # legs placed off to the side, unsure
    landmarks.image33[25:, 2] = 0.1
    track = tracker.update(tracker.propose(_detections_at(100)), [landmarks])[0]
    assert track.bbox[2] > 170 and track.seen_box[2] < 140
    assert track.body_size == pytest.approx(track.seen_box[3] - track.seen_box[1])


def test_a_track_no_detection_explains_restarts_from_the_detection_where_it_stands():
    """The track's landmarks drifted (20 px off its person) and the detector sees the person where it stands:
    the same id restarts from the detector's crop instead of a newcomer taking the person."""
    tracker = PoseTracker(TrackerSettings(detect_every=1000))
    tracker.update(tracker.propose(_detections_at(100)), [_landmarks_at(100)])
    tracker.update(tracker.propose(None), [_landmarks_at(120)])  # drifted
    detections = _detections_at(100)
    candidates = tracker.propose(detections)
    assert [(c.track_id, c.detection_keypoints is not None) for c in candidates] == [(1, True)]
    assert candidates[0].roi == roi_from_coco17(detections.keypoints[0], detections.boxes[0])


def test_a_lost_person_is_reattached_by_position_and_never_handed_to_the_occluder():
    tracker = PoseTracker(TrackerSettings(detect_every=1000, max_missed=10))
    tracker.update(tracker.propose(_detections_at(100, 300)), [_landmarks_at(100), _landmarks_at(300)])
    for _ in range(tracker.predict_frames + 1):  # person 2 walks behind person 1, unseen for longer than predicted
        candidates = tracker.propose(None)
        tracker.update(candidates, [_landmarks_at(100)])
    assert tracker.predicted() == []
    candidates = tracker.propose(_detections_at(100, 290))  # back, close to where it was lost
    assert [c.track_id for c in candidates] == [1, 2]
    seen = tracker.update(candidates, [_landmarks_at(100), _landmarks_at(290)])
    assert [(t.id, t.resumed) for t in seen] == [(1, False), (2, True)]


def test_a_person_unseen_for_a_moment_is_predicted_and_carries_on_when_found():
    """Lost for up to predict_seconds (0.2 s: 6 frames at 30 fps, 2 at 10 fps), a person is still listed, as
    predicted; found again in that time their filters and fit carry on (not resumed)."""
    tracker = PoseTracker(TrackerSettings(detect_every=1000))
    tracker.pace(1 / 10)
    assert tracker.predict_frames == 2
    tracker.update(tracker.propose(_detections_at(100, 300)), [_landmarks_at(100), _landmarks_at(300)])
    for missed in (1, 2):
        tracker.update(tracker.propose(None), [_landmarks_at(100)])
        assert [(t.id, t.missed) for t in tracker.predicted()] == [(2, missed)]
    seen = tracker.update(tracker.propose(_detections_at(100, 300)), [_landmarks_at(100), _landmarks_at(300)])
    assert [(t.id, t.resumed) for t in seen] == [(1, False), (2, False)]


def test_a_drifted_track_restarts_on_the_nearest_detection_not_the_best_scored_one():
    """Two people side by side, the track's landmarks drifted off its person: the track takes the detection
    nearest to where it was, whatever order the detector listed them in; the other is a newcomer."""
    tracker = PoseTracker(TrackerSettings(detect_every=1000))
    tracker.update(tracker.propose(_detections_at(100)), [_landmarks_at(100)])
    far_first = _detections_at(160, 140)  # listed first: the farther one (poses too far off to match either)
    candidates = tracker.propose(far_first)
    assert [c.track_id for c in candidates] == [1, None]
    assert np.array_equal(candidates[0].detection_keypoints, far_first.keypoints[1]) and candidates[0].restart
    assert np.array_equal(candidates[1].detection_keypoints, far_first.keypoints[0])


def test_a_lost_person_is_looked_for_again_soon_while_recently_lost():
    tracker = PoseTracker(TrackerSettings(detect_every=8, max_missed=60))
    tracker.update(tracker.propose(_detections_at(100, 300)), [_landmarks_at(100), _landmarks_at(300)])
    asked = []
    for _ in range(18):  # person 2 is not seen again; the detector finds person 1 only
        asked.append(tracker.needs_detection())
        candidates = tracker.propose(_detections_at(100) if asked[-1] else None)
        tracker.update(candidates, [_landmarks_at(100) if c.track_id == 1 else _landmarks_at(300, presence=0.0)
                                    for c in candidates])
    # at once after the loss (frame 1), then after two frames without (a quarter period) while lost for at most
    # a period (8 frames), then on the period again
    assert [i for i, a in enumerate(asked) if a] == [1, 4, 7, 16]


def test_a_persons_box_spans_the_crown_and_the_limbs_outline():
    landmarks = _landmarks_at(100)  # points x 80..120, y 100..400; hip centre (100, 250), crown point (100, 100)
    landmarks.roi_points[1] = [100, 60]  # the crown above the top landmark (the eyes)
    radius = 190.0
    box = body_outline(landmarks.image33, landmarks.roi_points)
    assert box == pytest.approx([80 - LIMB_HALF_WIDTH * radius, 60, 120 + LIMB_HALF_WIDTH * radius,
                                 400 + SOLE * radius])


def test_detector_passes_merge_by_pose_so_two_people_in_one_box_stay_two():
    one = _detections_at(100)
    other = _detections_at(100)
    other.keypoints[0, :, 0] = 2 * 100 - other.keypoints[0, :, 0]  # mirrored body in the same box
    other.keypoints[0, :, 1] = 500 - other.keypoints[0, :, 1]
    again = _detections_at(101)  # the first person found again by another pass
    merged = merge_people([one, PeopleDetections(other.boxes, np.array([0.5], np.float32), other.keypoints), again])
    assert len(merged) == 2


def test_a_masked_body_is_painted_out_of_the_crop():
    image = np.full((400, 400, 3), 200, np.uint8)
    body = np.zeros((33, 3), np.float32)
    body[:, :2] = [200, 200]
    body[[11, 12, 23, 24], :2] = [[180, 150], [220, 150], [185, 250], [215, 250]]
    body[:, 2] = 1.0
    roi = Roi(200, 200, 400, 0.0)
    plain, masked = cut_crops(image, [roi, roi], [None, body])
    assert plain[128, 128].tolist() == pytest.approx([200 / 255] * 3)
    assert masked[128, 128].tolist() == [0.0, 0.0, 0.0]  # inside the torso
    assert masked[10, 10].tolist() == pytest.approx([200 / 255] * 3)  # elsewhere untouched


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


def test_crowd_boxes_no_track_or_detection_covers_become_crops_from_the_box():
    tracker = PoseTracker(TrackerSettings(detect_every=1000))
    tracker.update(tracker.propose(_detections_at(100)), [_landmarks_at(100)])
    # MoveNet sees the tracked person and one more (300); the box detector sees those two and a third (600)
    crowd = PeopleDetections(np.array([[x - 25, 95, x + 25, 405] for x in (100, 300, 600)], np.float32),
                             np.full(3, 0.7, np.float32))
    candidates = tracker.propose(_detections_at(100, 300), crowd)
    assert [c.track_id for c in candidates] == [1, None, None]
    from_box = candidates[-1]
    assert from_box.detection_keypoints is None and from_box.roi.cx == pytest.approx(600)
    assert from_box.roi.rotation == 0.0 and from_box.roi.size == pytest.approx(310 * 1.25)
    seen = tracker.update(candidates, [_landmarks_at(100), _landmarks_at(300), _landmarks_at(600)])
    assert [t.id for t in seen] == [1, 2, 3]
    # a box whose crop the landmark model finds empty makes nobody
    candidates = tracker.propose(None, None)
    assert len(candidates) == 3
