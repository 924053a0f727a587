"""Helpers for the BVH tests: real poses from a livecap results file, third-party readers (bvhio, Blender)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import MEDIA
from livecap.pose.fitting import model
from livecap.types import FrameResult, PersonPose, SkeletonPose
from livecap.skeleton import JOINTS

BLENDER_SCRIPT = Path(__file__).parent / "blender" / "dump_pose.py"


def real_bvh_files() -> list[Path]:
    files = sorted((MEDIA / "bvh").glob("*/*.bvh"))
    assert files, f"no BVH files under {MEDIA / 'bvh'}"
    return files


def offsets_from_bone_lengths(lengths) -> np.ndarray:
    """The fitter's rest offsets for a results file's bone lengths (the JSONL has lengths, not offsets)."""
    b = dict(zip(JOINTS, lengths))
    segments = {"torso": b["Spine"] / 0.25, "neck_head": b["Head"], "shoulder_half": b["LeftUpperArm"] / 0.8,
                "upper_arm": b["LeftLowerArm"], "forearm": b["LeftHand"], "hip_half": b["LeftUpperLeg"],
                "thigh": b["LeftLowerLeg"], "shin": b["LeftFoot"], "foot": b["LeftToes"]}
    return model.rest_offsets(np.array([segments[name] for name in model.SEGMENT_NAMES]))


def results_from_jsonl(frames: list[dict], times=None) -> list[FrameResult]:
    """FrameResults carrying the fitted skeletons of a real results file (times overridable)."""
    out = []
    for i, frame in enumerate(frames):
        people = []
        for p in frame["people"]:
            if "rotations" not in p:
                continue
            fit = SkeletonPose(np.array(p["joints3d"]), np.array(p["root"]), np.array(p["rotations"]),
                               np.array(p["bone_lengths"]), offsets_from_bone_lengths(p["bone_lengths"]))
            people.append(PersonPose(p["id"], p["score"], np.array(p["bbox"]), np.array(p["coco17"]),
                                     np.array(p["landmarks2d"]), np.array(p["world33"]), fit))
        time = frame["time"] if times is None else times[i]
        out.append(FrameResult(frame["frame"], time, 0.0, people))
    return out


def bvhio_positions(path: Path, frames: int) -> tuple[list[str], np.ndarray]:
    """Joint names and world positions (F x J x 3) as the third-party reader bvhio computes them."""
    import bvhio

    root = bvhio.readAsHierarchy(str(path))
    joints = [joint for joint, _, _ in root.layout()]
    positions = []
    for frame in range(frames):
        root.loadPose(frame)
        positions.append([[*joint.PositionWorld] for joint in joints])
    return [joint.Name for joint in joints], np.array(positions)


def blender_or_skip() -> str:
    """The blender executable. In CI (env CI set) it must be there; elsewhere its absence skips."""
    found = shutil.which("blender")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("blender is not installed but CI is set: .ci/run installs the Debian package")
        pytest.skip("blender is not installed (apt-get install blender); CI runs this test")
    return found


def blender_pose(path: Path, tmp_path: Path) -> dict:
    """Blender's own import of `path`: {"first_frame", "rotation_mode", "frames": [{bone: its head [x, y, z]}],
    "tails": [{bone: its tail}]} (a leaf bone's tail is its End Site)."""
    out = tmp_path / (path.stem + ".blender.json")
    done = subprocess.run([blender_or_skip(), "-b", "--factory-startup", "--python-exit-code", "1", "-P",
                           str(BLENDER_SCRIPT), "--", str(path), str(out)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(out.read_text())


def y_up_to_blender(points: np.ndarray) -> np.ndarray:
    """Blender's importer turns a Y-up, -Z-forward file into Z up: (x, y, z) -> (x, -z, y)."""
    points = np.asarray(points)
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], axis=-1)


def stream_info():
    """The stream the two_people results were recorded from (1080p, 28.05 fps, 60 degree camera)."""
    from livecap.camera import CameraIntrinsics
    from livecap.types import StreamInfo

    return StreamInfo("two_people_1080p.mp4", 1920, 1080, 28.05, CameraIntrinsics.from_fov(1920, 1080, 60),
                      "balanced", ["CPUExecutionProvider"])
