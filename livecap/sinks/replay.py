"""Recorded JSONL results back into FrameResults, to stream a recording or benchmark the streams."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from livecap import skeleton
from livecap.fingers import (BONES_PER_HAND, SIDE_NAMES, SIDES, FingerPose, finger_kinematics, fingertips, tip_offsets,
                             typical_offsets)
from livecap.skeleton import offsets_from_pose
from livecap.types import FacePose, FrameResult, HandPose, PersonPose, SkeletonPose


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
    if fit is not None and "finger_offsets" in record:  # hands on, in files written since the shapes were added
        fit.fingers = fingers_from_record(record, fit)
    person = PersonPose(id=int(record["id"]), score=float(record["score"]), skeleton=fit, **arrays)
    for side, hand in record.get("hands", {}).items():  # a run with hands on
        rotations = record.get("fingers", {}).get(side)
        person.hands[side] = None if hand is None else HandPose(
            float(hand["score"]), np.asarray(hand["landmarks2d"], np.float32), np.asarray(hand["world"], np.float32),
            None if rotations is None else np.asarray(rotations, np.float32))
    if "face" in record:  # a run with faces on
        person.face_tracked, face = True, record["face"]
        person.face = None if face is None else FacePose(
            float(face["score"]), np.asarray(face["landmarks2d"], np.float32),
            Rotation.from_quat(face["rotation"]).as_matrix().astype(np.float32), dict(face["expressions"]),
            bool(face.get("iris", True)))
    return person


def fingers_from_record(record: dict, fit: SkeletonPose) -> FingerPose:
    """The finger bones in camera space, rebuilt below the body's hand joints from the record's finger rotations and
    each hand's rest offsets and bone lengths. A hand not found in this frame is at rest with no positions; one
    whose shape was never measured, on a typical hand's."""
    hand_world = skeleton.world_rotations(fit.rotations)
    parts = []
    for side in SIDES:
        hand = skeleton.J[f"{SIDE_NAMES[side]}Hand"]
        offsets, lengths = record["finger_offsets"][side], record["finger_bone_lengths"][side]
        if offsets is None:
            offsets, tips = typical_offsets(side, float(fit.bone_lengths[hand]))
            lengths = np.full(BONES_PER_HAND, np.nan)
        else:
            tips = tip_offsets(lengths, side)
        quaternions = record["fingers"][side]
        if quaternions is None:
            local, start = np.tile(np.eye(3), (BONES_PER_HAND, 1, 1)), np.full(3, np.nan)
        else:
            local, start = Rotation.from_quat(quaternions).as_matrix(), fit.joints3d[hand]
        positions, world = finger_kinematics(start, hand_world[hand], local, np.asarray(offsets, np.float64))
        parts.append((positions, Rotation.from_matrix(local).as_quat(), world, offsets,
                      fingertips(positions, world, tips), lengths))
    positions, local, world, offsets, tips, lengths = (np.concatenate(column) for column in zip(*parts))
    return FingerPose(positions, local, world, offsets, {side: record["fingers"][side] is not None for side in SIDES},
                      tips, lengths)


def frame_from_record(record: dict, captured_at: float = 0.0) -> FrameResult:
    return FrameResult(index=int(record["frame"]), time=float(record["time"]), captured_at=captured_at,
                       people=[person_from_record(p) for p in record["people"]], name=record.get("image"))


def read_results(path: str | Path) -> tuple[dict, list[FrameResult]]:
    """The header and every frame of a `livecap process` results file."""
    lines = Path(path).read_text().splitlines()
    return json.loads(lines[0]), [frame_from_record(json.loads(line)) for line in lines[1:] if line.strip()]
