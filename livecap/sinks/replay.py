"""Recorded JSONL results back into FrameResults, to stream a recording or benchmark the streams."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from livecap.types import FrameResult, HandPose, PersonPose, SkeletonPose
from livecap.skeleton import offsets_from_pose


def person_from_record(record: dict) -> PersonPose:
    arrays = {k: np.asarray(record[k], np.float32) for k in ("bbox", "coco17", "landmarks2d", "world33")}
    fit = None
    if "joints3d" in record:
        joints = np.asarray(record["joints3d"], np.float64)
        rotations = np.asarray(record["rotations"], np.float64)
        fit = SkeletonPose(joints3d=joints.astype(np.float32), root=np.asarray(record["root"], np.float32),
                           rotations=rotations.astype(np.float32),
                           bone_lengths=np.asarray(record["bone_lengths"], np.float32),
                           offsets=offsets_from_pose(joints, rotations).astype(np.float32))
    person = PersonPose(id=int(record["id"]), score=float(record["score"]), skeleton=fit, **arrays)
    for side, hand in record.get("hands", {}).items():  # a run with hands on
        rotations = record.get("fingers", {}).get(side)
        person.hands[side] = None if hand is None else HandPose(
            float(hand["score"]), np.asarray(hand["landmarks2d"], np.float32), np.asarray(hand["world"], np.float32),
            None if rotations is None else np.asarray(rotations, np.float32))
    return person


def frame_from_record(record: dict, captured_at: float = 0.0) -> FrameResult:
    return FrameResult(index=int(record["frame"]), time=float(record["time"]), captured_at=captured_at,
                       people=[person_from_record(p) for p in record["people"]], name=record.get("image"))


def read_results(path: str | Path) -> tuple[dict, list[FrameResult]]:
    """The header and every frame of a `livecap process` results file."""
    lines = Path(path).read_text().splitlines()
    return json.loads(lines[0]), [frame_from_record(json.loads(line)) for line in lines[1:] if line.strip()]
