"""The typed objects passed between pipeline stages and to every sink. Defined here once.

Coordinates: image pixels (x right, y down) for 2D; metres for 3D. Arrays are float32 numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from livecap.camera import CameraIntrinsics
from livecap.fingers import FingerPose
from livecap.skeleton import WorldPose, world_pose


@dataclass
class Frame:
    """One image from a source."""

    index: int
    time: float  # seconds since the start of the source (media time)
    image: np.ndarray  # H x W x 3 uint8, BGR as OpenCV decodes it
    captured_at: float  # time.monotonic() when the frame was read, for latency
    name: str | None = None  # file name, for image-folder input
    rgb: np.ndarray | None = None  # the image as RGB, when the capture thread already converted it

    @property
    def size(self) -> tuple[int, int]:
        return self.image.shape[1], self.image.shape[0]


@dataclass
class PeopleDetections:
    """Output of a people detector: N candidate people in image pixels."""

    boxes: np.ndarray  # N x 4: x1, y1, x2, y2
    scores: np.ndarray  # N
    keypoints: np.ndarray | None = None  # N x 17 x 3: COCO-17 x, y, score (None for box-only detectors)

    def __len__(self) -> int:
        return len(self.scores)


@dataclass(frozen=True)
class Roi:
    """A square, rotated region of the image that a landmark crop is taken from."""

    cx: float
    cy: float
    size: float  # side length in pixels
    rotation: float  # radians, clockwise in the image (y down); 0 = upright person


@dataclass
class Landmarks:
    """BlazePose output for one crop, mapped back to the image."""

    image33: np.ndarray  # 33 x 3: x, y (pixels), visibility (0..1)
    world33: np.ndarray  # 33 x 3: metres, origin at the hip centre, x right, y down, z away from camera
    presence: float  # 0..1: is a person in the crop at all
    roi_points: np.ndarray  # 2 x 2: auxiliary hip-centre and body-scale points (pixels), for the next crop


@dataclass
class Candidate:
    """A crop to run the landmark model on, as the tracker proposes it: an existing track's (track_id) or a
    newcomer's (None)."""

    track_id: int | None
    roi: Roi
    detection_score: float = 0.0
    detection_keypoints: np.ndarray | None = None  # 17 x 3, when the detector matched this person now
    refined_keypoints: np.ndarray | None = None  # 17 x 3 from a top-down model on this body's own crop, if run
    restart: bool = False  # a seen track restarting from the detector's crop: its temporal state must restart
    mask: np.ndarray | None = None  # another body (33 landmarks, image pixels) to paint out of this crop
    masked_by: int | None = None  # that body's track
    # the first landmark model found no one in this track's crop since the last detector run, and the second did:
    second_model: bool = False  # run it through the second (set by the pipeline; a detector run resets it)


@dataclass
class HandLandmarks:
    """The hand landmark model's output for one hand crop, mapped back to the image (livecap.fingers: point order)."""

    image21: np.ndarray  # 21 x 3: x, y (pixels), score (the hand's presence: the model scores no single point)
    world21: np.ndarray  # 21 x 3: metres, origin near the hand's centre, camera axes (x right, y down, z forward)
    presence: float  # 0..1: is a hand in the crop at all
    roi: Roi  # the crop it came from


@dataclass
class HandPose:
    """One hand of a tracked person, published when the body's wrist is in view and the hand was found."""

    score: float  # 0..1, the hand model's presence
    landmarks2d: np.ndarray  # 21 x 3: x, y (image pixels), score
    world: np.ndarray  # 21 x 3: metres, camera frame, the wrist point at the body's wrist
    rotations: np.ndarray | None = None  # 15 x 4 finger bones' local quaternions x y z w (livecap.fingers order)


@dataclass
class SkeletonPose:
    """A fitted skeleton (see livecap.skeleton for joint order)."""

    joints3d: np.ndarray  # J x 3 camera space, metres, x right, y down, z forward
    root: np.ndarray  # 3: root (Hips) position in camera space, metres
    rotations: np.ndarray  # J x 4: local quaternions x, y, z, w, identity = T-pose
    bone_lengths: np.ndarray  # J: length of the bone from each joint's parent to it, metres (0 for the root)
    offsets: np.ndarray  # J x 3: rest-pose offset of each joint from its parent (skeleton axes, metres)
    fingers: FingerPose | None = None  # the finger bones in camera space, when hands are on


@dataclass
class PersonPose:
    """Everything known about one tracked person in one frame."""

    id: int
    score: float
    bbox: np.ndarray  # 4: x1, y1, x2, y2
    coco17: np.ndarray  # 17 x 3: x, y, score
    landmarks2d: np.ndarray  # 33 x 3: x, y, visibility
    world33: np.ndarray  # 33 x 3: metres, hip-centred
    skeleton: SkeletonPose | None = None
    world: WorldPose | None = None  # the skeleton in world space (livecap.skeleton): what the sinks use
    contacts: dict[str, bool] | None = None  # {"left", "right"}: feet on the floor (livecap.pose.contact)
    hands: dict[str, HandPose | None] = field(default_factory=dict)  # "left", "right" when hands are on
    predicted: bool = False  # not seen in this frame: moved on from the last pose seen (livecap.pose.prediction)
    interpolated: bool = False  # not seen in this frame: filled in between two seen stretches (livecap.refine)
    observed: Landmarks | None = None  # the landmark model's own output, before smoothing (a take refined later)

    def __post_init__(self):
        if self.world is None and self.skeleton is not None:
            self.world = world_pose(self.skeleton)


@dataclass
class FrameResult:
    """All people found in one frame, with timing."""

    index: int
    time: float
    captured_at: float
    people: list[PersonPose]
    name: str | None = None
    stage_ms: dict[str, float] = field(default_factory=dict)
    # a still image of another size than the stream's first one is seen through a camera of its own size
    camera: CameraIntrinsics | None = None


@dataclass
class StreamInfo:
    """What a sink is told before the first frame: the source and how it is processed."""

    source: str  # a path, URL or camera description
    width: int
    height: int
    fps: float  # the source's nominal frame rate (0 when unknown)
    camera: CameraIntrinsics
    preset: str
    providers: list[str]
    settings: dict = field(default_factory=dict)  # how it is processed (smoothing, height), for the record
    refined: dict | None = None  # how a take refined after capture was made (livecap.refine); None when live
