"""The people tracker (pure: detections and landmarks in, tracks out) on synthetic bodies: ids, re-attachment,
one record per body, and the costs it weighs pairs with."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from livecap.models.blazepose import BLAZEPOSE33
from livecap.models.crop import roi_from_coco17
from livecap.pose.costs import NO_MATCH, TrackerCosts
from livecap.pose.similarity import LIMB_HALF_WIDTH, SOLE, body_outline, box_iou, merge_people
from livecap.pose.tracking import PoseTracker, object_keypoint_similarity
from livecap.settings import TrackerSettings
from livecap.types import Candidate, Landmarks, PeopleDetections, Roi, SearchRegion


def _landmarks_at(x: float, presence: float = 0.9) -> Landmarks:
    image = np.zeros((33, 3), np.float32)
    image[:, 0] = x + np.linspace(-20, 20, 33)
    image[:, 1] = np.linspace(100, 400, 33)
    image[:, 2] = 0.9
    return Landmarks(image, np.zeros((33, 3), np.float32), presence, BLAZEPOSE33,
                     roi_points=np.array([[x, 250.0], [x, 100.0]], np.float32))


def _detections_at(*xs: float) -> PeopleDetections:
    """The detector's people at these x positions, on the same bodies as _landmarks_at."""
    keypoints = np.stack([_landmarks_at(x).coco17() for x in xs]).reshape(-1, 17, 3)
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
    landmarks.image[25:, 0] += 60  # legs placed off to the side, unsure
    landmarks.image[25:, 2] = 0.1
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



def test_after_a_local_search_only_a_track_the_regions_show_whole_may_restart_as_drifted():
    """A search around a lost person also looks at whoever stands in its region: a track there that no detection's
    pose matches has drifted off its person and restarts from the nearest detection, as after a whole-image run;
    a track the region does not hold whole was not looked at, so a detection beside it is someone else."""
    def tracker_with_one_person() -> PoseTracker:
        tracker = PoseTracker(TrackerSettings(detect_every=1000))
        tracker.update(tracker.propose(_detections_at(100)), [_landmarks_at(100)])
        return tracker

    drifted_from = _detections_at(140)  # too far off track 1's landmarks for its pose to match
    tracker = tracker_with_one_person()
    around = SearchRegion(np.array([0, 0, 1000, 1000], np.float32), 300.0)
    candidates = tracker.propose(drifted_from, local=[around])
    assert [(c.track_id, c.restart) for c in candidates] == [(1, True)]
    tracker = tracker_with_one_person()
    beside = SearchRegion(np.array([tracker.tracks[1].bbox[0] + 1, 0, 1000, 1000], np.float32), 300.0)
    candidates = tracker.propose(drifted_from, local=[beside])
    assert [(c.track_id, c.restart) for c in candidates] == [(1, False), (None, False)]

def test_a_lost_person_is_looked_for_again_soon_and_only_where_they_can_be_found_again():
    """A 4000 x 2000 image, person 2 (about 300 px tall) lost at x = 1500, person 1 followed at x = 100."""
    tracker = PoseTracker(TrackerSettings(detect_every=8, max_missed=60, search_lost_locally=True))
    tracker.update(tracker.propose(_detections_at(100, 1500)), [_landmarks_at(100), _landmarks_at(1500)])
    asked, local, regions = [], [], []
    for _ in range(18):  # person 2 is not seen again; the detector finds person 1 only
        asked.append(tracker.needs_detection())
        found = tracker.search_regions(4000, 2000) if asked[-1] else None
        local.append(found is not None)
        regions.append(found)
        candidates = tracker.propose(_detections_at(100) if asked[-1] else None, local=found)
        tracker.update(candidates, [_landmarks_at(100) if c.track_id == 1 else _landmarks_at(1500, presence=0.0)
                                    for c in candidates])
    # at once after the loss (frame 1), then after two frames without (a quarter period) while lost for at most a
    # period (8 frames): only around the lost person; the whole image on the period, which those runs do not move
    assert [i for i, a in enumerate(asked) if a] == [1, 4, 7, 8, 17]
    assert [i for i, a in enumerate(local) if a] == [1, 4, 7]
    box = regions[1][0].box
    # any detection the re-attach gate accepts lies inside: centre within 0.6 body sizes, box up to twice the body
    lost = tracker.tracks[2]
    assert box[0] <= 1500 - 1.6 * lost.body_size and box[2] >= 1500 + 1.6 * lost.body_size
    assert box[0] > 100 + 25  # not where person 1 is followed


def test_lost_people_are_sought_in_the_whole_image_when_their_regions_would_cover_a_quarter_of_it():
    tracker = PoseTracker(TrackerSettings(detect_every=8, search_lost_locally=True))
    tracker.update(tracker.propose(_detections_at(100, 300)), [_landmarks_at(100), _landmarks_at(300)])
    tracker.update(tracker.propose(None), [_landmarks_at(100), _landmarks_at(300, presence=0.0)])
    assert tracker.needs_detection()
    assert tracker.search_regions(4000, 2000) is not None
    assert tracker.search_regions(1000, 800) is None  # a region 3.2 bodies wide is much of a small image
    tracker.update(tracker.propose(None), [_landmarks_at(100, presence=0.0)])
    assert tracker.search_regions(4000, 2000) is None  # no one followed: anyone may be anywhere


def test_a_persons_box_spans_the_crown_and_the_limbs_outline():
    landmarks = _landmarks_at(100)  # points x 80..120, y 100..400; hip centre (100, 250), crown point (100, 100)
    landmarks.roi_points[1] = [100, 60]  # the crown above the top landmark (the eyes)
    radius = 190.0
    box = body_outline(landmarks.image, landmarks.roi_points)
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


def _returning_person(tracker: PoseTracker) -> list[int]:
    """Person 2 walks behind person 1, unseen for longer than predicted, and comes back 10 px from where they were
    lost: the ids seen then."""
    tracker.update(tracker.propose(_detections_at(100, 300)), [_landmarks_at(100), _landmarks_at(300)])
    for _ in range(tracker.predict_frames + 1):
        tracker.update(tracker.propose(None), [_landmarks_at(100)])
    candidates = tracker.propose(_detections_at(100, 290))
    return [t.id for t in tracker.update(candidates, [_landmarks_at({1: 100}.get(c.track_id, 290))
                                                      for c in candidates])]


def test_the_tracker_weighs_pairs_with_the_cost_functions_it_is_given():
    """As norfair's trackers take a distance function, the tracker takes its rules as functions (by default the
    settings' numbers): a person who comes back near where they were lost is re-attached by the default rule; with
    a stricter distance in the settings, or a re-attach cost that never pairs, they are a newcomer."""
    settings = TrackerSettings(detect_every=1000, max_missed=10)
    assert _returning_person(PoseTracker(settings)) == [1, 2]
    assert _returning_person(PoseTracker(replace(settings, reattach_distance=0.01))) == [1, 3]
    never = replace(TrackerCosts.from_settings(settings), reattach=lambda box, track: NO_MATCH)
    assert _returning_person(PoseTracker(settings, costs=never)) == [1, 3]
