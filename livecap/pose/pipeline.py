"""One frame in, every person's 2D + 3D pose out: detection -> landmarks -> tracking, synchronously.

This is the pure per-frame core; threads, cameras and sinks live around it (livecap.engine, livecap.app.process).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from livecap.camera import CameraIntrinsics
from livecap.pose.filtering import PoseSmoother, SmoothingSettings
from livecap.models.catalog import ModelCatalog
from livecap.pose.fitting import FitSettings, SkeletonFitter
from livecap.models.blazepose import BlazePoseLandmarker
from livecap.models.movenet import MoveNetMultiPose
from livecap.presets import Preset
from livecap.types import Frame, FrameResult, PersonPose, Roi
from livecap.models.runtime import OnnxModel, RuntimeOptions
from livecap.pose.tracking import PoseTracker, Track, TrackerSettings


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

    With a camera, every person also gets a fitted skeleton placed in that camera's space. With smoothing (not
    for stills), the published landmarks and skeletons are filtered over time."""

    def __init__(self, models: PipelineModels, preset: Preset, stills: bool = False,
                 camera: CameraIntrinsics | None = None, fit: FitSettings | None = None,
                 smoothing: SmoothingSettings | None = None):
        self.models = models
        self.stills = stills
        self.tracker = PoseTracker(TrackerSettings(detect_every=preset.detect_every))
        self.fitter = SkeletonFitter(camera, fit) if camera is not None else None
        smooth = smoothing is not None and smoothing.enabled and not stills
        self.smoother = PoseSmoother(smoothing) if smooth else None

    def process(self, frame: Frame) -> FrameResult:
        clock = time.perf_counter()
        stage_ms: dict[str, float] = {}

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            stage_ms[name] = stage_ms.get(name, 0.0) + (now - clock) * 1000.0
            clock = now

        rgb = frame.rgb if frame.rgb is not None else cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
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
        if self.smoother is not None:
            self._smooth_landmarks(frame.time, tracks, people)
            lap("filter")
        if self.fitter is not None:
            self._fit(tracks, people)
            lap("fit")
            if self.smoother is not None:
                self._smooth_roots(frame.time, people)
                lap("filter")
        return FrameResult(index=frame.index, time=frame.time, captured_at=frame.captured_at, people=people,
                           name=frame.name, stage_ms=stage_ms)

    def warm_up(self, width: int, height: int) -> None:
        """Runs every model and the fit once on a blank image, so the first real frames are not late: ONNX
        Runtime plans its memory and numba loads its compiled code on first use."""
        blank = np.zeros((height, width, 3), np.uint8)
        self.models.people(blank)
        side = min(width, height) / 2
        landmarks = self.models.landmarker(blank, [Roi(width / 2, height / 2, side, 0.0)])
        if self.fitter is not None and landmarks:
            image33 = landmarks[0].image33.copy()
            image33[:, 2] = 1.0
            self.fitter.fit(-1, image33, landmarks[0].world33)
            self.fitter.forget(-1)

    def _smooth_landmarks(self, time: float, tracks: list[Track], people: list[PersonPose]) -> None:
        self.smoother.forget_all_but(self.tracker.tracks)
        for track, person in zip(tracks, people):
            body_pixels = float(max(person.bbox[2] - person.bbox[0], person.bbox[3] - person.bbox[1]))
            person.landmarks2d, person.world33 = self.smoother.landmarks(
                track.id, time, person.landmarks2d, person.world33, body_pixels, restart=track.resumed)

    def _smooth_roots(self, time: float, people: list[PersonPose]) -> None:
        for person in people:
            fit = person.skeleton
            shift = (self.smoother.root(person.id, time, fit.root) - fit.root).astype(np.float32)
            fit.root = fit.root + shift
            fit.joints3d = fit.joints3d + shift

    def _fit(self, tracks: list[Track], people: list[PersonPose]) -> None:
        self.fitter.forget_all_but(self.tracker.tracks)
        for track, person in zip(tracks, people):
            temporal = not self.stills and not track.resumed
            person.skeleton = self.fitter.fit(track.id, person.landmarks2d, person.world33, temporal=temporal)
