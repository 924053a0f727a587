"""How the pipeline runs: the presets and one `PipelineSettings`, built from command-line flags, the configuration
file and the desktop app alike. Each value has one check here, called where the value enters (the flag parser,
the config reader, the app's saved settings), never again: the check raises LivecapError with a one-line message
that the command line, the config reader and the app all show as it is. PipelineSettings holds checked values."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from livecap.camera import read_calibration
from livecap.errors import LivecapError
from livecap.models.catalog import CATALOG_FILE, ModelCatalog
from livecap.models.runtime import GPU_PRECISIONS

DEFAULT_SMOOTHING = 0.5
HEIGHT_RANGE_M = (0.5, 2.6)  # a person's standing height, for every setting that takes one


@dataclass(frozen=True)
class Preset:
    """Speed against accuracy: which models run, at what input sizes, how often the people detector runs."""

    name: str
    landmark_model: str  # catalog name
    detector_model: str
    # MoveNet input sizes (long side in pixels, multiples of 32), taken in turn by successive detector runs and
    # all at once on a still image: people far from one input's native scale are found at another
    detector_long_sides: tuple[int, ...]
    detect_every: int  # frames at 30 fps between detector runs while everyone stays tracked (same time at any rate)
    gpu_landmark_model: str | None = None  # used instead when the models run on a GPU
    # tried on a crop where the landmark model finds no one (presence under the tracker's threshold), its find kept
    # where it is the body the crop was cut for; that person stays with it until the next detector run. BlazePose
    # lite and full miss different people: from the detection crop of each reference person, full finds 0.53 /
    # 0.92 / 0.95 of armwrestling's / basketball's / vtest's, lite 0.67 / 0.88 / 0.94 (`eval_people.py ceiling`);
    # tracked (balanced, mean of 4 start frames) 0.366 -> 0.435, 0.894 -> 0.888, 0.929 -> 0.931. Lite leading on
    # small people's crops instead cost fit agreement (tools/landmarks_by_size.py)
    second_landmark_model: str | None = None
    hand_model: str = "hand_landmark_lite"  # catalog name, when hands are on
    hands: bool = False  # hands and fingers on by default
    face: bool = False  # faces on by default (models: FACE_MODELS)
    # the iris model on every face's eyes (gaze, finer lids): it costs twice the face mesh (livecap.models.face), so
    # faster presets leave it out as MediaPipe Holistic does by default (refine_face_landmarks=False)
    face_iris: bool = False
    # a top-down keypoint model run on each detected person's aligned crop when the detector runs, its points
    # fused with the detector's (confidence-weighted); None: the detector's points alone
    refiner_model: str | None = None
    # a box-only people detector with no limit on the number of people (MoveNet finds six at most), run with
    # MoveNet whenever it returns six people or six are tracked, and on every detector run with crowd_always
    crowd_model: str = "nanodet_g"
    crowd_always: bool = False
    # used instead on the CPU for a take refined after capture (a file: nobody waits for it, livecap.refine)
    refine_landmark_model: str | None = None


# BlazePose heavy costs ~26 ms a crop on a quiet 2-core CPU (full ~5): two people at 15 fps would not fit in a
# CPU's time, so heavy runs live where a GPU carries it (its 3D is MediaPipe's best: mAP 68-74 against full's
# 63-68), and on the CPU for a file refined after capture at `accurate` (keypoint AP +0.014 / +0.023, 3D
# PA-MPJPE 6.3 / 8.2 mm lower than full on untuned stills)
PRESETS = {
    "fast": Preset("fast", "blazepose_landmark_lite", "movenet_multipose_lightning", (256, 384, 512), 12),
    "balanced": Preset("balanced", "blazepose_landmark_full", "movenet_multipose_lightning", (256, 384, 512), 12,
                       gpu_landmark_model="blazepose_landmark_heavy", second_landmark_model="blazepose_landmark_lite"),
    "accurate": Preset("accurate", "blazepose_landmark_full", "movenet_multipose_lightning", (256, 384, 512, 640), 2,
                       gpu_landmark_model="blazepose_landmark_heavy", second_landmark_model="blazepose_landmark_lite",
                       hand_model="hand_landmark_full", hands=True, face=True, face_iris=True,
                       refiner_model="movenet_singlepose_thunder", crowd_always=True,
                       refine_landmark_model="blazepose_landmark_heavy"),
}
LANDMARK_MODELS = ("blazepose_landmark_lite", "blazepose_landmark_full", "blazepose_landmark_heavy")


# catalog names of the face models, the same in every preset: the mesh, its iris refinement, the close-up detector
FACE_MODELS = ("face_landmark", "iris_landmark", "face_detection_short_range")


@dataclass
class TrackerSettings:
    """How people are followed from frame to frame (livecap.pose.tracking): the numbers its default costs
    (livecap.pose.costs) weigh detections and crops by."""

    detect_every: int = 8  # frames at 30 fps between detector runs while nothing changes (`pace`: same time at any rate)
    presence_threshold: float = 0.3  # 0.5 dropped real people in the fast preset (AP 0.339 -> 0.345)
    max_missed: int = 60  # frames a lost track is kept for re-attachment
    # a person lost this long at most is published from their motion (livecap.pose.prediction), and found again in
    # that time carries on as if never lost: a few frames at any rate, long enough for a detector run to find them
    predict_seconds: float = 0.2
    # Two poses at least this similar (COCO OKS) are one body: COCO's own mid threshold, where a keypoint
    # detector's person counts as found; it also decides which of a detection's points join a record.
    same_body_oks: float = 0.5
    # A record's torso points from two models describe one body when they lie within this share of its box height
    # of each other (the record-consistency rule of the people benchmark); a detector's shoulder or hip farther
    # than that from the landmarks' is pulled in to this distance.
    same_point_tolerance: float = 0.15
    reattach_distance: float = 0.6  # a lost track's predicted centre within this many body heights
    # a box-only detection overlapping a track's or a keypoint detection's box this much is already explained
    same_box_iou: float = 0.3
    reattach_size_ratio: float = 2.0  # and a body size within this factor (poses change it: crouching, arms up)
    # after a loss, look only around where the lost person can be found again (PoseTracker.search_regions), not in
    # the whole image. Off: on vtest_300.mp4 it cost 0.025 of recall (balanced, mean of 4 starts; vtest.avi +0.003).
    # Most of that is what a whole-image run at a loss finds besides the lost (from frame 0: no run at a loss -0.034,
    # local searches -0.024): people lost longer than a detector period, drifted tracks and NanoDet's people elsewhere
    search_lost_locally: bool = False


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise LivecapError(f"unknown preset '{name}': choose one of {', '.join(PRESETS)}") from None


def _number(value, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise LivecapError(f"{value!r} is not a number: {what}") from None
    if math.isnan(number):
        raise LivecapError(f"{value!r} is not a number: {what}")
    return number


def check_smoothing(value) -> float:
    fix = "give a value between 0 (off) and 1 (heavy)"
    strength = _number(value, f"smoothing strength: {fix}")
    if not 0.0 <= strength <= 1.0:
        raise LivecapError(f"{value} is not a smoothing strength: {fix}")
    return strength


def check_height(value) -> float:
    low, high = HEIGHT_RANGE_M
    height = _number(value, f"give a person's height in metres ({low} to {high})")
    if not low <= height <= high:
        raise LivecapError(f"{value} is not a person's height in metres ({low} to {high})")
    return height


def check_fov_degrees(value) -> float:
    fov = _number(value, "give the camera's horizontal field of view in degrees")
    if not 1.0 <= fov <= 179.0:
        raise LivecapError(f"field of view {fov} degrees is not a camera's: give --fov between 1 and 179 (webcams "
                           f"are about 60-90)")
    return fov


def check_calibration(value) -> str:
    """A calibration file that exists and reads as one (its size against the source's is known only when the
    source opens)."""
    path = str(Path(str(value)).expanduser())
    read_calibration(path)
    return path


def check_model_dir(value) -> str:
    """A folder that exists, whose catalog.json (when it has one) is valid."""
    path = Path(str(value)).expanduser()
    if not path.is_dir():
        raise LivecapError(f"model folder {path} {'is not a folder' if path.exists() else 'does not exist'}: give "
                           f"the folder that holds your .onnx files (and their {CATALOG_FILE}), or leave it unset")
    ModelCatalog(path)  # reads its catalog.json: a broken one is named with the fix
    return str(path)


def check_landmark_model(value) -> str | None:
    """A landmark model's catalog name; empty -> the preset's choice (None)."""
    if value is None or not str(value).strip():
        return None
    name = str(value).strip()
    short = f"blazepose_landmark_{name}"  # "heavy" for "blazepose_landmark_heavy"
    if name not in LANDMARK_MODELS and short not in LANDMARK_MODELS:
        raise LivecapError(f"unknown landmark model '{name}': choose one of {', '.join(LANDMARK_MODELS)} "
                           f"(or lite, full, heavy)")
    return name if name in LANDMARK_MODELS else short


def check_gpu_precision(value) -> str:
    """'auto' (float16 variants where CUDA runs) or 'float32'; empty -> auto."""
    text = str(value or "auto").strip().lower()
    if text not in GPU_PRECISIONS:
        raise LivecapError(f"unknown GPU precision '{value}': choose {' or '.join(GPU_PRECISIONS)}")
    return text


def check_providers(value) -> tuple[str, ...] | None:
    """'cuda,cpu' or a list -> ('cuda', 'cpu'); empty -> automatic (None)."""
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else list(value)
    providers = tuple(str(p).strip() for p in parts if str(p).strip())
    return providers or None


@dataclass(frozen=True)
class PipelineSettings:
    preset: str = "balanced"
    smoothing: float = DEFAULT_SMOOTHING  # 0 (off) to 1 (heavy)
    fov: float | None = None  # horizontal field of view in degrees; None: the default webcam's
    calibration: str | None = None  # an OpenCV calibration file; overrides fov
    height: float | None = None  # everyone's standing height in metres, when known
    providers: tuple[str, ...] | None = None  # ONNX Runtime execution providers in order; None: automatic
    model_dir: str | None = None  # a user model folder
    hands: bool | None = None  # hands and fingers for every person; None: the preset's default
    face: bool | None = None  # a face for every person (mesh, head rotation, expressions); None: the preset's default
    landmark_model: str | None = None  # a landmark model chosen explicitly (LANDMARK_MODELS); None: the preset's
    refine: bool = False  # a file's take refined after capture (livecap.refine): its own landmark model rule
    gpu_precision: str = "auto"  # auto: float16 variants where CUDA runs (when installed); float32: never
    # the next frame's scheduled detector run on a thread of its own beside this frame's landmarks (the same
    # results); None: where the cores pay for it (livecap.models.runtime.DETECT_AHEAD_CORES)
    detect_ahead: bool | None = None

    @property
    def preset_spec(self) -> Preset:
        return get_preset(self.preset)

    @property
    def hands_on(self) -> bool:
        return self.preset_spec.hands if self.hands is None else bool(self.hands)

    @property
    def face_on(self) -> bool:
        return self.preset_spec.face if self.face is None else bool(self.face)

    def landmark_model_for(self, on_gpu: bool) -> str:
        """The landmark model to run: the one chosen explicitly, else the preset's for a GPU, for a refined take
        on the CPU, or its own."""
        preset = self.preset_spec
        if self.landmark_model:
            return self.landmark_model
        if on_gpu and preset.gpu_landmark_model:
            return preset.gpu_landmark_model
        if self.refine and preset.refine_landmark_model:
            return preset.refine_landmark_model
        return preset.landmark_model

    def record(self, hands: bool, face: bool = False) -> dict:
        """What the results header reports of how the stream was processed; `hands`, `face`: whether the pipeline
        runs those stages ("hands", "face" and "landmark_model" (chosen explicitly) named only then: the results of
        a run without them stay as they were)."""
        return {"smoothing": self.smoothing, "height": self.height, **({"hands": True} if hands else {}),
                **({"face": True} if face else {}),
                **({"landmark_model": self.landmark_model} if self.landmark_model else {}),
                **({"gpu_precision": self.gpu_precision} if self.gpu_precision != "auto" else {})}
