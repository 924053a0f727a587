"""Real-video agreement: how closely the fitted skeleton follows BlazePose's own metric landmarks, where no ground
truth exists (livecap.bench.mocap has real motion capture). The fit's inputs are recorded from the pipeline or read
back from a JSONL results file, refitted (warm while a person is seen frame after frame, cold on stills), and the
fitted joints compared with the landmarks on 13 body points, similarity-aligned per person-frame (distances in mm).
The agreement figure counts every point; the points BlazePose marks visible are also reported on their own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from livecap.bench.mocap import similarity_aligned
from livecap.camera import CameraIntrinsics
from livecap.pose.fitting import FitSettings, FitState, SkeletonFitter, model

# the 13 body points of real-video agreement: livecap joint -> the BlazePose landmarks it is the mean of
BODY13 = ("Head", "LeftUpperArm", "RightUpperArm", "LeftLowerArm", "RightLowerArm", "LeftHand", "RightHand",
          "LeftUpperLeg", "RightUpperLeg", "LeftLowerLeg", "RightLowerLeg", "LeftFoot", "RightFoot")
_BODY13_JOINTS = [model.J[name] for name in BODY13]


@dataclass
class VideoInputs:
    """What the fit was given on a real video, person-frame by person-frame, in order."""

    camera: CameraIntrinsics
    frames: list[int]
    ids: list[int]
    image33: list[np.ndarray]
    world33: list[np.ndarray]
    stills: bool = False  # every frame on its own (`--stills`): each person fitted cold, bones measured anew

    @classmethod
    def from_results(cls, header: dict, frames: list[dict], stills: bool = False) -> "VideoInputs":
        """The fit's inputs read back from a JSONL results file (its header and frame records); people filled in
        between seen frames of a refined take (`interpolated`) were given no inputs."""
        c = header["camera"]
        out = cls(CameraIntrinsics(c["fx"], c["fy"], c["cx"], c["cy"]), [], [], [], [], stills)
        for frame in frames:
            for person in (p for p in frame["people"] if not p.get("interpolated")):
                out.frames.append(frame["frame"])
                out.ids.append(person["id"])
                out.image33.append(np.array(person["landmarks2d"], np.float32))
                out.world33.append(np.array(person["world33"], np.float32))
        return out


@dataclass
class Agreement:
    """A refit of recorded inputs against BlazePose's own metric landmarks, on the 13 body points (BODY13)."""

    fitted: np.ndarray  # person-frames x 13 x 3: the fitted joints, similarity-aligned onto `seen`
    seen: np.ndarray  # person-frames x 13 x 3: the landmarks' joints (metres, hip-centred)
    distances_mm: np.ndarray  # person-frames x 13
    fit_ms: float  # per person-frame
    joints: np.ndarray  # person-frames x 21 x 3: every fitted joint, camera space
    visibility: np.ndarray  # person-frames x 13: BlazePose's visibility of each point (its landmarks')

    def percentiles(self) -> tuple[float, float]:
        """p50 and p95 distance over every point: the agreement figure."""
        return float(np.percentile(self.distances_mm, 50)), float(np.percentile(self.distances_mm, 95))

    def visible_percentiles(self, threshold: float = 0.5) -> tuple[float, float]:
        """p50 and p95 distance over the points BlazePose marks visible (>= threshold) only, the alignment as for
        every point: how the fit follows what the network sees, apart from its guesses of hidden joints."""
        seen = self.distances_mm[self.visibility >= threshold]
        return float(np.percentile(seen, 50)), float(np.percentile(seen, 95))


def video_agreement(inputs: VideoInputs, settings: FitSettings | None = None,
                    bones: dict[int, np.ndarray] | None = None) -> Agreement:
    """Refits recorded inputs (warm while a person is seen frame after frame, cold on stills) and compares the
    fitted joints with BlazePose's own metric landmarks, similarity-aligned per person-frame. bones: rest offsets
    per person id, frozen from their first frame (else each person's are measured as the pipeline does)."""
    fitter = SkeletonFitter(inputs.camera, settings)
    last_seen: dict[int, int] = {}
    people: dict[int, FitState] = {}
    joints = _BODY13_JOINTS
    fitted, seen, visible = [], [], []  # all joints, the 13 landmark points and their visibility
    started = time.perf_counter()
    for frame, pid, image, world in zip(inputs.frames, inputs.ids, inputs.image33, inputs.world33):
        warm = last_seen.get(pid) == frame - 1 and not inputs.stills
        last_seen[pid] = frame
        state = FitState() if inputs.stills else people.setdefault(pid, FitState())
        if bones is not None and not state.frozen:
            state.offsets, state.frozen = bones[pid], True
        fitted.append(fitter.fit(state, image, world, temporal=warm).joints3d)
        seen.append(model.BLAZEPOSE_BODY.joint_targets(np.asarray(world, np.float64), np.ones(33))[0][joints])
        visible.append(points_visibility(image))
    ms = (time.perf_counter() - started) * 1000.0 / max(len(fitted), 1)
    seen_array, all_joints = np.array(seen).reshape(-1, len(joints), 3), np.array(fitted, np.float64)
    aligned = similarity_aligned(all_joints.reshape(-1, model.NUM_JOINTS, 3)[:, joints], seen_array)
    return Agreement(aligned, seen_array, np.linalg.norm(aligned - seen_array, axis=-1) * 1000.0, ms, all_joints,
                     np.array(visible).reshape(-1, len(joints)))


def points_visibility(landmarks2d: np.ndarray) -> np.ndarray:
    """The visibility of each of the 13 body points (BODY13): the least of its landmarks'."""
    visibility = np.clip(np.asarray(landmarks2d, np.float64)[:, 2], 0.0, 1.0)
    return model.BLAZEPOSE_BODY.joint_targets(np.zeros((33, 1)), visibility)[1][_BODY13_JOINTS]
