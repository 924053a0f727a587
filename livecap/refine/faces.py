"""A refined take's faces: each person's face over the frames the first pass found it in (livecap.refine.take),
published with the same fields and meaning as live (livecap.pose.face), made from the whole take:

- the head's rotation (livecap.pose.face.head_rotation) and the expressions' measures (livecap.pose.expressions)
  of each frame, smoothed forward and backward (livecap.refine.smooth.lowpass) over each stretch of frames the
  face was found in a row: no lag, where live's One-Euro filter on the mesh lags. The cutoff is twice the joints'
  (FACE_CUTOFF_FACTOR): a quick blink (140 ms, two frames shut at 28-30 fps) keeps 89-90 % of its depth at the
  capped 5.6-6 Hz where the joints' 4 Hz keeps 71-73 % (150 ms blinks: 104 % and 92 %);
- the expressions relative to the person's neutral face learned over the whole take, following the head's pose
  (livecap.pose.neutral.pose_neutral: each measure's robust fit over every frame; live: the median of their first
  NEUTRAL_SECONDS, and until then of what has been seen, the typical face one more, its pose slopes fitted over the
  frames seen so far);
- the 478 points as found (as a refined take's hands are): the mesh model's own points.

A frame whose face was not found, and an interpolated frame, has none (null).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from livecap.pose.expressions import MEASURES, expressions, measure
from livecap.pose.face import head_rotation
from livecap.pose.fitting.fingers import quaternion_of
from livecap.pose.neutral import PoseNeutral, pose_neutral
from livecap.refine.smooth import lowpass
from livecap.refine.take import Take, face_points
from livecap.types import FacePose

FACE_CUTOFF_FACTOR = 2.0  # the face's cutoff over the joints' (see above)
CHUNK_ROWS = 4096  # rows read from the take at once
FACE_FIELDS = ("face_found", "face_score", "face_iris", "face_origin", "face_points")


@dataclass
class FaceTrack:
    """One person's face over their rows (n, in frame order)."""

    rows: np.ndarray  # n: the take's rows
    found: np.ndarray  # n
    score: np.ndarray  # n
    iris: np.ndarray  # n
    rotations: np.ndarray  # n x 3 x 3, smoothed (FacePose.rotation)
    measures: np.ndarray  # n x len(MEASURES), smoothed
    neutral: PoseNeutral  # the whole take's

    def pose(self, k: int, points: np.ndarray) -> FacePose | None:
        """The face of the k-th row, as published (`points`: its 478 points, face_points); None where not found."""
        if not self.found[k]:
            return None
        values = expressions(self.measures[k], self.neutral.at(self.rotations[k]))
        return FacePose(score=float(self.score[k]), landmarks2d=points, rotation=self.rotations[k],
                        expressions=values, iris=bool(self.iris[k]))


def face_track(take: Take, rows: np.ndarray, frames: np.ndarray, times: np.ndarray, cutoff: float) -> FaceTrack:
    """The face of the person seen in these rows (at these frame positions and times), smoothed at `cutoff` Hz
    times FACE_CUTOFF_FACTOR (0: not smoothed)."""
    n = len(rows)
    found, score, iris = np.zeros(n, bool), np.zeros(n, np.float32), np.zeros(n, bool)
    quaternions, measures = np.zeros((n, 4)), np.full((n, len(MEASURES)), np.nan)
    for first in range(0, n, CHUNK_ROWS):
        part = take.rows(rows[first:first + CHUNK_ROWS], FACE_FIELDS)
        found[first:first + len(part)] = part["face_found"]
        score[first:first + len(part)], iris[first:first + len(part)] = part["face_score"], part["face_iris"]
        points = face_points(part)
        for k in np.flatnonzero(part["face_found"]):
            rotation = head_rotation(points[k])
            quaternions[first + k] = quaternion_of(rotation)
            measures[first + k] = measure(points[k], rotation, bool(part["face_iris"][k]))
    for start, end in _stretches(found, frames):
        quaternions[start:end] = _smooth_quaternions(quaternions[start:end], times[start:end],
                                                     FACE_CUTOFF_FACTOR * cutoff)
        measures[start:end] = _smooth_measures(measures[start:end], times[start:end], FACE_CUTOFF_FACTOR * cutoff)
    rotations = np.tile(np.eye(3, dtype=np.float32), (n, 1, 1))
    if found.any():
        rotations[found] = Rotation.from_quat(quaternions[found]).as_matrix()
    return FaceTrack(rows, found, score, iris, rotations, measures, pose_neutral(measures[found], rotations[found]))


def face_record(cutoff: float) -> dict:
    """The results header's "refined" "face": how the faces were made, the joints' smoother at `cutoff` Hz."""
    return {"neutral": "whole take, following the head's pose (robust fit)",
            "smoothed": "head rotation and expression measures, forward-backward Butterworth",
            "cutoff_hz": round(FACE_CUTOFF_FACTOR * cutoff, 3)}


def _stretches(found: np.ndarray, frames: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of rows with a face found in consecutive frames."""
    breaks = np.flatnonzero((np.diff(frames) != 1) | (found[1:] != found[:-1])) + 1
    edges = np.concatenate([[0], breaks, [len(found)]])
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a and found[a]]


def _smooth_quaternions(quaternions: np.ndarray, times: np.ndarray, cutoff: float) -> np.ndarray:
    """Unit quaternions low-passed component by component, each first put on the side of the one before (q and -q
    are one turn), then made unit again (the turns between neighbouring frames are small)."""
    q = quaternions.copy()
    flips = np.cumsum(np.concatenate([[False], (q[1:] * q[:-1]).sum(axis=1) < 0])) % 2 == 1
    q[flips] *= -1
    q = lowpass(q, times, cutoff)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _smooth_measures(measures: np.ndarray, times: np.ndarray, cutoff: float) -> np.ndarray:
    """Each measure low-passed; the gaze left unmeasured (NaN) where the iris was not measured."""
    out = measures.copy()
    taken = np.isfinite(measures).all(axis=0)
    out[:, taken] = lowpass(measures[:, taken], times, cutoff)
    return out
