"""Skeleton fitting: each person's landmarks -> one coherent skeleton with joint angles, placed at metric depth
in camera space, with bone lengths held fixed. Pure per-frame core (no threads); numba does the numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from livecap.camera import CameraIntrinsics
from livecap.pose.fitting import model
from livecap.pose.fitting.seed import analytic_seed, place_root
from livecap.pose.fitting.solver import forward_kinematics, local_quaternions, solve
from livecap.skeleton import BONE_FRAMES
from livecap.types import SkeletonPose


@dataclass
class FitSettings:
    iterations: int = 6  # per frame and start (the seed, last frame's pose)
    first_iterations: int = 20  # from the seed alone (a new person, or a cold start)
    landmark_weight: float = 1.0
    reprojection_weight: float = 3.0  # ~ a typical depth in metres: pixels/focal * depth = metres
    limit_weight: float = 10.0
    # priors are per radian against metres: 0.02 (= 2 cm per radian) biased synthetic poses by 2-5 cm
    temporal_weight: float = 0.02
    rest_weight: float = 0.001
    bone_frames: int = BONE_FRAMES  # frames whose median sets the bone lengths, then frozen
    height: float | None = None  # metres; scales the estimated skeleton to this standing height


@dataclass
class FitState:
    """One person's fit between frames (it lives on the person's track): the segment lengths measured so far, the
    rest offsets built from them (frozen after `bone_frames` frames) and the last solution, the next warm start."""

    measured: list[np.ndarray] = field(default_factory=list)
    offsets: np.ndarray | None = None
    frozen: bool = False
    params: np.ndarray | None = None


class SkeletonFitter:
    """Fits one person's skeleton per call; what carries over between frames is the FitState passed in."""

    def __init__(self, camera: CameraIntrinsics, settings: FitSettings | None = None):
        self.camera = camera
        self.settings = settings or FitSettings()
        self._camera_array = np.array([camera.fx, camera.fy, camera.cx, camera.cy])

    def _offsets(self, state: FitState, world33: np.ndarray) -> np.ndarray:
        if not state.frozen:
            state.measured.append(model.measure_segments(world33))
            segments = np.median(np.array(state.measured), axis=0)
            if self.settings.height:
                segments *= self.settings.height / model.standing_height(segments)
            state.offsets = model.rest_offsets(segments)
            state.frozen = len(state.measured) >= self.settings.bone_frames
        return state.offsets

    def fit(self, state: FitState, landmarks2d: np.ndarray, world33: np.ndarray, temporal: bool = True
            ) -> SkeletonPose:
        """landmarks2d: 33 x 3 (x, y, visibility) pixels; world33: 33 x 3 metres, hip-centred, camera axes.
        temporal: warm-start from the state's last solution (False for a still or a person found again)."""
        offsets = self._offsets(state, world33)
        visibility = np.clip(landmarks2d[:, 2].astype(np.float64), 0.0, 1.0)
        target3d, weight3d = model.joint_targets(world33.astype(np.float64), visibility)
        target3d -= target3d[model.J["Hips"]]
        target2d, weight2d = model.joint_targets(self.camera.undistort(landmarks2d[:, :2].astype(np.float64)),
                                                 visibility)
        s = self.settings
        warm = temporal and state.params is not None
        weights = np.array([s.landmark_weight, s.reprojection_weight, s.limit_weight,
                            s.temporal_weight if warm else 0.0, s.rest_weight])
        problem = (model.PARENTS_ARRAY, offsets, model.DOF_START, model.DOF, model.HINGE_AXES, model.LOWER,
                   model.UPPER, target3d, weight3d, target2d, weight2d, self._camera_array, weights)
        start = analytic_seed(target3d, weight3d, offsets, model.DOF_START, model.NUM_PARAMS, model.TOE_DIRECTION,
                              SEED_JOINTS)
        place_root(start, model.PARENTS_ARRAY, offsets, model.DOF_START, model.DOF, model.HINGE_AXES, target2d,
                   weight2d, self._camera_array, state.params[2] if state.params is not None else 3.0)
        prev = state.params if warm else start
        params, best = solve(start, prev.copy(), *problem, s.iterations if warm else s.first_iterations)
        if warm:  # last frame's pose may explain this one better than the seed does
            tracked, tracked_cost = solve(state.params, prev, *problem, s.iterations)
            if tracked_cost < best:
                params = tracked
        params = clamp_to_limits(params)
        state.params = params
        return pose_from_params(params, offsets)


SEED_JOINTS = np.array([model.J[name] for name in ("Hips", "Spine", "Chest", "Neck", "Head")] + [
    model.J[side + name] for side in ("Left", "Right")
    for name in ("UpperArm", "LowerArm", "Hand", "UpperLeg", "LowerLeg", "Foot", "Toes")])


def clamp_to_limits(params: np.ndarray) -> np.ndarray:
    """The soft limit penalty lets a solution sit a hair outside a range: return it inside."""
    out = params.copy()
    out[6:] = np.clip(out[6:], model.LOWER[6:], model.UPPER[6:])
    return out


def pose_from_params(params: np.ndarray, offsets: np.ndarray) -> SkeletonPose:
    positions, world_rotations = forward_kinematics(params, model.PARENTS_ARRAY, offsets, model.DOF_START,
                                                    model.DOF, model.HINGE_AXES)
    return SkeletonPose(joints3d=positions.astype(np.float32), root=positions[0].astype(np.float32),
                        rotations=local_quaternions(world_rotations, model.PARENTS_ARRAY).astype(np.float32),
                        bone_lengths=np.linalg.norm(offsets, axis=1).astype(np.float32),
                        offsets=offsets.astype(np.float32))
