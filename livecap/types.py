"""The typed objects passed between pipeline stages and to every sink. Defined here once.

Coordinates: image pixels (x right, y down) for 2D; metres for 3D. Arrays are float32 numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from livecap.camera import CameraIntrinsics
from livecap.fingers import FingerPose
from livecap.keypoints import KeypointScheme
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
class SearchRegion:
    """Part of the image where the people detector looks for someone lost (livecap.pose.tracking), and the body
    size it looks for there, which sets the detector's input scale."""

    box: np.ndarray  # x1, y1, x2, y2 in image pixels
    body_size: float  # pixels: the smallest body sought in it


@dataclass(frozen=True)
class Roi:
    """A square, rotated region of the image that a landmark crop is taken from."""

    cx: float
    cy: float
    size: float  # side length in pixels
    rotation: float  # radians, clockwise in the image (y down); 0 = upright person


@dataclass
class Landmarks:
    """A landmark model's output for one crop, mapped back to the image (livecap.models.landmarker): its points in
    the order of the scheme it speaks."""

    image: np.ndarray  # K x 3: x, y (pixels), score (BlazePose: visibility 0..1; the hand model: its presence)
    # K x 3: metres, camera axes (x right, y down, z away), the model's own origin (body: hips); 0 x 3 from a model
    # that gives no metric points (the face mesh)
    world: np.ndarray
    presence: float  # 0..1: is a person (a hand) in the crop at all
    scheme: KeypointScheme  # which point is which
    roi: Roi | None = None  # the crop it came from
    # a body model's 2 x 2 auxiliary points (pixels) that place the next crop: hip centre and body scale
    roi_points: np.ndarray | None = None

    def coco17(self) -> np.ndarray:
        """The image points' COCO-17 subset (17 x 3), for a scheme that has one."""
        return self.scheme.coco17_of(self.image)


@dataclass
class Candidate:
    """A crop to run the landmark model on, as the tracker proposes it: an existing track's (track_id) or a
    newcomer's (None)."""

    track_id: int | None
    roi: Roi
    detection_score: float = 0.0
    detection_keypoints: np.ndarray | None = None  # 17 x 3, when the detector matched this person now
    restart: bool = False  # a seen track restarting from the detector's crop: its temporal state must restart
    mask: Landmarks | None = None  # another body (its landmarks, image pixels) to paint out of this crop
    masked_by: int | None = None  # that body's track
    # the first landmark model found no one in this track's crop since the last detector run, and the second did:
    second_model: bool = False  # run it through the second (PoseTracker.update is told; a detector run resets it)


@dataclass
class HandPose:
    """One hand of a tracked person, published when the body's wrist is in view and the hand was found."""

    score: float  # 0..1, the hand model's presence
    landmarks2d: np.ndarray  # 21 x 3: x, y (image pixels), score
    world: np.ndarray  # 21 x 3: metres, camera frame, the wrist point at the body's wrist
    rotations: np.ndarray | None = None  # 15 x 4 finger bones' local quaternions x y z w (livecap.fingers order)


@dataclass
class FaceDetections:
    """Faces found by a face detector on the whole image, in image pixels, best first."""

    boxes: np.ndarray  # N x 4: x1, y1, x2, y2
    keypoints: np.ndarray  # N x 6 x 2: the subject's right eye, left eye, nose tip, mouth centre, right and left ear
    scores: np.ndarray  # N

    def __len__(self) -> int:
        return len(self.scores)


@dataclass
class FaceLandmarks(Landmarks):
    """The face mesh model's output for one face crop, mapped back to the image (livecap.facemesh.FACE478): its
    `image` holds x, y and z (pixels, depth relative to the face's centre, away from the camera) where other models
    give a score, as the mesh scores no point; its `world` is empty (the mesh gives no metric points)."""

    iris: bool = True  # the irises (468-477) measured by the iris model; else each at its eye's centre


@dataclass
class FacePose:
    """The face of a tracked person, published when it was found (faces on)."""

    score: float  # 0..1, the face model's presence
    landmarks2d: np.ndarray  # 478 x 3: x, y, z in image pixels (z: depth relative to the face's centre)
    rotation: np.ndarray  # 3 x 3: the head's axes in camera axes (x right, y down, z forward); identity: upright,
    # facing the camera; columns: the head's left, its down, its back
    expressions: dict[str, float] = field(default_factory=dict)  # livecap.pose.expressions names, 0..1
    iris: bool = True  # the irises measured (gaze known); else each at its eye's centre


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
    face: FacePose | None = None  # the face, when faces are on and it was found
    face_tracked: bool = False  # faces are on: the results carry "face" (null where it was not found)
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
    landmarks: str = "blazepose33"  # the keypoint scheme of each person's published landmarks
    refined: dict | None = None  # how a take refined after capture was made (livecap.refine); None when live
    precision: dict = field(default_factory=dict)  # each model's weights (float32, float16 on CUDA), by its role
    landmark_model: str = ""  # the catalog name of the body landmark model that ran
