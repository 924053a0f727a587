"""`livecap bench --mocap`: the skeleton fit against real motion capture, where the true pose is known.

Real BVH takes are read with livecap's own reader and forward kinematics, mapped onto livecap's joints, and turned
into what BlazePose would give for them: 33 landmarks, a hip-centred metric copy in camera axes with a few cm of
noise (more on the far side), a pinhole projection with a few px of noise, visibilities, and now and then a lost
joint (low visibility, point displaced). The fit of those inputs is compared with the truth, as is the noisy metric
input itself: the fit should never be worse than what it was given.

Errors are over the joints the landmarks define (livecap.pose.fitting.model.LANDMARKS_OF_JOINT: 17 of the 21), each
the mean of its landmarks in the truth exactly as in the fit, e.g. Hips = mid-hips, Neck = mid-shoulders,
Head = mid-ears. MPJPE is after moving the hips onto the truth's; PA-MPJPE after the best similarity transform
(Procrustes with scale), per frame. Everything is seeded: two runs give the same inputs.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.spatial.transform import Rotation

from livecap.sinks.bvh.format import Bvh, world_positions
from livecap.sinks.bvh.reader import read
from livecap.camera import CameraIntrinsics
from livecap.pose.fitting import FitSettings, FitState, SkeletonFitter, model
from livecap.skeleton import CAMERA_TO_WORLD


@dataclass(frozen=True)
class Rig:
    """How one BVH skeleton maps onto BlazePose landmarks. `points` names, per landmark, the rig joint at it;
    `toe_tips` the joints whose End Site is the tip of the foot; `ear_above_head` places the ears (metres, along
    the head's up axis) above the rig's Head joint, which sits at a different height in every rig."""

    take: str  # path under the media folder's bvh/
    metres_per_unit: float  # from shared/media/MANIFEST.md
    points: dict[int, str]
    toe_tips: tuple[str, str]
    ear_above_head: float
    prefix: str = ""


def _cmu(take: str, metres_per_unit: float) -> Rig:
    """CMU conversions (cgspeed, PFNN): LeftArm is the shoulder joint, LeftUpLeg the hip joint, LeftFoot the
    ankle. The rig's Hips root sits ~9 cm above and 6 cm behind the hip joints: not a landmark."""
    return Rig(take, metres_per_unit, {11: "LeftArm", 12: "RightArm", 13: "LeftForeArm", 14: "RightForeArm",
                                       15: "LeftHand", 16: "RightHand", 23: "LeftUpLeg", 24: "RightUpLeg",
                                       25: "LeftLeg", 26: "RightLeg", 27: "LeftFoot", 28: "RightFoot", 0: "Head"},
               ("LeftToeBase", "RightToeBase"), 0.04)


CMU_UNIT = 0.0254 / 0.45  # CMU ASF length unit: inches / 0.45
RIGS = {
    "cmu_12_01_walk": _cmu("pybvh/cmu_12_01_walk.bvh", CMU_UNIT),
    "cmu_01_01_climb": _cmu("fairmotion/01_01.bvh", CMU_UNIT),
    "pfnn_rest": _cmu("fairmotion/pfnn_hierarchy.bvh", 1.0),  # a static T-pose, legs apart (the PFNN rest)
    # MocapBank: LeftShoulder is the shoulder joint (LeftCollar the clavicle), LeftHip the hip joint; no toes,
    # the ankle's End Site is the tip of the foot. Its rest has the arms down.
    "mocapbank_sit": Rig("bvh-python/test_mocapbank.bvh", 0.01,
                         {11: "LeftShoulder", 12: "RightShoulder", 13: "LeftElbow", 14: "RightElbow",
                          15: "LeftWrist", 16: "RightWrist", 23: "LeftHip", 24: "RightHip", 25: "LeftKnee",
                          26: "RightKnee", 27: "LeftAnkle", 28: "RightAnkle", 0: "Head"},
                         ("LeftAnkle", "RightAnkle"), 0.06),
    # Mixamo: names carry a "mixamorig:" prefix; LeftArm is the shoulder joint, LeftUpLeg the hip joint.
    "mixamo_idle": Rig("bvh-python/test_freebvh.bvh", 0.01,
                       {11: "LeftArm", 12: "RightArm", 13: "LeftForeArm", 14: "RightForeArm", 15: "LeftHand",
                        16: "RightHand", 23: "LeftUpLeg", 24: "RightUpLeg", 25: "LeftLeg", 26: "RightLeg",
                        27: "LeftFoot", 28: "RightFoot", 0: "Head"}, ("LeftToeBase", "RightToeBase"), 0.06,
                       "mixamorig:"),
}
ANGLES = (0, 45, 90, 135, 180)  # degrees the person is turned from facing the camera (90: right side to it)
DISTANCE = 3.5  # metres from the camera to the hips, horizontally
CAMERA_HEIGHT = 1.0  # metres above the floor, looking level
CAMERA = CameraIntrinsics.from_fov(1280, 720, 60.0)

# face points in the head's frame (x left, y up, z forward; metres from the mid-ears), BlazePose order 0..10
_FACE = np.array([(0, 0.0, 0.105), (0.018, 0.03, 0.09), (0.032, 0.03, 0.085), (0.048, 0.03, 0.075),
                  (-0.018, 0.03, 0.09), (-0.032, 0.03, 0.085), (-0.048, 0.03, 0.075), (0.075, 0, 0),
                  (-0.075, 0, 0), (0.025, -0.035, 0.09), (-0.025, -0.035, 0.09)])
# hand points from the wrist (along the hand, towards the thumb; metres): pinky, index, thumb (17/19/21)
_HAND = np.array([(0.08, -0.035), (0.09, 0.025), (0.045, 0.05)])
_LIMB_POINTS = np.r_[13:23, 25:33]  # the landmarks a pose model loses now and then


def _world_rotations(bvh: Bvh, frames: np.ndarray) -> np.ndarray:
    """Each joint's world rotation (J x F x 3 x 3): what turns its rest-pose directions into the frame's."""
    values = bvh.motion[frames]
    out = np.empty((len(bvh.joints), len(frames), 3, 3))
    for j, joint in enumerate(bvh.joints):
        order = joint.rotation_order
        local = np.tile(np.eye(3), (len(frames), 1, 1))
        if order:
            angles = np.stack([values[:, joint.first_channel + joint.channels.index(f"{a}rotation")]
                               for a in order], axis=1)
            local = Rotation.from_euler(order, angles, degrees=True).as_matrix()
        out[j] = local if joint.parent < 0 else out[joint.parent] @ local
    return out


def sampled_frames(bvh: Bvh, max_frames: int, fps: float = 30.0) -> np.ndarray:
    """About `fps` frames a second (every 4th at 120 fps), spread wider to cover the whole take in max_frames."""
    stride = max(1, round(1.0 / (bvh.frame_time * fps)), -(-bvh.frames // max_frames))
    return np.arange(0, bvh.frames, stride)[:max_frames]


@dataclass
class Take:
    landmarks: np.ndarray  # F x 33 x 3: the true BlazePose landmarks, metres, in the take's Y-up world
    fps: float  # of the sampled frames


def takes_folder(folder: str | Path) -> Path:
    """The folder the takes' paths are relative to: `folder` itself, or its bvh/ (the shared media folder)."""
    folder = Path(folder)
    return folder / "bvh" if (folder / "bvh").is_dir() else folder


def take_landmarks(rig: Rig, media: Path, max_frames: int = 150) -> Take:
    """The 33 BlazePose landmarks of a take's sampled frames. media: the folder of takes (or the one above it)."""
    bvh = read(takes_folder(media) / rig.take)
    frames = sampled_frames(bvh, max_frames)
    index = {name: i for i, name in enumerate(bvh.names)}
    tips = np.cumsum([j.end_site is not None for j in bvh.joints]) - 1 + len(bvh.joints)
    positions = world_positions(bvh, frames, end_sites=True) * rig.metres_per_unit
    rotations = _world_rotations(bvh, frames)
    rest = world_positions(Bvh(bvh.joints, 1.0, np.zeros((1, bvh.channel_count))), end_sites=True)[0]
    rest *= rig.metres_per_unit
    out = np.zeros((len(frames), 33, 3))

    def at(name):
        return index[rig.prefix + name]

    for landmark, name in rig.points.items():
        out[:, landmark] = positions[:, at(name)]
    head = rotations[at(rig.points[0])]
    ears = out[:, 0] + head[:, :, 1] * rig.ear_above_head  # the rest's up axis (+Y), turned with the head
    out[:, :11] = ears[:, None] + np.einsum("fij,kj->fki", head, _FACE)
    for side, (wrist, elbow, toe, ankle) in enumerate(((15, 13, 31, 27), (16, 14, 32, 28))):
        along = rest[at(rig.points[wrist])] - rest[at(rig.points[elbow])]  # forearm direction in the rest
        along /= np.linalg.norm(along)
        thumb = np.array([0.0, 0.0, 1.0]) - along[2] * along  # thumbs point forward in every rig's rest
        thumb /= np.linalg.norm(thumb)
        hand = rotations[at(rig.points[wrist])]
        for k, (a, t) in enumerate(_HAND):
            out[:, 17 + 2 * k + side] = out[:, wrist] + hand @ (a * along + t * thumb)
        tip_joint = at(rig.toe_tips[side])
        out[:, toe] = positions[:, tips[tip_joint]]
        rest_ankle = rest[at(rig.points[ankle])]
        heel = np.array([0.0, rest[tips[tip_joint], 1] - rest_ankle[1] + 0.01, -0.06])  # behind, on the floor
        out[:, 29 + side] = out[:, ankle] + rotations[at(rig.points[ankle])] @ heel
    step = frames[1] - frames[0] if len(frames) > 1 else 1
    return Take(out, 1.0 / (bvh.frame_time * step) if bvh.frame_time > 0 else 30.0)


def camera_view(take: Take, yaw_deg: float) -> np.ndarray:
    """The take's landmarks (F x 33 x 3, Y-up world) in camera space (x right, y down, z forward): a level camera
    CAMERA_HEIGHT above the floor follows the hips DISTANCE away, always `yaw_deg` off the person's heading
    (their facing, smoothed over ~half a second so the pelvis still sways)."""
    points = take.landmarks
    hips = points[:, [23, 24]].mean(axis=1)
    forward = np.cross(points[:, 23] - points[:, 24], [0.0, 1.0, 0.0])  # left x up = forward
    forward = gaussian_filter1d(forward, 0.5 * take.fps, axis=0, mode="nearest")
    heading = np.arctan2(forward[:, 0], forward[:, 2])
    turn = Rotation.from_euler("y", (np.radians(yaw_deg) - heading)[:, None]).as_matrix()  # person: faces +Z, then turned
    floor = np.percentile(points[:, 27:33, 1], 1)
    centred = points - hips[:, None] * np.array([1.0, 0.0, 1.0])
    world = np.einsum("fij,fkj->fki", turn, centred)
    return (world - np.array([0.0, floor + CAMERA_HEIGHT, DISTANCE])) @ CAMERA_TO_WORLD.T


def project(points: np.ndarray, camera: CameraIntrinsics = CAMERA) -> np.ndarray:
    z = np.maximum(points[..., 2], 0.05)
    return np.stack([camera.fx * points[..., 0] / z + camera.cx, camera.fy * points[..., 1] / z + camera.cy], -1)


def network_inputs(truth: np.ndarray, rng: np.random.Generator, camera: CameraIntrinsics = CAMERA
                   ) -> tuple[np.ndarray, np.ndarray]:
    """BlazePose-like (image33 F x 33 x 3: px + visibility, world33 F x 33 x 3: hip-centred metres) for true
    camera-space landmarks: metric noise 2 cm per axis, 3 cm on the far side (over 25 cm behind the hips), image
    noise 3 px (5 px far), visibility 0.8-1; 2% of the limb points lost: visibility ~0.1 and 10-25 cm off."""
    frames = truth.shape[0]
    hips = truth[:, [23, 24]].mean(axis=1, keepdims=True)
    far = np.clip((truth[..., 2] - hips[..., 2]) / 0.25, 0.0, 1.0)[..., None]
    seen = truth.copy()
    lost = np.zeros((frames, 33), bool)
    lost[:, _LIMB_POINTS] = rng.random((frames, len(_LIMB_POINTS))) < 0.02
    direction = rng.normal(size=(int(lost.sum()), 3))
    seen[lost] += direction / np.linalg.norm(direction, axis=1, keepdims=True) * rng.uniform(0.1, 0.25,
                                                                                             (len(direction), 1))
    world = seen - hips + rng.normal(size=truth.shape) * (0.02 + 0.01 * far)
    world -= world[:, [23, 24]].mean(axis=1, keepdims=True)
    image = np.empty((frames, 33, 3))
    image[..., :2] = project(seen, camera) + rng.normal(size=(frames, 33, 2)) * (3.0 + 2.0 * far)
    image[..., 2] = np.where(lost, rng.uniform(0.05, 0.15, lost.shape), rng.uniform(0.8, 1.0, lost.shape))
    return image.astype(np.float32), world.astype(np.float32)


_PINNED = model.PINNED
_HIPS = model.J["Hips"]


def joints_of(landmarks: np.ndarray) -> np.ndarray:
    """livecap's landmark-defined joints (F x 21 x 3; the unpinned ones zero) from 33 landmarks per frame."""
    return np.stack([model.BLAZEPOSE_BODY.joint_targets(frame, np.ones(33))[0] for frame in landmarks])


def similarity_aligned(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """pred (F x N x 3) moved, turned and scaled onto truth per frame (Umeyama, no reflection)."""
    mu_p, mu_t = pred.mean(1, keepdims=True), truth.mean(1, keepdims=True)
    p, t = pred - mu_p, truth - mu_t
    u, s, vt = np.linalg.svd(np.einsum("fni,fnj->fij", t, p))
    d = np.sign(np.linalg.det(u @ vt))
    s[:, 2] *= d
    u[:, :, 2] *= d[:, None]
    scale = s.sum(1) / np.maximum((p ** 2).sum((1, 2)), 1e-12)
    return scale[:, None, None] * np.einsum("fij,fnj->fni", u @ vt, p) + mu_t


def errors_mm(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: MPJPE after aligning the hips, and PA-MPJPE, over the pinned joints (mm)."""
    pred_rel = pred[:, _PINNED] - pred[:, _HIPS:_HIPS + 1]
    true_rel = truth[:, _PINNED] - truth[:, _HIPS:_HIPS + 1]
    mpjpe = np.linalg.norm(pred_rel - true_rel, axis=-1).mean(1)
    pa = np.linalg.norm(similarity_aligned(pred_rel, true_rel) - true_rel, axis=-1).mean(1)
    return mpjpe * 1000.0, pa * 1000.0


def fit_take(image33: np.ndarray, world33: np.ndarray, warm: bool, settings: FitSettings | None = None,
             camera: CameraIntrinsics = CAMERA) -> tuple[np.ndarray, float]:
    """Fitted joints (F x 21 x 3, camera space) and milliseconds per fit. Cold fits start every frame from
    scratch (temporal=False, as after a lost track) but keep the bone lengths learned, as the pipeline does."""
    fitter = SkeletonFitter(camera, settings)
    out = np.empty((len(image33), model.NUM_JOINTS, 3))
    person = FitState()
    started = time.perf_counter()
    for f in range(len(image33)):
        out[f] = fitter.fit(person, image33[f], world33[f], temporal=warm).joints3d
    return out, (time.perf_counter() - started) * 1000.0 / max(len(image33), 1)


@dataclass
class MocapRow:
    take: str
    yaw: int
    source: str  # "network" (the noisy metric input itself), "cold" or "warm" (the fit)
    frames: int
    mpjpe_mm: float
    pa_mpjpe_mm: float
    worst_frame_pa_mm: float
    root_mm: float = float("nan")  # fitted hips vs true hips in camera space (depth mostly)
    fit_ms: float = float("nan")


def bench_mocap(media: str | Path, takes: tuple[str, ...] | None = None, angles: tuple[int, ...] = ANGLES,
                max_frames: int = 150, settings: FitSettings | None = None, seed: int = 0) -> list[MocapRow]:
    """Every take x angle: the network input's errors, then the cold and warm fits'."""
    rows = []
    for name in takes or tuple(RIGS):
        take = take_landmarks(RIGS[name], Path(media), max_frames)
        for yaw in angles:
            truth = camera_view(take, yaw)
            rng = np.random.default_rng([seed, zlib.crc32(name.encode()), yaw])
            image33, world33 = network_inputs(truth, rng)
            if not rows:  # compile (or load) the solver before anything is timed
                fit_take(image33[:2], world33[:2], True, settings)
            true_joints = joints_of(truth)
            mpjpe, pa = errors_mm(joints_of(world33.astype(np.float64)), true_joints)
            rows.append(MocapRow(name, yaw, "network", len(truth), mpjpe.mean(), pa.mean(), pa.max()))
            for source in ("cold", "warm"):
                fitted, ms = fit_take(image33, world33, source == "warm", settings)
                mpjpe, pa = errors_mm(fitted, true_joints)
                root = np.linalg.norm(fitted[:, _HIPS] - true_joints[:, _HIPS], axis=-1).mean() * 1000.0
                rows.append(MocapRow(name, yaw, source, len(truth), mpjpe.mean(), pa.mean(), pa.max(), root, ms))
    return rows


def format_mocap(rows: list[MocapRow]) -> str:
    lines = ["take | yaw | source | frames | MPJPE mm | PA-MPJPE mm | worst frame PA mm | root mm | fit ms/person"]
    for r in rows:
        lines.append(f"{r.take} | {r.yaw} | {r.source} | {r.frames} | {r.mpjpe_mm:.1f} | {r.pa_mpjpe_mm:.1f} | "
                     f"{r.worst_frame_pa_mm:.1f} | {r.root_mm:.0f} | {r.fit_ms:.2f}")
    for source in ("network", "cold", "warm"):
        mine = [r for r in rows if r.source == source]
        if mine:
            lines.append(f"all | - | {source} | {sum(r.frames for r in mine)} | "
                         f"{np.mean([r.mpjpe_mm for r in mine]):.1f} | {np.mean([r.pa_mpjpe_mm for r in mine]):.1f}"
                         f" | {max(r.worst_frame_pa_mm for r in mine):.1f} | "
                         f"{np.mean([r.root_mm for r in mine]):.0f} | {np.mean([r.fit_ms for r in mine]):.2f}")
    return "\n".join(lines)


def main(media: str | Path, max_frames: int = 150) -> list[MocapRow]:
    """What `livecap bench --mocap DIR` runs: every known take found in DIR (a folder of BVH takes laid out as
    RIGS names them, e.g. the shared media's bvh/), the whole table printed, and its rows returned."""
    folder = takes_folder(media)
    found = tuple(name for name, rig in RIGS.items() if (folder / rig.take).is_file())
    if not found:
        raise SystemExit(f"livecap bench --mocap: no known BVH take in {folder} (looked for "
                         f"{', '.join(rig.take for rig in RIGS.values())}): point it at the shared media's bvh folder")
    rows = bench_mocap(media, takes=found, max_frames=max_frames)
    print(format_mocap(rows))
    return rows
