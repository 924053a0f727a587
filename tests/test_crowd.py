"""More than six people: MoveNet MultiPose returns six at most, so the accurate preset (and any preset once six
people are seen) also runs the box detector NanoDet, and the boxes no one explains become people of their own."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from conftest import VTEST
from livecap.models.movenet import MAX_PEOPLE
from livecap.pose.pipeline import PipelineModels, PosePipeline
from livecap.settings import PipelineSettings
from livecap.sinks.jsonl import frame_record
from livecap.types import Frame

# vtest.avi (a street, 768 x 576): frame 200 holds seven pedestrians; MoveNet finds six at most
CROWD_FRAME = 200
SETTLE_FRAMES = 10  # tracked from this many frames before it


def _vtest_frame(index: int) -> Frame:
    capture = cv2.VideoCapture(str(VTEST))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, bgr = capture.read()
    capture.release()
    assert ok, f"vtest.avi has no frame {index}"
    return Frame(index=index, time=index / 10, captured_at=0.0, image=bgr, rgb=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


class CountingDetector:
    """The real box detector, counting its runs."""

    def __init__(self, detector):
        self.detector, self.runs = detector, 0

    def __call__(self, image_rgb: np.ndarray):
        self.runs += 1
        return self.detector(image_rgb)


class CountingPeople:
    """The real MoveNet, counting its whole-image runs."""

    def __init__(self, people):
        self.people, self.runs = people, 0

    def __getattr__(self, name):
        return getattr(self.people, name)

    def run(self, image_rgb: np.ndarray, side: int):
        self.runs += 1
        return self.people.run(image_rgb, side)


@pytest.fixture(scope="module")
def accurate_models() -> PipelineModels:
    return PipelineModels.load(PipelineSettings(preset="accurate", hands=False))


def _last_people(pipeline: PosePipeline, first: int, last: int):
    for index in range(first, last + 1):
        people = pipeline.process(_vtest_frame(index)).people
    return people


def test_accurate_tracks_people_beyond_what_movenet_alone_finds(accurate_models):
    settings = PipelineSettings(preset="accurate", hands=False)
    crowd = CountingDetector(accurate_models.crowd)
    with_boxes = PosePipeline(dataclasses.replace(accurate_models, crowd=crowd), settings)
    movenet_alone = PosePipeline(dataclasses.replace(accurate_models, crowd=None), settings)
    found = _last_people(with_boxes, CROWD_FRAME - SETTLE_FRAMES, CROWD_FRAME)
    assert crowd.runs > 0
    assert len(found) > len(_last_people(movenet_alone, CROWD_FRAME - SETTLE_FRAMES, CROWD_FRAME))
    boxes = np.array([p.bbox for p in found])
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    # each person is a different body: no two records centred within a body width of each other
    apart = np.linalg.norm(centres[:, None] - centres[None], axis=2) + np.eye(len(found)) * 1e9
    assert apart.min() > 15


def test_balanced_does_not_run_the_box_detector_while_fewer_than_six_people_are_seen(accurate_models):
    settings = PipelineSettings(preset="balanced", hands=False)
    crowd = CountingDetector(accurate_models.crowd)
    pipeline = PosePipeline(dataclasses.replace(accurate_models, crowd=crowd), settings)
    for index in range(3):  # the clip's first frames: fewer than six people
        assert len(pipeline.process(_vtest_frame(index)).people) < MAX_PEOPLE
    assert crowd.runs == 0


def test_the_box_detector_answers_a_whole_image_run_on_the_next_frame_not_with_it(accurate_models):
    """The two detectors on one frame made the costliest frames (the latency a live user sees): the box detector
    a MoveNet run calls for runs on the frame after it, where the tracks that run set right meet its boxes."""
    settings = PipelineSettings(preset="balanced", hands=False)
    crowd, people = CountingDetector(accurate_models.crowd), CountingPeople(accurate_models.people)
    pipeline = PosePipeline(dataclasses.replace(accurate_models, crowd=crowd, people=people), settings)
    ran = []  # per frame: (MoveNet ran, the box detector ran)
    for index in range(CROWD_FRAME - SETTLE_FRAMES, CROWD_FRAME + 1):
        before = people.runs, crowd.runs
        pipeline.process(_vtest_frame(index))
        ran.append((people.runs > before[0], crowd.runs > before[1]))
    box_frames = [i for i, (_, boxes) in enumerate(ran) if boxes]
    assert box_frames, "six people are seen here: the box detector must have run"
    assert all(i > 0 and ran[i - 1][0] for i in box_frames), ran
    assert sum(movenet and boxes for movenet, boxes in ran) < len(box_frames), ran


def test_a_box_detector_run_made_ahead_gives_the_same_people_as_made_in_turn(accurate_models):
    settings = PipelineSettings(preset="balanced", hands=False)
    in_turn, ahead = (PosePipeline(accurate_models, settings) for _ in range(2))
    frames = [_vtest_frame(index) for index in range(CROWD_FRAME - SETTLE_FRAMES, CROWD_FRAME + 1)]
    expected = [frame_record(in_turn.process(frame)) for frame in frames]
    records, made, planned = [], [], None
    for frame in frames:
        plan = planned(frame) if planned is not None else None
        made_ahead = ahead.detection.run_planned(frame, plan) if plan is not None else None
        begun = ahead.begin(frame, made_ahead)
        planned = ahead.plan_next(begun)
        records.append(frame_record(ahead.finish(begun)))
        made.append(plan)
    assert records == expected
    assert any(plan is not None and plan.side is None and plan.crowd for plan in made), made  # boxes alone
