"""Skeleton fitting: each person's landmarks -> one coherent skeleton with joint angles, placed at metric depth
in camera space, with bone lengths held fixed. Pure per-frame core (no threads); numba does the numbers.

What each landmark is trusted for: its 3D (BlazePose's metric guess, made even for hidden joints) always counts,
a hidden one less, as part of a shape (about its centroid and up to scale: the network re-guesses the body's
origin and size every frame, the bones are frozen); its 2D only while it is visible and inside the image. A joint
whose landmarks are lost (not visible, or outside the image) holds its place relative to the network's guess of
it, following the guess's motion, and walks off the jump it made when lost a step per frame, which the analytic
seed follows too: it never snaps. A foot planted on the floor (livecap.pose.contact decides) is held where it was
planted until its 2D landmark leaves that spot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from livecap.camera import CameraIntrinsics
from livecap.keypoints import KeypointScheme
from livecap.models.blazepose import BLAZEPOSE33
from livecap.pose.fitting import model
from livecap.pose.fitting.seed import analytic_seed, place_root
from livecap.pose.fitting.kinematics import forward_kinematics, local_quaternions
from livecap.pose.fitting.solver import solve
from livecap.skeleton import BONE_FRAMES
from livecap.types import SkeletonPose


@dataclass
class FitSettings:
    iterations: int = 6  # per frame and start (the seed, last frame's pose)
    first_iterations: int = 20  # from the seed alone (a new person, or a cold start)
    landmark_weight: float = 1.0
    reprojection_weight: float = 3.0  # ~ a typical depth in metres: pixels/focal * depth = metres
    hidden_3d_weight: float = 0.2  # the 3D weight of a landmark the network marks as not visible (1 when visible)
    limit_weight: float = 10.0
    # priors are per radian against metres: 0.02 (= 2 cm per radian) biased synthetic poses by 2-5 cm
    temporal_weight: float = 0.02
    rest_weight: float = 0.001  # towards the analytic seed
    lost_below: float = 0.05  # a joint less visible than this is lost
    lost_step: float = 0.02  # metres per frame a lost joint closes the gap to the network's 3D guess of it
    anchor_weight: float = 10.0  # per metre: a planted foot stays within a millimetre or two
    release_distance: float = 0.08  # metres: a planted foot whose 2D landmark is this far from the spot is lifted
    planted_root_weight: float = 10.0  # temporal weight of the root's sideways and depth position while planted
    root_hold_fade: float = 0.5  # per frame, of that weight, once no foot is planted
    bone_frames: int = BONE_FRAMES  # frames whose reliability-weighted median sets the bone lengths, then frozen
    height: float | None = None  # metres; scales the estimated skeleton to this standing height


@dataclass
class FitState:
    """One person's fit between frames (it lives on the person's track): the landmark pair lengths measured so far
    and how reliable each was, the rest offsets built from them (frozen after `bone_frames` frames), the last solution
    (the next warm start) and the joints planted in camera space (joint index -> position)."""

    measured: list[np.ndarray] = field(default_factory=list)
    reliability: list[np.ndarray] = field(default_factory=list)
    offsets: np.ndarray | None = None
    frozen: bool = False
    params: np.ndarray | None = None
    relative: np.ndarray | None = None  # the last fitted joints relative to the root (where lost joints hold)
    anchors: dict[int, np.ndarray] = field(default_factory=dict)
    lost: np.ndarray = field(default_factory=lambda: np.zeros(model.NUM_JOINTS, bool))  # joints lost last frame
    guess: np.ndarray | None = None  # last frame's 3D targets, as the network guessed them (hip-centred)
    root_hold: float = 0.0  # the root's current hold (planted_root_weight while planted, fading after)


class SkeletonFitter:
    """Fits one person's skeleton per call; what carries over between frames is the FitState passed in. `scheme`:
    the body landmark model's points, which the fit reads by name (livecap.pose.fitting.model.POINTS_OF_JOINT)."""

    def __init__(self, camera: CameraIntrinsics, settings: FitSettings | None = None,
                 scheme: KeypointScheme = BLAZEPOSE33):
        self.camera = camera
        self.settings = settings or FitSettings()
        self.scheme, self.body = scheme, model.BodyPoints.of(scheme)
        self._camera_array = np.array([camera.fx, camera.fy, camera.cx, camera.cy])
        self._image_size = np.array([2.0 * camera.cx, 2.0 * camera.cy])

    def _offsets(self, state: FitState, world: np.ndarray, visibility: np.ndarray) -> np.ndarray:
        if not state.frozen:
            state.measured.append(self.body.measure_pairs(world))
            state.reliability.append(self.body.pair_reliability(visibility))
            segments = model.segments_from_pairs(np.array(state.measured), np.array(state.reliability))
            if self.settings.height:
                segments *= self.settings.height / model.standing_height(segments)
            state.offsets = model.rest_offsets(segments)
            state.frozen = len(state.measured) >= self.settings.bone_frames
        return state.offsets

    def _seen_in_image(self, landmarks2d: np.ndarray, visibility: np.ndarray) -> np.ndarray:
        """Each landmark's visibility, zero outside the image: the network only guesses points it cannot see."""
        xy = landmarks2d[:, :2]
        return visibility * ((xy >= 0) & (xy <= self._image_size)).all(axis=1)

    def fit(self, state: FitState, landmarks2d: np.ndarray, world_landmarks: np.ndarray, temporal: bool = True
            ) -> SkeletonPose:
        """landmarks2d: K x 3 (x, y, visibility) pixels; world_landmarks: K x 3 metres, hip-centred, camera axes (K:
        the scheme's points). temporal: warm-start from the state's last solution (False for a still or a person
        found again)."""
        s = self.settings
        visibility = np.clip(landmarks2d[:, 2].astype(np.float64), 0.0, 1.0)
        world = world_landmarks.astype(np.float64)
        offsets = self._offsets(state, world, visibility)
        target2d, weight2d = self.body.joint_targets(self.camera.undistort(landmarks2d[:, :2].astype(np.float64)),
                                                     self._seen_in_image(landmarks2d, visibility))
        warm = temporal and state.params is not None
        target3d, joint_visibility = self.body.joint_targets(world, visibility)
        weight3d = np.where(model.PINNED, s.hidden_3d_weight + (1 - s.hidden_3d_weight) * joint_visibility, 0.0)
        target3d -= target3d[model.J["Hips"]]
        if warm and state.relative is not None:
            self._hold_lost(state, target3d, joint_visibility < s.lost_below)
        else:
            state.lost[:] = False
            state.guess = target3d.copy()
        start = analytic_seed(target3d, weight3d, offsets, model.DOF_START, model.NUM_PARAMS, model.TOE_DIRECTION,
                              SEED_JOINTS)
        place_root(start, model.PARENTS_ARRAY, offsets, model.DOF_START, model.DOF, model.HINGE_AXES, target2d,
                   weight2d, self._camera_array, state.params[2] if state.params is not None else 3.0)
        priors = np.empty((model.NUM_PARAMS, 3))
        priors[:, 0] = s.temporal_weight if warm else 0.0
        priors[:, 1] = s.rest_weight
        priors[:, 2] = start
        if not warm:
            state.anchors.clear()
        self._release_lifted(state, target2d, weight2d)
        anchors = np.zeros((model.NUM_JOINTS, 4))
        for joint, position in state.anchors.items():
            anchors[joint] = (*position, 1.0)
        # someone standing: the legs take the landmarks' depth noise, not the root, which may still rise and sink (a
        # squat) but not slide; once the feet lift, the hold fades over a few frames rather than letting go at once
        state.root_hold = s.planted_root_weight if state.anchors else state.root_hold * s.root_hold_fade
        if warm:
            priors[[0, 2], 0] = max(priors[0, 0], state.root_hold)
        weights = np.array([s.landmark_weight, s.reprojection_weight, s.limit_weight, s.anchor_weight])
        problem = (model.PARENTS_ARRAY, offsets, model.DOF_START, model.DOF, model.HINGE_AXES, model.LOWER,
                   model.UPPER, target3d, weight3d, target2d, weight2d, self._camera_array, weights, priors, anchors)
        prev = state.params if warm else start
        params, best = solve(start, prev.copy(), *problem, s.iterations if warm else s.first_iterations)
        if warm:  # last frame's pose may explain this one better than the seed does
            tracked, tracked_cost = solve(state.params, prev, *problem, s.iterations)
            if tracked_cost < best:
                params = tracked
        params = clamp_to_limits(params)
        state.params = params
        pose = pose_from_params(params, offsets)
        state.relative = pose.joints3d.astype(np.float64) - pose.joints3d[0]
        return pose

    def _hold_lost(self, state: FitState, target3d: np.ndarray, lost: np.ndarray) -> None:
        """A lost joint starts from where it was, moves as the network's guess of it moved since the last frame, and
        walks at most lost_step per frame towards the guess: the guess's own motion is followed as it is, the jump
        it makes when the point is lost (BlazePose's visibility also falls for points that leave the frame) is
        walked, at any frame rate and however fast the body moves."""
        lost = lost & model.PINNED
        guess = target3d.copy()
        if not lost.any():  # nothing lost (most frames): only remember the guess
            state.lost[:] = False
            state.guess = guess
            return
        start = state.relative.copy()
        still_lost = lost & state.lost
        start[still_lost] += guess[still_lost] - state.guess[still_lost]
        gap = guess[lost] - start[lost]
        distance = np.maximum(np.linalg.norm(gap, axis=1, keepdims=True), 1e-9)
        target3d[lost] = start[lost] + gap * np.minimum(1.0, self.settings.lost_step / distance)
        state.lost[:] = lost
        state.guess = guess

    def _release_lifted(self, state: FitState, target2d: np.ndarray, weight2d: np.ndarray) -> None:
        """Lets go of a planted joint whose (visible) 2D landmark has moved off the planted spot."""
        fx, fy, cx, cy = self._camera_array
        for joint, (x, y, z) in list(state.anchors.items()):
            if weight2d[joint] < 0.3:
                continue  # not seen well enough to tell: it stays planted
            off = np.hypot(fx * x / z + cx - target2d[joint, 0], fy * y / z + cy - target2d[joint, 1])
            if off * z / fx > self.settings.release_distance:
                del state.anchors[joint]


def plant(state: FitState, pose: SkeletonPose, joints: dict[int, bool]) -> None:
    """Holds each joint flagged True where the pose has it (camera space) until it is released; lets the others
    go. Joints planted already keep their spot."""
    for joint, planted in joints.items():
        if not planted:
            state.anchors.pop(joint, None)
        elif joint not in state.anchors:
            state.anchors[joint] = np.asarray(pose.joints3d[joint], np.float64).copy()


SEED_JOINTS = np.array([model.J[name] for name in ("Hips", "Spine", "Chest", "Neck", "Head")] + [
    model.J[side + name] for side in ("Left", "Right")
    for name in ("UpperArm", "LowerArm", "Hand", "UpperLeg", "LowerLeg", "Foot", "Toes")])


def clamp_to_limits(params: np.ndarray) -> np.ndarray:
    """The soft limit penalty lets a solution sit a hair outside a range: return it inside."""
    return np.minimum(np.maximum(params, model.LOWER), model.UPPER)  # the root's range is unbounded


def pose_from_params(params: np.ndarray, offsets: np.ndarray) -> SkeletonPose:
    positions, world_rotations = forward_kinematics(params, model.PARENTS_ARRAY, offsets, model.DOF_START,
                                                    model.DOF, model.HINGE_AXES)
    return SkeletonPose(joints3d=positions.astype(np.float32), root=positions[0].astype(np.float32),
                        rotations=local_quaternions(world_rotations, model.PARENTS_ARRAY).astype(np.float32),
                        bone_lengths=np.sqrt((offsets * offsets).sum(axis=1)).astype(np.float32),  # = norm, faster
                        offsets=offsets.astype(np.float32))
