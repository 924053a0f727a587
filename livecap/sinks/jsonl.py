"""The public JSONL results format (docs/results-format.md): a header line, then one line per frame.

Fields may be added, never changed or dropped: other tools read these files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from livecap import __version__, skeleton
from livecap.errors import OutputError
from livecap.fingers import BONES_PER_HAND, SIDES, FingerPose
from livecap.pose.fitting.fingers import quaternion_of
from livecap.pose.head import eye_rotations
from livecap.sinks.checks import check_file
from livecap.types import FacePose, FrameResult, HandPose, PersonPose, StreamInfo

PIXEL_DECIMALS = 2
METRE_DECIMALS = 4
SCORE_DECIMALS = 3


def _rounded(array: np.ndarray, decimals: int) -> list:
    return np.round(np.asarray(array, np.float64), decimals).tolist()


def _points(array: np.ndarray, decimals: int) -> list:
    """Rows of (x, y, score): coordinates rounded to `decimals`, the score to 3 places. Both are rounded as
    float64: a float32 rounded to 0.563 is 0.5630000233650208 once widened for JSON."""
    values = np.asarray(array, np.float64)
    out = np.round(values, decimals)
    out[:, 2] = np.round(values[:, 2], SCORE_DECIMALS)
    return out.tolist()


def header_record(info: StreamInfo, **extra) -> dict:
    record = {"livecap": __version__, "source": info.source, "width": info.width, "height": info.height,
              "fps": round(info.fps, 4), "camera": info.camera.to_dict(),
              "skeleton": skeleton.header(info.settings.get("hands", False), info.settings.get("face", False)),
              "landmarks": info.landmarks, "preset": info.preset, "providers": info.providers,
              "settings": info.settings, "refined": info.refined, "precision": info.precision,
              "landmark_model": info.landmark_model}
    record.update(extra)
    return record


def person_record(person: PersonPose) -> dict:
    record = {"id": person.id, "score": round(float(person.score), SCORE_DECIMALS),
              "bbox": _rounded(person.bbox, PIXEL_DECIMALS),
              "coco17": _points(person.coco17, PIXEL_DECIMALS),
              "landmarks2d": _points(person.landmarks2d, PIXEL_DECIMALS),
              "world33": _rounded(person.world33, METRE_DECIMALS), "predicted": person.predicted,
              "interpolated": person.interpolated}
    fit = person.skeleton
    if fit is not None:
        record.update({"joints3d": _rounded(fit.joints3d, METRE_DECIMALS), "root": _rounded(fit.root, METRE_DECIMALS),
                       "rotations": _rounded(fit.rotations, 5), "bone_lengths": _rounded(fit.bone_lengths, 4)})
    if person.contacts is not None:
        record["contacts"] = {side: bool(flag) for side, flag in person.contacts.items()}
    if person.hands:  # hands on: both sides always listed, null for a hand not found
        record["hands"] = {side: None if hand is None else hand_record(hand) for side, hand in person.hands.items()}
        record["fingers"] = {side: None if hand is None or hand.rotations is None else _rounded(hand.rotations, 5)
                             for side, hand in person.hands.items()}
        if fit is not None and fit.fingers is not None and fit.fingers.lengths is not None:
            record.update(finger_shape_record(fit.fingers))
    if person.face_tracked:  # faces on: null for a face not found
        record["face"] = None if person.face is None else face_record(person.face)
        record["eyes"] = eyes_record(person.face)
    return record


def face_record(face: FacePose) -> dict:
    """The face: 478 points (x, y, z pixels, MediaPipe's mesh order; "iris" false: the irises, 468-477, are not
    measured but put at their eyes' centres), the head's rotation as a quaternion x, y, z, w in camera axes
    (identity: upright, facing the camera) and the expressions (0..1)."""
    return {"score": round(float(face.score), SCORE_DECIMALS),
            "landmarks2d": _rounded(face.landmarks2d, PIXEL_DECIMALS), "iris": bool(face.iris),
            "rotation": _rounded(quaternion_of(face.rotation), 5),
            "expressions": {name: round(float(value), SCORE_DECIMALS) for name, value in face.expressions.items()}}


def eyes_record(face: FacePose | None) -> dict | None:
    """The eye bones' local rotations (x, y, z, w relative to the Head joint; identity looks along the head) by
    side, from the gaze; null where it is not measured (the face not found, or its irises not measured)."""
    eyes = eye_rotations(face)
    return None if eyes is None else {side: _rounded(q, 5) for side, q in zip(skeleton.EYE_SIDES, eyes)}


def finger_shape_record(fingers: FingerPose) -> dict:
    """Each hand's frozen finger bones, to rebuild the fingers from `fingers` below the body's hand joints: the 15
    bones' rest offsets from their parents and their own lengths; null for a hand whose shape is not measured."""
    offsets, lengths = {}, {}
    for k, side in enumerate(SIDES):
        rows = slice(k * BONES_PER_HAND, (k + 1) * BONES_PER_HAND)
        measured = bool(np.isfinite(fingers.lengths[rows]).all())
        offsets[side] = _rounded(fingers.offsets[rows], METRE_DECIMALS) if measured else None
        lengths[side] = _rounded(fingers.lengths[rows], METRE_DECIMALS) if measured else None
    return {"finger_bone_lengths": lengths, "finger_offsets": offsets}


def hand_record(hand: HandPose) -> dict:
    return {"score": round(float(hand.score), SCORE_DECIMALS),
            "landmarks2d": _points(np.asarray(hand.landmarks2d, np.float64), PIXEL_DECIMALS),
            "world": _rounded(hand.world, METRE_DECIMALS)}


def frame_record(result: FrameResult) -> dict:
    record = {"frame": result.index, "time": round(result.time, 6)}
    if result.name is not None:
        record["image"] = result.name
    if result.camera is not None:  # a still whose size differs from the header's: its own camera
        record["camera"] = result.camera.to_dict()
    record["people"] = [person_record(p) for p in result.people]
    return record


class JsonlWriter:
    """Writes whole lines only: a failed write is cut back, so what is on disk always stays valid JSONL."""

    def __init__(self, path: str | os.PathLike, header: dict):
        self.path = Path(path)
        try:
            self.file = open(self.path, "wb", buffering=0)  # unbuffered: a line is on disk or cut back
        except OSError as exc:
            raise OutputError(f"cannot write results to {self.path} ({exc.strerror}): choose a writable --out "
                              f"path") from None
        self.lines = 0
        self.write(header)

    def write(self, record: dict) -> None:
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")
        good_size = self.file.tell()
        try:
            view = memoryview(line)
            while view:
                view = view[self.file.write(view):]
        except OSError as exc:
            self._cut_back(good_size)
            raise OutputError(f"writing {self.path} failed ({exc.strerror}) after {self.lines} lines; those are "
                              f"kept: free some disk space or choose another --out") from None
        self.lines += 1

    def _cut_back(self, size: int) -> None:
        try:
            self.file.truncate(size)
        except OSError:
            pass
        self.file.close()

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class JsonlSink:
    """The JSONL results file as a sink: the header is written at start."""

    name = "jsonl"

    def __init__(self, path: str | os.PathLike, required: bool = False):
        self.path = path
        self.required = required  # the run's main output (`livecap process`): its failure fails the run
        self.writer: JsonlWriter | None = None

    def check(self) -> None:
        check_file(Path(self.path), "results", "--out")

    def start(self, info: StreamInfo) -> None:
        self.writer = JsonlWriter(self.path, header_record(info))

    def write(self, result: FrameResult) -> None:
        self.writer.write(frame_record(result))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
