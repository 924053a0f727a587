"""Stable person ids across frames (pure: detections and landmarks in, tracks out).

Each tracked person's next crop comes from its own landmarks, as MediaPipe does; the people detector runs every
few frames and whenever a track was lost, to find newcomers and to re-find people after short occlusions.
Detections are assigned to tracks with the Hungarian method on a pose similarity (OKS, box IoU).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from livecap.models.crop import box_roi, roi_from_alignment_points, roi_from_coco17
from livecap.models.blazepose import coco17_from_landmarks
from livecap.types import Landmarks, PeopleDetections, Roi

COCO_SIGMAS = np.array([.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062,
                        .107, .107, .087, .087, .089, .089], np.float32)
NO_MATCH_COST = 1e6  # finite, so linear_sum_assignment never finds the matrix infeasible


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def object_keypoint_similarity(a: np.ndarray, b: np.ndarray, area: float, min_score: float = 0.3) -> float:
    """COCO OKS between two 17 x 3 keypoint sets, over the points both see."""
    seen = (a[:, 2] >= min_score) & (b[:, 2] >= min_score)
    if not seen.any() or area <= 0:
        return 0.0
    d2 = ((a[seen, :2] - b[seen, :2]) ** 2).sum(axis=1)
    return float(np.exp(-d2 / (2 * area * (2 * COCO_SIGMAS[seen]) ** 2)).mean())


def keypoint_box(points: np.ndarray, min_score: float = 0.5, margin: float = 0.05) -> np.ndarray:
    """Box around the confident points (all points when too few are confident), with a small margin."""
    seen = points[points[:, 2] >= min_score, :2]
    if len(seen) < 3:
        seen = points[:, :2]
    lo, hi = seen.min(axis=0), seen.max(axis=0)
    pad = (hi - lo) * margin
    return np.concatenate([lo - pad, hi + pad]).astype(np.float32)


@dataclass
class Track:
    id: int
    roi: Roi  # where to look in the next frame
    landmarks: Landmarks
    coco17: np.ndarray
    bbox: np.ndarray
    score: float
    missed: int = 0  # consecutive frames without this person
    age: int = 0  # frames seen
    coco_offset: np.ndarray | None = None  # 17 x 2: detector keypoint minus landmark, at the last detection
    detection_score: float = 1.0
    resumed: bool = False  # seen again this frame after being lost: temporal state must restart
    state: Any = None  # what later stages keep about this person between frames; dies with the track


@dataclass
class Candidate:
    """A crop to run the landmark model on: an existing track's (track_id) or a newcomer's (None)."""

    track_id: int | None
    roi: Roi
    detection_score: float = 0.0
    detection_keypoints: np.ndarray | None = None  # 17 x 3, when the detector matched this person now


@dataclass
class TrackerSettings:
    detect_every: int = 8  # frames between detector runs while nothing changes
    presence_threshold: float = 0.3  # 0.5 dropped real people in the fast preset (AP 0.339 -> 0.345)
    max_missed: int = 30  # frames a lost track is kept for re-identification
    min_similarity: float = 0.25
    duplicate_iou: float = 0.6  # two tracks this overlapped follow the same person


class PoseTracker:
    """`new_state` makes the per-person state each new track carries (filters, fit), so that state is created with
    its person and forgotten with them, with no table of ids to keep in step."""

    def __init__(self, settings: TrackerSettings | None = None, new_state: Callable[[], Any] | None = None):
        self.settings = settings or TrackerSettings()
        self.new_state = new_state or (lambda: None)
        self.tracks: dict[int, Track] = {}
        self._next_id = 1
        self._frames_since_detection = 0
        self._lost_last_frame = False

    def reset(self) -> None:
        """Forget every track (ids still never repeat)."""
        self.tracks.clear()
        self._lost_last_frame = False

    def active(self) -> list[Track]:
        return [t for t in self.tracks.values() if t.missed == 0]

    def needs_detection(self) -> bool:
        return (not self.active() or self._lost_last_frame
                or self._frames_since_detection >= self.settings.detect_every)

    def propose(self, detections: PeopleDetections | None) -> list[Candidate]:
        """The crops to run this frame: every active track, plus detections of lost or new people."""
        active = self.active()
        if detections is None:
            self._frames_since_detection += 1
            return [Candidate(t.id, t.roi) for t in active]
        self._frames_since_detection = 0
        matched_tracks, free = self._match(detections, list(self.tracks.values()))
        by_track = {track.id: det_index for det_index, track in matched_tracks}
        candidates = []
        for track in self.tracks.values():
            det_index = by_track.get(track.id)
            if track.missed == 0:
                candidates.append(self._candidate(track.id, track.roi, detections, det_index))
            elif det_index is not None:  # a lost person found again: restart from the detector's crop
                candidates.append(self._candidate(track.id, None, detections, det_index))
        for det_index in free:
            box = detections.boxes[det_index]
            if all(box_iou(box, t.bbox) < self.settings.duplicate_iou for t in active):
                candidates.append(self._candidate(None, None, detections, det_index))
        return candidates

    @staticmethod
    def _candidate(track_id, roi, detections: PeopleDetections, det_index: int | None) -> Candidate:
        if det_index is None:
            return Candidate(track_id, roi)
        keypoints = None if detections.keypoints is None else detections.keypoints[det_index]
        if roi is None:
            roi = (roi_from_coco17(keypoints, detections.boxes[det_index]) if keypoints is not None
                   else box_roi(detections.boxes[det_index]))
        return Candidate(track_id, roi, float(detections.scores[det_index]), keypoints)

    def update(self, candidates: list[Candidate], results: list[Landmarks]) -> list[Track]:
        """Apply this frame's landmarks; returns the people seen in it, oldest id first."""
        seen: list[Track] = []
        for candidate, landmarks in zip(candidates, results):
            if landmarks.presence < self.settings.presence_threshold:
                continue
            track = self._track_for(candidate, landmarks)
            self._observe(track, candidate, landmarks)
            seen.append(track)
        seen = self._drop_duplicates(seen)
        seen_ids = {t.id for t in seen}
        self._lost_last_frame = False
        for track in list(self.tracks.values()):
            if track.id in seen_ids:
                continue
            self._lost_last_frame |= track.missed == 0
            track.missed += 1
            if track.missed > self.settings.max_missed:
                del self.tracks[track.id]
        return sorted(seen, key=lambda t: t.id)

    def _track_for(self, candidate: Candidate, landmarks: Landmarks) -> Track:
        if candidate.track_id is not None and candidate.track_id in self.tracks:
            return self.tracks[candidate.track_id]
        track = Track(self._next_id, candidate.roi, landmarks, np.zeros((17, 3), np.float32),
                      np.zeros(4, np.float32), 0.0, state=self.new_state())
        self._next_id += 1
        self.tracks[track.id] = track
        return track

    @staticmethod
    def _observe(track: Track, candidate: Candidate, landmarks: Landmarks) -> None:
        """COCO-17 keeps the detector's keypoints (better on the dev images than the landmark model's), carried
        between detector runs by the landmarks' motion, so its point definitions never switch between models."""
        from_landmarks = coco17_from_landmarks(landmarks.image33)
        if candidate.detection_keypoints is not None:
            track.coco_offset = candidate.detection_keypoints[:, :2] - from_landmarks[:, :2]
            track.detection_score = candidate.detection_score
            from_landmarks[:, 2] = candidate.detection_keypoints[:, 2]
        if track.coco_offset is not None:
            from_landmarks[:, :2] += track.coco_offset
        track.landmarks, track.coco17 = landmarks, from_landmarks
        track.bbox = keypoint_box(landmarks.image33)
        track.roi = roi_from_alignment_points(landmarks.roi_points[0], landmarks.roi_points[1])
        track.score = float(track.detection_score * landmarks.presence * landmarks.image33[:, 2].mean())
        track.resumed = track.missed > 0
        track.missed, track.age = 0, track.age + 1

    def _drop_duplicates(self, seen: list[Track]) -> list[Track]:
        """Two crops that converged on one person: keep the longer-lived track."""
        kept: list[Track] = []
        for track in sorted(seen, key=lambda t: (-t.age, t.id)):
            if all(box_iou(track.bbox, k.bbox) < self.settings.duplicate_iou for k in kept):
                kept.append(track)
        return kept

    def _similarity(self, detections: PeopleDetections, det_index: int, track: Track) -> float:
        box = detections.boxes[det_index]
        iou = box_iou(box, track.bbox)
        if detections.keypoints is None:
            return iou
        area = float((track.bbox[2] - track.bbox[0]) * (track.bbox[3] - track.bbox[1]))
        return max(iou, object_keypoint_similarity(detections.keypoints[det_index], track.coco17, area))

    def _match(self, detections: PeopleDetections, tracks: list[Track]):
        """Hungarian assignment of detections to tracks; returns (det, track) pairs and unmatched detections."""
        if not len(detections) or not tracks:
            return [], list(range(len(detections)))
        cost = np.full((len(detections), len(tracks)), NO_MATCH_COST)
        for i in range(len(detections)):
            for j, track in enumerate(tracks):
                sim = self._similarity(detections, i, track)
                if sim >= self.settings.min_similarity:
                    cost[i, j] = 1.0 - sim + 0.01 * track.missed  # prefer tracks seen more recently
        rows, cols = linear_sum_assignment(cost)
        pairs = [(int(i), tracks[j]) for i, j in zip(rows, cols) if cost[i, j] < NO_MATCH_COST]
        matched = {i for i, _ in pairs}
        return pairs, [i for i in range(len(detections)) if i not in matched]
