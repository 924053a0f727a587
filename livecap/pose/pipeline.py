"""One frame in, every person's 2D + 3D pose out: detection -> landmarks -> tracking -> per person smoothing, fit
and world pose, synchronously. `build_pipeline(settings, ...)` is the one place a pipeline is assembled (the
engine, `livecap process`, the benchmarks and the desktop app all call it).

This is the pure per-frame core; threads, cameras and sinks live around it (livecap.engine).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from livecap import skeleton
from livecap.camera import CameraIntrinsics, camera_for
from livecap.errors import ModelError
from livecap.facemesh import FACE478
from livecap.models.catalog import ModelCatalog
from livecap.models.crop import roi_from_alignment_points
from livecap.models.landmarker import Landmarker, load_landmarker
from livecap.models.face import BlazeFaceDetector
from livecap.models.movenet import MoveNetMultiPose, MoveNetSinglePose
from livecap.models.nanodet import NanoDetPersonDetector
from livecap.models.runtime import RuntimeOptions, ahead_threads, detect_ahead_on, load_model, usable_cores
from livecap.pose.contact import FootContacts, joints_in_contact
from livecap.pose.detection import DetectedAhead, DetectionPlan, DetectionStage, frame_rgb
from livecap.pose.face import CloseUps, FaceStage, PersonFace
from livecap.pose.filtering import PersonSmoother, SmoothingSettings
from livecap.pose.fitting import FitSettings, FitState, SkeletonFitter, plant
from livecap.pose.hands import HandStage, PersonHands
from livecap.pose.prediction import predicted_person
from livecap.pose.tracking import PoseTracker, Track
from livecap.settings import FACE_MODELS, PipelineSettings, TrackerSettings
from livecap.types import Candidate, Frame, FrameResult, Landmarks, PersonPose, Roi, StreamInfo


@dataclass
class PipelineModels:
    """The models a pipeline runs; the landmark models are any the catalog names (livecap.models.landmarker)."""

    people: MoveNetMultiPose
    landmarker: Landmarker  # each person's body: its scheme must have the COCO-17 points the tracker compares
    hands: Landmarker | None = None  # when hands are on: the hands stage runs exactly when this model is here
    refiner: MoveNetSinglePose | None = None  # top-down keypoints of each detected person (accurate)
    crowd: NanoDetPersonDetector | None = None  # boxes of any number of people, where MoveNet's six may not do
    second_landmarker: Landmarker | None = None  # where the first finds no one (Preset.second_landmark_model)
    face: Landmarker | None = None  # when faces are on: its scheme is the face mesh's (livecap.facemesh.FACE478)
    face_detector: BlazeFaceDetector | None = None  # close-up faces with no body, when faces are on
    landmark_model: str = ""  # the body landmark model's catalog name
    # the detectors again, run ahead beside the landmarks on threads of their own (livecap.pose.detection)
    ahead: tuple[MoveNetMultiPose, NanoDetPersonDetector] | None = None

    @classmethod
    def load(cls, settings: PipelineSettings, intra_op_threads: int = 0) -> "PipelineModels":
        """The preset's models, from the user's model folder or the shipped ones; ONNX Runtime's threads per
        model (0: its default, one per core), fewer where several pipelines share the cores (`livecap batch`)."""
        preset, catalog = settings.preset_spec, ModelCatalog(settings.model_dir)
        threads = intra_op_threads or usable_cores()
        ahead = detect_ahead_on(settings.detect_ahead, threads)
        options = RuntimeOptions(list(settings.providers) if settings.providers else None, threads,
                                 gpu_precision=settings.gpu_precision)
        model = lambda name, cores=threads: load_model(  # noqa: E731
            catalog, catalog.require(name), replace(options, intra_op_threads=cores))
        detector = model(preset.detector_model)
        body = settings.landmark_model_for(detector.on_gpu)
        landmarker = load_landmarker(catalog, body, "landmarks", options)
        if landmarker.scheme.coco17 is None:
            raise ModelError(f"landmark model '{body}' gives no COCO-17 points ({landmarker.scheme.name}), which "
                             f"tracking needs: choose a body landmark model")
        hands = load_landmarker(catalog, preset.hand_model, "hands", options) if settings.hands_on else None
        refiner = MoveNetSinglePose(model(preset.refiner_model)) if preset.refiner_model else None
        crowd = NanoDetPersonDetector(model(preset.crowd_model))
        second = (load_landmarker(catalog, preset.second_landmark_model, "landmarks", options)
                  if preset.second_landmark_model else None)
        if second is not None and second.scheme is not landmarker.scheme:
            raise ModelError(f"landmark models '{body}' and '{preset.second_landmark_model}' give different points "
                             f"({landmarker.scheme.name}, {second.scheme.name}): the second must speak the first's")
        face = face_detector = None
        if settings.face_on:
            mesh_model, iris_model, detector_model = FACE_MODELS
            face = load_landmarker(catalog, mesh_model, "face", options, iris=iris_model if preset.face_iris else None)
            if face.scheme is not FACE478:
                raise ModelError(f"face model '{mesh_model}' gives {face.scheme.name} points, not the face mesh's "
                                 f"{FACE478.name} the face stage reads: choose a face mesh model")
            face_detector = BlazeFaceDetector(model(detector_model))
        ahead_detectors = (MoveNetMultiPose(model(preset.detector_model, ahead_threads(threads)),
                                            preset.detector_long_sides),
                           NanoDetPersonDetector(model(preset.crowd_model, ahead_threads(threads)))) if ahead else None
        return cls(MoveNetMultiPose(detector, preset.detector_long_sides), landmarker, hands, refiner, crowd, second,
                   face, face_detector, body, ahead_detectors)

    @property
    def providers(self) -> list[str]:
        return self.landmarker.model.providers

    @property
    def precision(self) -> dict[str, str]:
        """Each running model's weights' precision (float16: a GPU variant), by what it does."""
        parts = {"people": self.people, "landmarks": self.landmarker, "hands": self.hands, "refiner": self.refiner,
                 "crowd": self.crowd, "second_landmarks": self.second_landmarker, "face": self.face,
                 "face_detector": self.face_detector}
        return {role: part.model.precision for role, part in parts.items() if part is not None}


@dataclass
class PersonState:
    """What the pipeline keeps about one tracked person between frames. Each track carries one, made when the
    person is first seen and gone with the track."""

    fit: FitState
    smoother: PersonSmoother | None
    contacts: FootContacts | None = None  # not for stills: contact needs motion
    hands: PersonHands | None = None  # when hands are on (livecap.pose.hands)
    face: PersonFace | None = None  # when faces are on (livecap.pose.face)
    last: PersonPose | None = None  # as last published: where a prediction starts from
    root_step: np.ndarray | None = None  # the root's motion (metres) between the last two frames


class PosePipeline:
    """Tracks people through a sequence; with stills=True every frame is treated on its own.

    With a camera, every person also gets a fitted skeleton placed in that camera's space, and its world pose.
    With smoothing (not for stills), the published landmarks and skeletons are filtered over time.
    With fit=False, perception only: people as the models and the tracker see them, neither smoothed nor fitted
    (the first pass of a take refined after capture, livecap.refine)."""

    def __init__(self, models: PipelineModels, settings: PipelineSettings, camera: CameraIntrinsics | None = None,
                 stills: bool = False, size: tuple[int, int] | None = None, fit: bool = True):
        """`size`: the stream's width and height, which `camera` is for."""
        self.models, self.settings, self.camera, self.stills = models, settings, camera, stills
        self._stream_size = self._still_size = size
        smoothing = SmoothingSettings.from_strength(settings.smoothing)
        self.smoothing = smoothing if smoothing.enabled and not stills and fit else None
        self.fitter = self._fitter(camera) if camera is not None and fit else None
        self.hands = (HandStage(models.hands, models.landmarker.scheme, self.smoothing) if models.hands is not None
                      else None)
        self.faces = (FaceStage(models.face, models.face_detector, self.smoothing, stills=stills)
                      if models.face is not None else None)
        self.tracker = PoseTracker(TrackerSettings(detect_every=settings.preset_spec.detect_every),
                                   new_state=self._new_person)
        self.detection = DetectionStage(models, settings.preset_spec.crowd_always)
        self.close_ups = CloseUps(self.faces, self.tracker.new_id) if self.faces is not None else None

    def _fitter(self, camera: CameraIntrinsics) -> SkeletonFitter:
        return SkeletonFitter(camera, FitSettings(height=self.settings.height), self.models.landmarker.scheme)

    def _new_person(self) -> PersonState:
        return PersonState(FitState(), PersonSmoother(self.smoothing) if self.smoothing is not None else None,
                           None if self.stills else FootContacts(),
                           self.hands.new_person() if self.hands is not None else None,
                           self.faces.new_person() if self.faces is not None else None)

    def reset_neutral_faces(self) -> None:
        """Every person's neutral face is learned again from now on (a "neutral face" button)."""
        if self.faces is None:
            return
        for track in self.tracker.tracks.values():
            track.state.face.reset_neutral()
        self.close_ups.reset_neutral()

    def stream_info(self, source: str, width: int, height: int, fps: float) -> StreamInfo:
        """What every sink is told before the first frame."""
        return StreamInfo(source, width, height, fps, self.camera, self.settings.preset, self.models.providers,
                          self.settings.record(hands=self.hands is not None, face=self.faces is not None),
                          self.models.landmarker.scheme.name, precision=self.models.precision,
                          landmark_model=self.models.landmark_model)

    def process(self, frame: Frame) -> FrameResult:
        return self.finish(self.begin(frame))

    def begin(self, frame: Frame, ahead: DetectedAhead | None = None) -> BegunFrame:
        """A frame's detection (`ahead`: its planned run, made already: see plan_next) and the crops its landmarks
        run on; `finish` does the rest. Between the two, the next frame's detector run may be planned."""
        clock = StageClock()
        rgb = frame_rgb(frame)
        clock.lap("convert")
        own_camera = None
        if self.stills:
            self.tracker.reset()
            own_camera = self._camera_for_still(rgb.shape[1], rgb.shape[0])
        else:
            self.detection.follow(self.tracker, frame.time)
        detections, crowd, local = self.detection.find(self.tracker, rgb, self.stills, ahead)
        clock.lap("detect")
        if ahead is not None and ahead.used_for(detections, crowd):  # its own runs, made beside the last frame
            clock.stage_ms["detect_ahead"] = ahead.ms
        return BegunFrame(frame, rgb, self.tracker.propose(detections, crowd, local), clock, own_camera)

    def plan_next(self, begun: BegunFrame) -> Callable[[Frame], DetectionPlan | None]:
        """Between `begin` and `finish`: the next frame's planned detector run, given that frame (never for stills).
        It and DetectionStage.run_planned need only models: another thread may do both while this frame finishes."""
        if self.stills:
            return lambda frame: None
        return self.detection.plan_next(self.tracker, begun.rgb)

    def finish(self, begun: BegunFrame) -> FrameResult:
        """A begun frame's landmarks, tracks and people."""
        frame, rgb, candidates, lap = begun.frame, begun.rgb, begun.candidates, begun.clock.lap
        results, second = self._landmarks(rgb, candidates, [c.second_model for c in candidates])
        retries = self.tracker.retries(candidates, results)
        if retries:  # crops that found another person's body: again, with that body masked out
            again, again_second = self._landmarks(rgb, [candidates[i] for i in retries], [second[i] for i in retries])
            for i, landmarks, by_second in zip(retries, again, again_second):
                results[i], second[i] = landmarks, by_second
        lap("landmarks")
        refined = None
        if self.models.refiner is not None:
            refined = self._refine(rgb, candidates, results)
            lap("refine")
        tracks = self.tracker.update(candidates, results, second, refined)
        lap("track")
        if self.hands is not None:
            hands = self.hands.find_all(rgb, [(t.landmarks.image, t.state.hands, t.resumed or t.restarted)
                                              for t in tracks])
            lap("hands")
        if self.faces is not None:
            faces = self.faces.find_all(rgb, [(t.landmarks, t.state.face, t.resumed or t.restarted) for t in tracks])
            lap("face")
        people = [self._person(track, frame.time, lap) for track in tracks]
        if self.hands is not None:
            for person, track, found in zip(people, tracks, hands):
                self.hands.attach(person, track.state.hands, found, frame.time)
            lap("hands")
        if self.faces is not None:
            for person, track, found in zip(people, tracks, faces):
                self.faces.attach(person, track.state.face, found, frame.time)
            people += self.close_ups.update(rgb, frame.time, people, bool(tracks or self.tracker.predicted()))
            lap("face")
        if not self.stills:
            self._remember(people, tracks)
            people = sorted(people + self._predicted(), key=lambda p: p.id)
        return FrameResult(index=frame.index, time=frame.time, captured_at=frame.captured_at, people=people,
                           name=frame.name, stage_ms=begun.clock.stage_ms, camera=begun.camera)

    @staticmethod
    def _remember(people: list[PersonPose], tracks: list[Track]) -> None:
        """Each seen person's pose and root motion, kept for a prediction should they be lost."""
        for person, track in zip(people, tracks):
            state: PersonState = track.state
            if state.last is not None and state.last.skeleton is not None and person.skeleton is not None:
                step = person.skeleton.root - state.last.skeleton.root
                state.root_step = step if state.root_step is None else 0.5 * state.root_step + 0.5 * step
            state.last = person

    def _predicted(self) -> list[PersonPose]:
        """The people lost for a moment, where their motion takes them (livecap.pose.prediction); every one was
        seen, so remembered, before."""
        return [predicted_person(t.state.last, t.velocity * t.missed,
                                 None if t.state.root_step is None else t.state.root_step * t.missed)
                for t in self.tracker.predicted()]

    def _camera_for_still(self, width: int, height: int) -> CameraIntrinsics | None:
        """Unrelated stills come in any size: each is seen through the camera of its own size (a folder's first
        image sets the stream's); returns that camera where it is not the stream's."""
        if self.camera is None:
            return None
        if self._stream_size is None:
            self._stream_size = self._still_size = (width, height)
        if (width, height) != self._still_size:
            self._still_size = (width, height)
            self.fitter = self._fitter(camera_for(width, height, self.settings.fov, self.settings.calibration))
        return None if (width, height) == self._stream_size else self.fitter.camera

    def _landmarks(self, rgb: np.ndarray, candidates: list[Candidate], second: list[bool]
                   ) -> tuple[list[Landmarks], list[bool]]:
        """Each crop through its landmark model (second[i]: the second), one batched call per model. Where the
        first model finds no one, the preset's second model looks (BlazePose lite and full miss different people);
        what it finds counts when it is the body the crop was cut for, and that track stays with the second model
        until the next detector run. Returns the landmarks and which model found each."""
        second, other = list(second), self.models.second_landmarker
        results: list[Landmarks] = [None] * len(candidates)  # type: ignore[list-item]
        for model, use_second in ((self.models.landmarker, False), (other, True)):
            chosen = [i for i in range(len(candidates)) if second[i] == use_second]
            for i, landmarks in zip(chosen, self._run(model, rgb, [candidates[i] for i in chosen])):
                results[i] = landmarks
        if other is None:
            return results, second
        failed = [i for i in range(len(candidates)) if not second[i] and not self.tracker.sees(results[i])]
        for i, landmarks in zip(failed, self._run(other, rgb, [candidates[i] for i in failed])):
            if self.tracker.sees(landmarks) and self.tracker.confirms(candidates[i], landmarks):
                results[i], second[i] = landmarks, True
        return results, second

    @staticmethod
    def _run(model: Landmarker | None, rgb: np.ndarray, candidates: list[Candidate]) -> list[Landmarks]:
        if not candidates or model is None:
            return []
        return model(rgb, [c.roi for c in candidates], [c.mask for c in candidates])

    def _refine(self, rgb: np.ndarray, candidates: list[Candidate], results: list[Landmarks]
                ) -> list[np.ndarray | None]:
        """Top-down keypoints for each person the detector saw this frame, on the crop their landmarks align."""
        chosen = [i for i, c in enumerate(candidates) if c.detection_keypoints is not None
                  and self.tracker.sees(results[i])]
        rois = [roi_from_alignment_points(*results[i].roi_points) for i in chosen]
        refined: list[np.ndarray | None] = [None] * len(candidates)
        for i, keypoints in zip(chosen, self.models.refiner(rgb, rois)):
            refined[i] = keypoints
        return refined

    def _person(self, track: Track, time_s: float, lap) -> PersonPose:
        """One tracked person's published pose: landmarks smoothed, skeleton fitted, its root smoothed."""
        person = PersonPose(id=track.id, score=track.score, bbox=track.bbox.copy(), coco17=track.coco17,
                            landmarks2d=track.landmarks.image, world33=track.landmarks.world,
                            observed=track.landmarks)
        state: PersonState = track.state
        if state.smoother is not None:
            if track.resumed:
                state.smoother.reset()
            body_pixels = float(max(person.bbox[2] - person.bbox[0], person.bbox[3] - person.bbox[1]))
            raw = person.landmarks2d
            person.landmarks2d, person.world33 = state.smoother.landmarks(time_s, person.landmarks2d,
                                                                          person.world33, body_pixels)
            # COCO-17 rides on the landmarks: it follows the published (filtered) ones, so the two stay one body
            person.coco17 = track.coco17.copy()
            person.coco17[:, :2] += track.landmarks.scheme.coco17_of(person.landmarks2d - raw)[:, :2]
            lap("filter")
        if self.fitter is None:
            return person
        temporal = not self.stills and not track.resumed  # a restarted track's fit still tries its last pose too
        fit = self.fitter.fit(state.fit, person.landmarks2d, person.world33, temporal=temporal)
        lap("fit")
        world = skeleton.world_pose(fit)
        if state.contacts is not None:
            if track.resumed:
                state.contacts.reset()
            # contact is judged on the fit itself (before the root filter) and planted in the fit's own space
            person.contacts = state.contacts.update(time_s, world.positions)
            plant(state.fit, fit, joints_in_contact(person.contacts))
        if state.smoother is not None:
            planted = bool(person.contacts and any(person.contacts.values()))
            shift = (state.smoother.root(time_s, fit.root, planted) - fit.root).astype(np.float32)
            fit.root = fit.root + shift
            fit.joints3d = fit.joints3d + shift
            world = replace(world, positions=skeleton.world_positions(fit.joints3d))  # moved whole: turns kept
            lap("filter")
        person.skeleton, person.world = fit, world
        return person

    def warm_up(self, width: int, height: int) -> None:
        """Runs every model and the fit once on a blank image, so the first real frames are not late: ONNX
        Runtime plans its memory and numba loads its compiled code on first use."""
        blank = np.zeros((height, width, 3), np.uint8)
        self.detection.warm_up(blank)
        side = min(width, height) / 2
        centre = [Roi(width / 2, height / 2, side, 0.0)]
        landmarks = self.models.landmarker(blank, centre)
        for model in (self.models.second_landmarker, self.models.refiner):
            if model is not None:
                model(blank, centre)
        if self.models.hands is not None:
            self.models.hands(blank, [Roi(width / 2, height / 2, side / 4, 0.0)])
            HandStage.warm_up()
        if self.models.face is not None:
            self.models.face(blank, centre)
            self.models.face_detector(blank)
        if self.fitter is not None and landmarks:
            image = landmarks[0].image.copy()
            image[:, 2] = 1.0
            skeleton.world_pose(self.fitter.fit(FitState(), image, landmarks[0].world))


class StageClock:
    """Milliseconds per stage of one frame, each lap added to its stage's."""

    def __init__(self):
        self.stage_ms: dict[str, float] = {}
        self._clock = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.stage_ms[name] = self.stage_ms.get(name, 0.0) + (now - self._clock) * 1000.0
        self._clock = now


@dataclass
class BegunFrame:
    """A frame as PosePipeline.begin leaves it for `finish`: detected, its crops proposed."""

    frame: Frame
    rgb: np.ndarray
    candidates: list[Candidate]
    clock: StageClock
    camera: CameraIntrinsics | None  # a still's own camera, where not the stream's


def build_pipeline(settings: PipelineSettings, width: int, height: int, stills: bool = False,
                   models: PipelineModels | None = None, fit: bool = True) -> PosePipeline:
    """The pipeline for a source of this size: its models (loaded unless given), its camera, its fit and
    filters, all from one settings object (fit=False: perception only, see PosePipeline)."""
    camera = camera_for(width, height, settings.fov, settings.calibration)
    return PosePipeline(models or PipelineModels.load(settings), settings, camera, stills, (width, height), fit)
