"""Why a reference person-frame was missed: the real pipeline run in-process with its tracker recording what it
decided, each uncovered reference person classified by the first stage that lost it.

Causes: `box mismatch` (a tracked box overlaps it, IoU 0.3-0.5), `detector missed` (the detector ran this frame
and found no one there), `suppressed` (found, but taken for a second detection of a tracked body), `low presence`
(its crop's landmarks were not confident), `another body` (its crop's landmarks found someone else), `dropped`
(a crop found it, yet no record covers it: one crop per body, or the box), `no run, lost` (between detector
runs, after a track had it), `no run, unseen` (between detector runs, no track had it since the last run).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

import people_bench as bp
from livecap.pose.tracking import PoseTracker
from livecap.types import PeopleDetections

LOOSE_IOU = 0.3


@dataclass
class FrameLog:
    detections: PeopleDetections | None = None
    crowd: PeopleDetections | None = None
    # per candidate: (track id or None, detection index or None, crowd index or None, presence, same body)
    crops: list[tuple] = field(default_factory=list)


class RecordingTracker(PoseTracker):
    """The real tracker, keeping per frame what went in and what each crop found."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log: list[FrameLog] = []

    def propose(self, detections, crowd=None, local=False):
        candidates = super().propose(detections, crowd, local)
        self.log.append(FrameLog(detections, crowd))
        self._sources = [_source(c, detections, crowd) for c in candidates]
        return candidates

    def update(self, candidates, results, *args):
        for c, r, (det, box) in zip(candidates, results, self._sources):
            same = None if c.detection_keypoints is None else self._same_body(c.detection_keypoints, r)
            self.log[-1].crops.append((c.track_id, det, box, float(r.presence), same))
        return super().update(candidates, results, *args)


def _source(candidate, detections, crowd) -> tuple[int | None, int | None]:
    if detections is not None and candidate.detection_keypoints is not None:
        for i, k in enumerate(detections.keypoints):
            if np.array_equal(k, candidate.detection_keypoints):
                return i, None
    if crowd is not None and candidate.detection_score > 0 and candidate.detection_keypoints is None:
        return None, int(np.argmax(crowd.scores == candidate.detection_score))
    return None, None


def recorded_run(video: Path, preset: str, max_frames: int | None = None,
                 tracker_class: type[PoseTracker] = RecordingTracker, on_frame=None,
                 start: int = 0) -> tuple[list[dict], list, float]:
    """The pipeline of `livecap process` on the video from frame `start`, frame by frame at the video's own times,
    with the given tracker class: JSONL frame records, the tracker's log, frames per second. on_frame(index,
    tracker, record) is called after each frame."""
    from livecap.pose.pipeline import build_pipeline
    from livecap.settings import PipelineSettings
    from livecap.sinks.jsonl import frame_record
    from livecap.types import Frame
    import people_reference as br

    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    capture.release()
    images = br.read_video(video, max_frames)[start:]
    pipeline = build_pipeline(PipelineSettings(preset=preset), images[0].shape[1], images[0].shape[0])
    tracker = pipeline.tracker = tracker_class(pipeline.tracker.settings, pipeline.tracker.new_state)
    frames = []
    started = time.perf_counter()
    for index, image in enumerate(images):
        frames.append(frame_record(pipeline.process(Frame(index, index / fps, image, 0.0))))
        if on_frame is not None:
            on_frame(index, tracker, frames[-1])
    return frames, getattr(tracker, "log", []), len(images) / (time.perf_counter() - started)


def _best(box: np.ndarray, boxes: np.ndarray | None) -> tuple[int, float]:
    if boxes is None or not len(boxes):
        return -1, 0.0
    iou = bp.box_iou_matrix(box, boxes)[0]
    return int(np.argmax(iou)), float(iou.max())


def classify_misses(reference: list[PeopleDetections], frames: list[dict], log: list[FrameLog],
                    presence_threshold: float = 0.3) -> list[tuple[int, int, str]]:
    """(frame, reference identity, cause) for every reference person-frame no tracked box covers (IoU >= 0.5)."""
    identities = bp.chain_identities([r.boxes for r in reference])
    tracked = bp.tracked_boxes(frames)
    covered_by: dict[int, int] = {}  # identity -> last frame it was covered
    last_run = -1
    out = []
    for index, (ref, (ids, boxes)) in enumerate(zip(reference, tracked)):
        entry = log[index]
        if entry.detections is not None:
            last_run = index
        pairs = dict(bp.match_boxes(ref.boxes, boxes, 0.5))
        for r, box in enumerate(ref.boxes):
            identity = int(identities[index][r])
            if r in pairs:
                covered_by[identity] = index
                continue
            out.append((index, identity, _cause(box, boxes, entry, presence_threshold,
                                                covered_by.get(identity, -1) >= last_run >= 0)))
    return out


def _cause(box, boxes, entry: FrameLog, presence_threshold: float, had_track: bool) -> str:
    if _best(box, boxes)[1] >= LOOSE_IOU:
        return "box mismatch"
    if entry.detections is None:
        return "no run, lost" if had_track else "no run, unseen"
    det, iou = _best(box, entry.detections.boxes)
    crowd, crowd_iou = _best(box, entry.crowd.boxes if entry.crowd is not None else None)
    if iou < 0.5 and crowd_iou < 0.5:
        return "detector missed"
    crops = [c for c in entry.crops if (iou >= 0.5 and c[1] == det) or (crowd_iou >= 0.5 and c[2] == crowd)]
    if not crops:
        return "suppressed"
    if all(c[3] < presence_threshold for c in crops):
        return "low presence"
    if all(c[4] is False for c in crops):
        return "another body"
    return "dropped"


def switches(reference: list[PeopleDetections], frames: list[dict]) -> list[tuple[int, int, int, int]]:
    """(frame, reference identity, tracked id before, tracked id now) for every id switch of the recall metric."""
    identities = bp.chain_identities([r.boxes for r in reference])
    last: dict[int, int] = {}
    out = []
    for index, (ref, (ids, boxes)) in enumerate(zip(reference, bp.tracked_boxes(frames))):
        for r, t in bp.match_boxes(ref.boxes, boxes, 0.5):
            identity, track_id = int(identities[index][r]), int(ids[t])
            if last.get(identity, track_id) != track_id:
                out.append((index, identity, last[identity], track_id))
            last[identity] = track_id
    return out


def summary(misses: list[tuple[int, int, str]]) -> Counter:
    return Counter(cause for _, _, cause in misses)
