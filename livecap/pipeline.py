"""One frame in, every person's 2D + 3D pose out: detection -> landmarks -> tracking, synchronously.

This is the pure per-frame core; threads, cameras and sinks live around it (livecap.engine, livecap.process).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2

from livecap.camera import CameraIntrinsics
from livecap.catalog import ModelCatalog
from livecap.fitting import FitSettings, SkeletonFitter
from livecap.landmarks import BlazePoseLandmarker
from livecap.people import MoveNetMultiPose
from livecap.presets import Preset
from livecap.results import Frame, FrameResult, PersonPose
from livecap.runtime import OnnxModel, RuntimeOptions
from livecap.tracking import PoseTracker, Track, TrackerSettings


@dataclass
class PipelineModels:
    people: MoveNetMultiPose
    landmarker: BlazePoseLandmarker

    @classmethod
    def load(cls, preset: Preset, catalog: ModelCatalog, options: RuntimeOptions | None = None):
        detector = OnnxModel(catalog.require(preset.detector_model).path, options)
        landmark = OnnxModel(catalog.require(preset.landmark_model).path, options)
        return cls(MoveNetMultiPose(detector, preset.detector_long_side), BlazePoseLandmarker(landmark))

    @property
    def providers(self) -> list[str]:
        return self.landmarker.model.providers


def person_from_track(track: Track) -> PersonPose:
    return PersonPose(id=track.id, score=track.score, bbox=track.bbox.copy(), coco17=track.coco17,
                      landmarks2d=track.landmarks.image33, world33=track.landmarks.world33)


class PosePipeline:
    """Tracks people through a sequence; with stills=True every frame is treated on its own.

    With a camera, every person also gets a fitted skeleton placed in that camera's space."""

    def __init__(self, models: PipelineModels, preset: Preset, stills: bool = False,
                 camera: CameraIntrinsics | None = None, fit: FitSettings | None = None):
        self.models = models
        self.stills = stills
        self.tracker = PoseTracker(TrackerSettings(detect_every=preset.detect_every))
        self.fitter = SkeletonFitter(camera, fit) if camera is not None else None

    def process(self, frame: Frame) -> FrameResult:
        clock = time.perf_counter()
        stage_ms: dict[str, float] = {}

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            stage_ms[name] = (now - clock) * 1000.0
            clock = now

        rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
        lap("convert")
        if self.stills:
            self.tracker.reset()
        detections = self.models.people(rgb) if self.stills or self.tracker.needs_detection() else None
        lap("detect")
        candidates = self.tracker.propose(detections)
        results = self.models.landmarker(rgb, [c.roi for c in candidates])
        lap("landmarks")
        tracks = self.tracker.update(candidates, results)
        people = [person_from_track(t) for t in tracks]
        lap("track")
        if self.fitter is not None:
            self._fit(tracks, people)
            lap("fit")
        return FrameResult(index=frame.index, time=frame.time, captured_at=frame.captured_at, people=people,
                           name=frame.name, stage_ms=stage_ms)

    def _fit(self, tracks: list[Track], people: list[PersonPose]) -> None:
        self.fitter.forget_all_but(self.tracker.tracks)
        for track, person in zip(tracks, people):
            temporal = not self.stills and not track.resumed
            person.skeleton = self.fitter.fit(track.id, person.landmarks2d, person.world33, temporal=temporal)
