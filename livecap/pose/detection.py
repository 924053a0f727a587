"""Who is in a frame: MoveNet's people on the tracker's schedule (livecap.pose.tracking), the box detector's where a
crowd may hide more than MoveNet's six, and only the regions around lost people when only they are sought.

The box detector's run that a whole-image run calls for is made on the next frame, not with it: the two together
were the costliest frames by far (vtest balanced: 132 ms against 41 without a detector), and a frame's latency is
what a live user sees. Its boxes then meet tracks that the whole-image run has just set right.

A whole-image run on schedule is known before its frame is processed: the next frame's run is due whatever this
frame's landmarks find. `plan_next` says which run that will be, `run_planned` makes it (models only: the engine
runs it on another thread while this frame's landmarks run, livecap.workers.NextFrameWork), and `find` takes it for
that frame where it is the very run `find` would make, so the results are the same as without it. Runs not
planned (after a loss, for a body no track explained) are made in turn, as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from livecap.models.movenet import MAX_PEOPLE, MoveNetMultiPose
from livecap.models.nanodet import NanoDetPersonDetector
from livecap.pose.similarity import merge_people
from livecap.pose.tracking import REFERENCE_FPS, PoseTracker
from livecap.types import Frame, PeopleDetections, SearchRegion

if TYPE_CHECKING:  # the pipeline holds this stage
    from livecap.pose.pipeline import PipelineModels


@dataclass(frozen=True)
class DetectionPlan:
    """The runs decided before their frame: MoveNet's whole-image run at this input size (None: none), and the box
    detector's run that the last frame's whole-image run called for."""

    side: int | None
    crowd: bool


@dataclass(frozen=True)
class DetectedAhead:
    """A planned run's result, made before its frame was processed."""

    plan: DetectionPlan
    people: PeopleDetections | None  # None: MoveNet did not run
    crowd: PeopleDetections | None  # None: the box detector did not run
    ms: float  # how long it took

    def used_for(self, people: PeopleDetections | None, crowd: PeopleDetections | None) -> bool:
        """Whether a frame's detections are (any of) these."""
        return any(made is not None and made is used for made, used in ((self.people, people), (self.crowd, crowd)))


Found = tuple[PeopleDetections | None, PeopleDetections | None, list[SearchRegion] | None]


class DetectionStage:
    """Runs the pipeline's detectors (`models`: its PipelineModels, read at each run) when its tracker asks; counts
    the whole-image runs (they take MoveNet's input sizes in turn). The planned runs use `models.ahead` where there
    are such sessions (their threads: livecap.models.runtime.ahead_threads), else the same ones."""

    def __init__(self, models: PipelineModels, crowd_always: bool):
        self.models, self.crowd_always = models, crowd_always
        self.runs = 0
        self._boxes_due = False  # the last frame's whole-image run called for the box detector
        self._last_time: float | None = None
        self._frame_interval: float | None = None  # seconds between frames, averaged

    def follow(self, tracker: PoseTracker, time_s: float) -> None:
        """The tracker's periods are times (PoseTracker.pace): it is told the frame rate, averaged."""
        interval = followed_interval(self._last_time, self._frame_interval, time_s)
        if interval is not None:
            self._frame_interval = interval
            tracker.pace(interval)
        self._last_time = time_s

    def find(self, tracker: PoseTracker, rgb: np.ndarray, stills: bool, ahead: DetectedAhead | None = None) -> Found:
        """MoveNet's people and, where a crowd may hide more than its six, the box detector's; and the regions
        around lost people when only they were searched. A still image gets every MoveNet input size at once; a
        sequence takes them in turn, one per whole-image run. `ahead`: this frame's planned run, made already."""
        people = self.models.people
        if stills:
            sides = people.sides_for(rgb.shape[1], rgb.shape[0])
            runs = [people.run(rgb, side) for side in sides]
            # no boxes: MoveNet's input sizes merged already pass six people, and on the dev stills the boxes' extra
            # people were unannotated ones (accurate AP 0.507 -> 0.467; 0.489 when only six-person images got them)
            return merge_people(runs), None, None
        if not tracker.needs_detection():
            return None, self._boxes(rgb, ahead, called_for=False), None
        regions = tracker.search_regions(rgb.shape[1], rgb.shape[0])
        if regions is not None:
            # a few people lost lately, each sought in a small region: MoveNet's six and the crowd's boxes do there
            found = [people.search(rgb, region) for region in regions]
            boxes = self._boxes(rgb, ahead, called_for=False)
            return (merge_people(found), boxes, regions) if found else (None, boxes, None)
        side = self._side(tracker, rgb)
        self.runs += 1
        made = ahead if ahead is not None and ahead.plan.side == side else None
        detections = made.people if made is not None else people.run(rgb, side)
        called_for = self._crowd_needed(len(detections), len(tracker.active()))
        return detections, self._boxes(rgb, ahead, called_for), None

    def _boxes(self, rgb: np.ndarray, ahead: DetectedAhead | None, called_for: bool) -> PeopleDetections | None:
        """The box detector's people where the last frame's whole-image run called for them (made ahead where they
        were); else None, and this frame's call (`called_for`) is answered on the next frame. A call made while
        one is due is answered by that run."""
        due, self._boxes_due = self._boxes_due, called_for and not self._boxes_due
        if not due:
            return None
        return ahead.crowd if ahead is not None and ahead.crowd is not None else self.models.crowd(rgb)

    def warm_up(self, blank: np.ndarray) -> None:
        """Every detector session once, at every MoveNet input size (a video may use any of them)."""
        for people, crowd in {(self.models.people, self.models.crowd), self._ahead}:
            for side in people.long_sides:
                people.run(blank, side)
            if crowd is not None:
                crowd(blank)

    @property
    def _ahead(self) -> tuple[MoveNetMultiPose, NanoDetPersonDetector | None]:
        return self.models.ahead or (self.models.people, self.models.crowd)

    def _side(self, tracker: PoseTracker, rgb: np.ndarray) -> int:
        return self.models.people.side_for_run(rgb.shape[1], rgb.shape[0], self.runs, tracker.smallest_body())

    def _crowd_needed(self, *people: int) -> bool:
        """The box detector runs when asked always or when six people (MoveNet's most) are seen: with fewer,
        MoveNet saw everyone it could and the box detector would cost ~45 ms for nothing."""
        return self.models.crowd is not None and (self.crowd_always or max(people) >= MAX_PEOPLE)

    def plan_next(self, tracker: PoseTracker, rgb: np.ndarray) -> Callable[[Frame], DetectionPlan | None]:
        """The planned run of the frame after this one (`rgb`), where a whole-image run is due on schedule then,
        whatever this frame's landmarks find; else None. Decided from the tracker as it is now, so it may be asked
        on another thread, once that frame is there (its time paces the tracker, as `follow` will)."""
        last, average = self._last_time, self._frame_interval
        since, every, period = tracker.frames_since_detection, tracker.detect_every, tracker.settings.detect_every
        side, boxes_due = self._side(tracker, rgb), self._boxes_due and self.models.crowd is not None

        def planned(frame: Frame) -> DetectionPlan | None:
            interval = followed_interval(last, average, frame.time)
            due = every if interval is None else tracker.frames_in(period / REFERENCE_FPS, interval)
            whole = since >= due  # the schedule of PoseTracker._whole_image_due
            return DetectionPlan(side if whole else None, boxes_due) if whole or boxes_due else None
        return planned

    def run_planned(self, frame: Frame, plan: DetectionPlan) -> DetectedAhead:
        """The planned runs on this frame."""
        started = time.perf_counter()
        people_model, crowd_model = self._ahead
        rgb = frame_rgb(frame)
        people = people_model.run(rgb, plan.side) if plan.side is not None else None
        crowd = crowd_model(rgb) if plan.crowd else None
        return DetectedAhead(plan, people, crowd, (time.perf_counter() - started) * 1000.0)


def followed_interval(last: float | None, interval: float | None, time_s: float) -> float | None:
    """The seconds between frames, averaged, once a frame of this time follows the last (`last`) at the average so
    far (`interval`); None where it does not come later (the average stays)."""
    if last is None or time_s <= last:
        return None
    step = time_s - last
    return step if interval is None else 0.9 * interval + 0.1 * step


def frame_rgb(frame: Frame) -> np.ndarray:
    """A frame's image as RGB, as the models take it: the capture thread's conversion where it made one."""
    return frame.rgb if frame.rgb is not None else cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
