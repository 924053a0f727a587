"""Faces for every tracked person: crops from each body's face points, one batched mesh call per frame, then per
face smoothing, the head's rotation and the expressions (pure per-frame core; its state lives on each person's
track). Where no body is seen, BlazeFace looks for faces that fill the frame (a webcam at arm's length), and on a
still image for the faces of bodies not found (a crowd): each face it finds is a person of its own, its face only
(`CloseUps`).

A face's crop comes from its body's BlazePose face points (nose, eyes, ears, mouth) when the nose and eyes are
seen, or, when the face was found in the previous frame and its crop still agrees with the body, from the face's own
mesh, as MediaPipe tracks a face. On still images each face gets a second pass from its own mesh (NME on the dev
faces 0.049 -> 0.043). A face not found is None; bad crops (off the image, a presence under the threshold) never
fail a frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from livecap.facemesh import BODY_FACE_IN_MESH, BODY_FACE_POINTS, MESH_POINTS, MIDLINE, NOSE_TIP, SYMMETRIC_PAIRS
from livecap.models.blazepose import BLAZEPOSE33
from livecap.models.face import BlazeFaceDetector, face_roi_from_body, face_roi_from_detection, face_roi_from_landmarks
from livecap.models.landmarker import Landmarker
from livecap.pose.expressions import expressions, measure
from livecap.pose.filtering import OneEuroFilter, SmoothingSettings
from livecap.pose.head import HeadFromFace
from livecap.pose.neutral import ExpressionState
from livecap.types import FaceLandmarks, FacePose, Landmarks, PersonPose, Roi


@dataclass(frozen=True)
class FaceSettings:
    visibility: float = 0.5  # the body's nose and both eyes must be at least this visible for a face to be looked for
    presence: float = 0.5  # the mesh model's face presence needed to publish a face
    max_crop_shift: float = 0.5  # the own-mesh crop is kept while its centre is within this x the body's crop
    still_passes: int = 2  # mesh passes on a still image: the first from the body, the next from the mesh
    max_nose_gap: float = 0.2  # the mesh's nose tip may lie this share of the crop from the body's nose
    # a face is looked for where the body's nose lies at least this much nearer the camera than its ears (metres,
    # BlazePose's 3D): about 0.11 facing the camera, 0.05 side-on; turned further or away, the mesh model puts a face
    # on the hair (two_people's men turning their backs: -0.017 to -0.03)
    facing: float = 0.035


def head_rotation(points: np.ndarray) -> np.ndarray:
    """The head's axes in camera axes (3 x 3, columns: its left, its down, its back) from its mesh (x, y, z pixels):
    left along the mean of the symmetric points' right -> left vectors, down along the midline, made orthogonal."""
    p = np.asarray(points[:MESH_POINTS], np.float64)
    left = sum(p[b] - p[a] for a, b in SYMMETRIC_PAIRS)
    left /= max(float(np.linalg.norm(left)), 1e-9)
    half = len(MIDLINE) // 2
    down = p[list(MIDLINE[half:])].mean(axis=0) - p[list(MIDLINE[:half])].mean(axis=0)
    down -= left * float(down @ left)
    down /= max(float(np.linalg.norm(down)), 1e-9)
    return np.column_stack([left, down, np.cross(left, down)])


def _in_image(points: np.ndarray, width: int, height: int) -> bool:
    return bool(((points[:, 0] >= 0) & (points[:, 0] < width) & (points[:, 1] >= 0) & (points[:, 1] < height)).all())


@dataclass
class PersonFace:
    """One person's face between frames."""

    expressions: ExpressionState = field(default_factory=ExpressionState)
    filter: OneEuroFilter | None = None
    roi: Roi | None = None  # the next crop, from this frame's mesh, when the face was found
    head: HeadFromFace = field(default_factory=HeadFromFace)  # the mesh's turn of the skeleton's head

    def lost(self) -> None:
        self.roi = None
        if self.filter is not None:
            self.filter.reset()

    def reset_neutral(self) -> None:
        self.expressions.reset_neutral()


class FaceStage:
    def __init__(self, landmarker: Landmarker, detector: BlazeFaceDetector | None = None,
                 smoothing: SmoothingSettings | None = None, settings: FaceSettings | None = None,
                 stills: bool = False):
        self.landmarker, self.detector, self.smoothing, self.stills = landmarker, detector, smoothing, stills
        self.settings = settings or FaceSettings()

    def new_person(self) -> PersonFace:
        face = PersonFace()
        if self.smoothing is not None:
            face.filter = OneEuroFilter(self.smoothing.landmarks)
        return face

    def find_all(self, rgb: np.ndarray, people: list[tuple[Landmarks, PersonFace, bool]]
                 ) -> list[FaceLandmarks | None]:
        """Every tracked person's face this frame, from (their BlazePose landmarks, their face state, found again
        after being lost) each; None where the face was not looked for or not found."""
        height, width = rgb.shape[:2]
        rois: list[Roi | None] = []
        for body, face, resumed in people:
            if resumed:
                face.lost()
            rois.append(self._crop(body, face, width, height))
        chosen = [i for i, roi in enumerate(rois) if roi is not None]
        found = self.find(rgb, [rois[i] for i in chosen])
        out: list[FaceLandmarks | None] = [None] * len(people)
        for i, face in zip(chosen, found):
            if face is not None and self._on_body(face, people[i][0]):
                out[i] = face
        return out

    def _on_body(self, face: FaceLandmarks, body: Landmarks) -> bool:
        """Whether a face found in a body's crop is that body's: its nose tip near the body's nose (in a crowd, a
        crop may hold a neighbour's face more clearly than its own)."""
        gap = float(np.linalg.norm(face.image[NOSE_TIP, :2] - body.image[body.scheme.index("nose"), :2]))
        return gap <= self.settings.max_nose_gap * face.roi.size

    def find(self, rgb: np.ndarray, rois: list[Roi]) -> list[FaceLandmarks | None]:
        """The faces in these crops, all in one model call per pass (more passes on stills, each from the last
        pass's mesh); None where the model sees no face."""
        found = self.landmarker(rgb, rois) if rois else []
        for _ in range(1, self.settings.still_passes if self.stills else 1):
            seen = [i for i, face in enumerate(found) if face.presence >= self.settings.presence]
            again = self.landmarker(rgb, [face_roi_from_landmarks(found[i].image) for i in seen])
            for i, face in zip(seen, again):
                if face.presence >= self.settings.presence:
                    found[i] = face
        return [face if face.presence >= self.settings.presence and np.isfinite(face.image[:, :2]).all() else None
                for face in found]

    def _crop(self, body: Landmarks, face: PersonFace, width: int, height: int) -> Roi | None:
        """The crop for a body's face: none where its nose or eyes are not seen or lie off the image, or where it
        does not face the camera."""
        s, scheme = self.settings, body.scheme
        points = body.image[scheme.indices(*BODY_FACE_POINTS)]
        key = body.image[scheme.indices("nose", "left_eye", "right_eye")]
        ears, nose = body.world[scheme.indices("left_ear", "right_ear")], body.world[scheme.index("nose")]
        facing = float(ears[:, 2].mean() - nose[2])
        if (not np.isfinite(points).all() or (key[:, 2] < s.visibility).any()
                or not _in_image(key, width, height) or not facing >= s.facing):
            face.lost()
            return None
        from_body, own = face_roi_from_body(points), face.roi
        shift = np.inf if own is None else np.hypot(own.cx - from_body.cx, own.cy - from_body.cy)
        return own if shift <= s.max_crop_shift * from_body.size else from_body

    def attach(self, person: PersonPose, face: PersonFace, found: FaceLandmarks | None, time_s: float) -> None:
        """Publishes the person's face (None where not found), and turns their fitted skeleton's head as the mesh
        shows it (livecap.pose.head)."""
        person.face_tracked = True
        person.face = self.face_pose(face, found, time_s)
        if person.skeleton is not None:
            person.skeleton, person.world = face.head.apply(person.skeleton, person.world, person.face, time_s,
                                                            ease=not self.stills)

    def face_pose(self, face: PersonFace, found: FaceLandmarks | None, time_s: float) -> FacePose | None:
        """A face found, as published: its mesh smoothed, the head's rotation and the expressions from it; the
        next frame's crop from it."""
        if found is None:
            face.lost()
            return None
        face.roi = None if self.stills else face_roi_from_landmarks(found.image)
        points = found.image.astype(np.float64)
        if face.filter is not None:
            points = face.filter(time_s, points, scale=found.roi.size)
        rotation = head_rotation(points)
        measures = measure(points, rotation, found.iris)
        values = expressions(measures) if self.stills else face.expressions.update(measures, rotation, time_s)
        return FacePose(score=found.presence, landmarks2d=points.astype(np.float32),
                        rotation=rotation.astype(np.float32), expressions=values, iris=found.iris)


def face_only_person(person_id: int, face: FacePose) -> PersonPose:
    """A person seen by their face alone: their body's face points from the mesh (its other points unseen: score 0,
    world points 0), the mesh's box as theirs; no skeleton."""
    points, scheme = face.landmarks2d, BLAZEPOSE33  # the published body points' scheme
    body = np.zeros((len(scheme), 3), np.float32)
    face_points = scheme.indices(*BODY_FACE_POINTS)
    body[face_points, :2] = points[list(BODY_FACE_IN_MESH), :2]
    body[face_points, 2] = face.score
    box = np.concatenate([points[:MESH_POINTS, :2].min(axis=0), points[:MESH_POINTS, :2].max(axis=0)])
    return PersonPose(id=person_id, score=face.score, bbox=box.astype(np.float32), coco17=scheme.coco17_of(body),
                      landmarks2d=body, world33=np.zeros((len(scheme), 3), np.float32), face=face,
                      face_tracked=True)


# BlazeFace on still images: the whole image, then tiles 2 and 3 across it (the dev crowd's faces, about a tenth of
# the image across, are found from 3)
STILL_TILINGS = (1, 2, 3)


@dataclass
class CloseUp:
    """A face followed without a body."""

    id: int
    face: PersonFace
    last: FaceLandmarks | None = None  # as last found
    missed: int = 0  # frames since


class CloseUps:
    """Faces with no body. In a sequence, where no body is seen, BlazeFace looks at the whole frame on every frame;
    each face it finds that no close-up follows becomes a person with an id of its own (`new_id`, the tracker's),
    followed from its own mesh while the mesh finds it; one lost for up to `max_missed` frames and found again where
    it was keeps its id; any body seen ends them (its face comes with it). On a still image BlazeFace also looks at
    tiles (STILL_TILINGS), for the faces of people whose bodies were not found (a crowd); a face found so where a
    body without a face has its nose goes to that body."""

    def __init__(self, stage: FaceStage, new_id: Callable[[], int], max_missed: int = 30):
        self.stage, self.new_id, self.max_missed = stage, new_id, max_missed
        self.followed: list[CloseUp] = []

    def update(self, rgb: np.ndarray, time_s: float, people: list[PersonPose], bodies_seen: bool
               ) -> list[PersonPose]:
        """The close-ups of this frame, as people; on stills, also faces for `people` that had none."""
        if self.stage.detector is None or (bodies_seen and not self.stage.stills):
            self.followed = []
            return []
        tracked = [c for c in self.followed if c.face.roi is not None]
        found = dict(zip((c.id for c in tracked), self.stage.find(rgb, [c.face.roi for c in tracked])))
        boxes = [_box(face.image) for face in found.values() if face is not None]
        boxes += [_box(p.face.landmarks2d) for p in people if p.face is not None]
        lost = [c for c in self.followed if found.get(c.id) is None and c.last is not None]
        faceless = [p for p in people if p.face is None]
        detected = [roi for roi in self._detected(rgb) if not any(_inside(roi, box) for box in boxes)]
        for face in self.stage.find(rgb, detected):
            if face is None or any(_inside(face.roi, box) for box in boxes):
                continue
            boxes.append(_box(face.image))
            body = next((p for p in faceless if _inside_point(p.landmarks2d[0], boxes[-1])), None)
            if body is not None:
                self.stage.attach(body, self.stage.new_person(), face, time_s)
                faceless.remove(body)
                continue
            again = next((c for c in lost if _inside(face.roi, _box(c.last.image))), None)
            if again is None:
                again = CloseUp(self.new_id(), self.stage.new_person())
                self.followed.append(again)
            found[again.id] = face
        return self._publish(found, time_s)

    def _publish(self, found: dict[int, FaceLandmarks | None], time_s: float) -> list[PersonPose]:
        people = []
        for close_up in self.followed:
            face = found.get(close_up.id)
            close_up.missed = 0 if face is not None else close_up.missed + 1
            close_up.last = face if face is not None else close_up.last
            pose = self.stage.face_pose(close_up.face, face, time_s)
            if pose is not None:
                people.append(face_only_person(close_up.id, pose))
        self.followed = [] if self.stage.stills else [c for c in self.followed if c.missed <= self.max_missed]
        return people

    def reset_neutral(self) -> None:
        for close_up in self.followed:
            close_up.face.reset_neutral()

    def _detected(self, rgb: np.ndarray) -> list[Roi]:
        faces = self.stage.detector(rgb, STILL_TILINGS if self.stage.stills else (1,))
        return [face_roi_from_detection(faces.boxes[i], faces.keypoints[i]) for i in range(len(faces))]


def _box(points: np.ndarray) -> np.ndarray:
    """A face's mesh box: x1, y1, x2, y2."""
    mesh = points[:MESH_POINTS, :2]
    return np.concatenate([mesh.min(axis=0), mesh.max(axis=0)])


def _inside_point(point: np.ndarray, box: np.ndarray) -> bool:
    return bool(box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3])


def _inside(roi: Roi, box: np.ndarray) -> bool:
    """Whether a crop's centre lies in a face's box: that face's crop."""
    return _inside_point(np.array([roi.cx, roi.cy]), box)
