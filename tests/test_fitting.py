"""Skeleton fitting: forward kinematics and the fit agree, and fits of real video are coherent skeletons."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from conftest import RESULTS
from livecap.camera import CameraIntrinsics
from livecap.pose.fitting import FitSettings, FitState, SkeletonFitter, model
from livecap.pose.fitting.kinematics import forward_kinematics

CAMERA = CameraIntrinsics.from_fov(1280, 720)
SEGMENTS = np.array([0.11, 0.19, 0.52, 0.24, 0.29, 0.25, 0.44, 0.42, 0.17])  # model.SEGMENT_NAMES order


def synthetic_landmarks(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 33 landmarks a perfect pose model would give for a skeleton pose (only the pinned ones matter)."""
    positions, _ = forward_kinematics(params, model.PARENTS_ARRAY, model.rest_offsets(SEGMENTS), model.DOF_START,
                                      model.DOF, model.HINGE_AXES)
    world = np.tile(positions[model.J["Hips"]], (33, 1))  # unpinned landmarks: anywhere in front
    for name, indices in model.LANDMARKS_OF_JOINT.items():
        if len(indices) == 1:
            world[indices[0]] = positions[model.J[name]]
    world[[7, 8]] = positions[model.J["Head"]]
    image = np.ones((33, 3))
    image[:, 0] = CAMERA.fx * world[:, 0] / world[:, 2] + CAMERA.cx
    image[:, 1] = CAMERA.fy * world[:, 1] / world[:, 2] + CAMERA.cy
    world -= positions[model.J["Hips"]]
    return image.astype(np.float32), world.astype(np.float32)


def random_pose(rng: np.random.Generator) -> np.ndarray:
    params = np.zeros(model.NUM_PARAMS)
    params[:3] = (rng.uniform(-0.5, 0.5), rng.uniform(-0.2, 0.2), rng.uniform(2.5, 5.0))
    facing_camera = Rotation.from_euler("x", 180, degrees=True)
    params[3:6] = (Rotation.from_euler("y", rng.uniform(-50, 50), degrees=True) * facing_camera).as_rotvec()
    finite = np.isfinite(model.LOWER) & np.isfinite(model.UPPER)
    middle = (model.LOWER[finite] + model.UPPER[finite]) / 2
    half = (model.UPPER[finite] - model.LOWER[finite]) / 2
    params[finite] = middle + rng.uniform(-0.5, 0.5, finite.sum()) * half
    for limb in ("LeftLowerArm", "RightLowerArm", "LeftLowerLeg", "RightLowerLeg"):
        params[model.DOF_START[model.J[limb]]] = rng.uniform(0.5, 1.6)  # bent: upper-limb twist is observable
    for foot in ("LeftFoot", "RightFoot"):  # a foot's twist about its own axis moves no landmark
        params[model.DOF_START[model.J[foot]]: model.DOF_START[model.J[foot]] + 3] = 0
    return params


def angle_between(q1: np.ndarray, q2: np.ndarray) -> float:
    return float(np.degrees((Rotation.from_quat(q1).inv() * Rotation.from_quat(q2)).magnitude()))


@pytest.mark.parametrize("seed", range(5))
def test_fit_recovers_poses_made_by_forward_kinematics(seed):
    rng = np.random.default_rng(seed)
    truth = random_pose(rng)
    start = np.zeros(model.NUM_PARAMS)
    start[:6] = truth[:6]
    fitter = SkeletonFitter(CAMERA, FitSettings(iterations=15, bone_frames=1))
    person = FitState()
    fitter.fit(person, *synthetic_landmarks(start))  # a T-pose first frame sets the bone lengths exactly
    for step in np.linspace(0, 1, 20)[1:]:  # the person moves into the pose, then holds it
        pose = fitter.fit(person, *synthetic_landmarks(start + step * (truth - start)))
    for _ in range(3):
        pose = fitter.fit(person, *synthetic_landmarks(truth))
    true_positions, true_rotations = forward_kinematics(truth, model.PARENTS_ARRAY, model.rest_offsets(SEGMENTS),
                                                        model.DOF_START, model.DOF, model.HINGE_AXES)
    _, pinned = model.BLAZEPOSE_BODY.joint_targets(np.zeros((33, 3)), np.ones(33))
    # joints the landmarks pin; how a bend splits between Spine and Chest is not observable from landmarks
    assert np.abs(pose.joints3d - true_positions)[pinned > 0].max() < 0.005  # metres
    # the hip line is pinned by the two hip landmarks (pelvis tilt about it is not: the spine absorbs it)
    fitted_hip_line = Rotation.from_quat(pose.rotations[model.J["Hips"]]).as_matrix()[:, 0]
    assert np.degrees(np.arccos(np.clip(fitted_hip_line @ true_rotations[0][:, 0], -1, 1))) < 3
    # Limb orientations are recovered to a fraction of a degree (measured: at most 0.2). Local angles of the upper
    # arms and legs can differ from the truth by a few degrees more, by exactly the unobservable pelvis tilt and
    # spine split above them: those are compared in the world, the hinges (elbows, knees) locally.
    fitted_world = world_rotations(pose.rotations)
    for limb in ("LeftUpperArm", "LeftLowerArm", "RightUpperArm", "RightLowerArm",
                 "LeftUpperLeg", "LeftLowerLeg", "RightUpperLeg", "RightLowerLeg"):
        j = model.J[limb]
        assert angle_between(fitted_world[j].as_quat(), Rotation.from_matrix(true_rotations[j]).as_quat()) < 1, limb
    for hinge in ("LeftLowerArm", "RightLowerArm", "LeftLowerLeg", "RightLowerLeg"):
        j, parent = model.J[hinge], model.PARENTS_ARRAY[model.J[hinge]]
        true_local = Rotation.from_matrix(true_rotations[parent].T @ true_rotations[j]).as_quat()
        assert angle_between(pose.rotations[j], true_local) < 1, hinge


def world_rotations(local_quaternions: np.ndarray) -> list[Rotation]:
    out: list[Rotation] = []
    for j, parent in enumerate(model.PARENTS_ARRAY):
        local = Rotation.from_quat(local_quaternions[j])
        out.append(local if parent < 0 else out[parent] * local)
    return out


@pytest.mark.parametrize("made", RESULTS)
def test_fitted_video_is_a_coherent_skeleton(made, request):
    header, frames = request.getfixturevalue(RESULTS[made][0])
    assert header["skeleton"]["joints"][0] == "Hips"
    bones: dict[int, list] = {}
    distances = []
    for frame in frames:
        for person in frame["people"]:
            joints, world = np.array(person["joints3d"]), np.array(person["world33"])
            targets, weights = model.BLAZEPOSE_BODY.joint_targets(world, np.ones(33))
            relative = joints - joints[0]
            pinned = weights > 0
            distances += list(np.linalg.norm(relative[pinned] - (targets[pinned] - targets[0]), axis=1))
            assert np.allclose(person["root"], joints[0], atol=1e-3)
            assert np.allclose(np.linalg.norm(person["rotations"], axis=1), 1.0, atol=1e-3)
            bones.setdefault(person["id"], []).append(person["bone_lengths"])
    # measured: mean 5.7 cm, 95th percentile 24 cm from the pose model's metric landmarks (wrists and ankles
    # during the two people's embrace, where the 2D and 3D landmarks disagree)
    assert np.mean(distances) < 0.07 and np.percentile(distances, 95) < 0.30
    for lengths in bones.values():
        after_warmup = np.array(lengths[FitSettings().bone_frames:])
        assert np.ptp(after_warmup, axis=0).max() == 0.0  # frozen: limbs never stretch


def test_a_segment_never_seen_gets_its_share_of_the_height_the_seen_ones_give():
    """A webcam at a desk: legs and hips never in the picture. Their bones come from body proportions (Winter's
    shares of the standing height) scaled to what the seen segments say, not from the network's guesses of them."""
    truth = 1.75 * model.HEIGHT_SHARE
    frames = 30
    lengths = np.full((frames, model._PAIRS_OF_SEGMENT.shape[1]), 0.04)  # the network's guesses: 4 cm bones
    reliability = np.zeros_like(lengths)
    for s, name in enumerate(model.SEGMENT_NAMES):
        columns = np.flatnonzero(model._PAIRS_OF_SEGMENT[s])
        if name in ("shoulder_half", "neck_head", "upper_arm", "forearm"):
            lengths[:, columns] = truth[s] / model._SEGMENT_SCALE[s]
            reliability[:, columns] = 0.95
        else:
            reliability[:, columns] = 0.05
    segments = model.segments_from_pairs(lengths, reliability)
    assert segments == pytest.approx(truth, rel=1e-6)
    assert model.standing_height(segments) == pytest.approx(1.75, abs=0.05)
    reliability[:] = 0.95  # all seen: the measurement stands, whatever the proportions say
    assert model.segments_from_pairs(lengths, reliability)[model.SEGMENT_NAMES.index("thigh")] == pytest.approx(0.04)


@pytest.mark.parametrize("made", RESULTS)
def test_camera_space_depth_agrees_with_size_in_the_image(made, request):
    """A pinhole camera sees a body of height H at depth z as f * H / z pixels tall."""
    header, frames = request.getfixturevalue(RESULTS[made][0])
    focal = header["camera"]["fy"]
    for frame in frames:
        for person in frame["people"]:
            joints = np.array(person["joints3d"])
            head, ankles = model.J["Head"], [model.J["LeftFoot"], model.J["RightFoot"]]
            metric = np.linalg.norm(joints[head] - joints[ankles].mean(axis=0))
            pixels = np.linalg.norm(focal * joints[head, :2] / joints[head, 2]
                                    - focal * joints[ankles, :2].mean(0) / joints[ankles, 2].mean())
            landmarks = np.array(person["landmarks2d"])
            seen = np.linalg.norm(landmarks[[7, 8], :2].mean(0) - landmarks[[27, 28], :2].mean(0))
            assert 2.0 < person["root"][2] < 8.0
            assert abs(pixels - seen) / seen < 0.15, (frame["frame"], person["id"], pixels, seen)
            assert metric > 1.0


def test_published_pose_rebuilds_its_joints_by_the_documented_forward_kinematics():
    """Sinks (BVH, OSC) rebuild positions from offsets + local rotations + root: that must give joints3d."""
    from livecap import skeleton
    from livecap.pose.fitting import pose_from_params

    pose = pose_from_params(random_pose(np.random.default_rng(3)), model.rest_offsets(SEGMENTS))
    rebuilt = skeleton.forward_kinematics(pose.offsets, pose.rotations, pose.root)
    assert np.abs(rebuilt - pose.joints3d).max() < 1e-5
    world_rotations, world_root = skeleton.to_world(pose.rotations, pose.root)
    in_world = skeleton.forward_kinematics(pose.offsets, world_rotations, world_root)
    assert np.abs(in_world - pose.joints3d @ skeleton.CAMERA_TO_WORLD.T).max() < 1e-5


def test_a_person_facing_the_camera_faces_plus_z_in_world_space():
    from livecap import skeleton

    facing_camera = Rotation.from_euler("x", 180, degrees=True).as_quat()
    rotations = np.tile([0, 0, 0, 1.0], (len(skeleton.JOINTS), 1))
    rotations[0] = facing_camera
    world_rotations, _ = skeleton.to_world(rotations, np.zeros(3))
    assert angle_between(world_rotations[0], [0, 0, 0, 1]) < 1e-6


@pytest.mark.parametrize("made", RESULTS)
def test_published_joint_angles_never_leave_their_anatomical_ranges(made, request):
    """The rotations in the results, read back as the fit's parameters, lie within every joint's limits: live, and
    refined, where planted feet are held by bending the legs after the fit (livecap.refine.feet; unlimited, it
    turned a foot up to 7 degrees past its range)."""
    checked = 0
    for _, frames in map(request.getfixturevalue, RESULTS[made]):
        for frame in frames:
            for person in frame["people"]:
                rotvecs = Rotation.from_quat(person["rotations"]).as_rotvec()
                for j, count in enumerate(model.DOF):
                    start = model.DOF_START[j]
                    if count == 3:
                        values = rotvecs[j]
                    elif count == 1:
                        values = [rotvecs[j] @ model.HINGE_AXES[j]]
                    else:
                        continue
                    lower, upper = model.LOWER[start:start + count], model.UPPER[start:start + count]
                    assert np.all(values >= lower - 1e-3) and np.all(values <= upper + 1e-3), model.JOINTS[j]
                    checked += 1
    assert checked > 10000


def refit_agreement_mm(results) -> tuple[float, float, float, float]:
    """The fit's inputs read back from a results file, refitted (warm while a person is seen frame after frame)
    and compared with BlazePose's own metric landmarks on 13 body points, similarity-aligned per person-frame
    (livecap.bench.agreement.video_agreement): p50 and p95 distance in mm over every point, then over the points
    BlazePose marks visible (>= 0.5)."""
    from livecap.bench.agreement import VideoInputs, video_agreement

    agreement = video_agreement(VideoInputs.from_results(*results))
    return (*agreement.percentiles(), *agreement.visible_percentiles())


def test_fitted_joints_agree_with_the_networks_own_3d_on_real_video(two_people_results, vtest_results):
    """The skeleton (rigid bones, joint limits, 2D and 3D at once) stays close to BlazePose's metric landmarks.
    Measured: vtest p50 15.6, p95 47.0 mm; two_people p50 16.8, p95 100.2 (before the 3D was compared as a shape
    about its centroid and up to scale, and lost joints followed their guess's motion: 17.8 / 51.0 and 17.2 / 101).
    Most of what is left is BlazePose's own bones stretching from frame to frame (cv 7-14%; two_people's person
    behind has shoulders and hips 2 cm wide in the embrace): refitted with each frame's own bones (a still each),
    the same inputs give vtest 6.2 / 31.6, two_people 8.9 / 43.7 (tools/eval_fit.py report --alone). With issue
    13's recall work vtest's tracked people include more small, far pedestrians: p50 15.5, p95 48.1-50.6 (from run
    to run). Over the points BlazePose marks visible only: vtest 14.8 / 41.8, two_people 14.8 / 90.1. Bones frozen
    from each person's whole clip (known in advance, what no estimate made as the clip plays can beat) give only
    vtest 13.7 / 46.2 and two_people 14.5 / 90.9 (tools/eval_fit.py report --clip-bones): the rest is the frames
    whose landmark bones differ from any fixed skeleton's (the man behind in the embrace). tools/eval_floor.py
    gives the floor of any skeleton with frozen bones (free bone directions, no limits): p95 vtest 40.4 and
    two_people 80.6 with the bones livecap froze, 34.6 and 51.4 with the best bones in hindsight. Since detected
    people whose shoulders MoveNet is unsure of get crops aligned hips -> head, vtest's tracked people include a few
    more bent or turned pedestrians: p50 15.6, p95 51.9, visible 14.9 / 45.1."""
    p50, p95, visible_p50, visible_p95 = refit_agreement_mm(vtest_results)
    assert p50 <= 17.0 and p95 <= 54.0 and visible_p50 <= 16.5 and visible_p95 <= 47.0, (p50, p95, visible_p50,
                                                                                         visible_p95)
    p50, p95, visible_p50, visible_p95 = refit_agreement_mm(two_people_results)
    assert p50 <= 18.0 and p95 <= 103.0 and visible_p50 <= 16.5 and visible_p95 <= 96.0, (p50, p95, visible_p50,
                                                                                          visible_p95)


def dev_still_images() -> list:
    from conftest import media

    return (sorted(media("images/crowdpose").glob("*.jpg")) + sorted(media("images/ochuman").glob("*.jpg"))
            + sorted(media("images/posetrack18/images/val").glob("*/*.jpg")))


def test_fitted_joints_agree_with_the_networks_own_3d_on_dev_stills():
    """Every dev image (crowdpose, ochuman, the first frame of each posetrack18 sequence) through the pipeline as a
    still, with the camera of its own size; each person fitted cold, bones measured from that image alone.
    Measured over the 19 people: p50 15.2, p95 47.6 mm (14.9 / 52.9 before the 3D was compared up to scale); over
    the points BlazePose marks visible (>= 0.5) 14.4 / 47.0. What
    is left is mostly where the 2D landmarks disagree with the 3D ones (ochuman's close-up legs: 141 mm at one foot);
    without the 2D term the same inputs give 7.3 / 39.4. Since detected people whose shoulders MoveNet is unsure of
    get crops aligned hips -> head, a 20th person is found: posetrack18's man lying on his side, seen from behind,
    his legs hidden (BlazePose's visibility 0.1-0.4 there); his fit is a mean 49 mm from his landmarks, and the 20
    people give p50 15.7, p95 59.2 (15.1 / 47.7 without him); visible points 14.2 / 47.1. Segments a still never
    shows well (mean squared visibility under 0.1) then took their share of the height the seen ones give instead of
    BlazePose's guesses (three people's hidden legs or arms, one 170 mm from the guess at a knee): 17.1 / 60.4."""
    import cv2

    from livecap.bench.agreement import VideoInputs, video_agreement
    from livecap.pose.pipeline import PipelineModels, build_pipeline
    from livecap.settings import PipelineSettings
    from livecap.types import Frame

    models = PipelineModels.load(PipelineSettings())
    distances, visible = [], []
    for path in dev_still_images():
        image = cv2.imread(str(path))
        pipeline = build_pipeline(PipelineSettings(), image.shape[1], image.shape[0], stills=True, models=models)
        people = pipeline.process(Frame(0, 0.0, image, 0.0)).people
        inputs = VideoInputs(pipeline.camera, [0] * len(people), [p.id for p in people],
                             [p.landmarks2d for p in people], [p.world33 for p in people], stills=True)
        agreement = video_agreement(inputs)
        distances.append(agreement.distances_mm)
        visible.append(agreement.distances_mm[agreement.visibility >= 0.5])
    everything = np.concatenate(distances)
    assert len(everything) >= 17, len(everything)
    p50, p95 = np.percentile(everything, 50), np.percentile(everything, 95)
    assert p50 <= 18.0 and p95 <= 62.0, (p50, p95)
    p50, p95 = np.percentile(np.concatenate(visible), 50), np.percentile(np.concatenate(visible), 95)
    assert p50 <= 16.0 and p95 <= 50.0, (p50, p95)


# Motion-capture ground truth (livecap.bench.mocap): sitting and crouching (MocapBank), climbing and crouching
# (CMU 01_01), seen from the front and from the side, fitted cold (each frame on its own) and warm (tracked).
# Measured: PA-MPJPE 19-24 mm mean, worst frame 27-43 mm; the noisy metric input itself is at 30-34 mm. A solve cut
# to 1 warm / 3 cold iterations, a hip that cannot flex past 60 degrees, or no joint limits all break the bounds.
MOCAP_CASES = [(take, yaw) for take in ("mocapbank_sit", "cmu_01_01_climb") for yaw in (0, 90)]


def mocap_errors(take: str, yaw: int, settings: FitSettings | None = None) -> dict[str, tuple[float, float]]:
    from conftest import MEDIA, media
    from livecap.bench import mocap as bench_mocap

    media("bvh/" + bench_mocap.RIGS[take].take)
    rows = bench_mocap.bench_mocap(MEDIA, takes=(take,), angles=(yaw,), max_frames=60, settings=settings)
    return {row.source: (row.pa_mpjpe_mm, row.worst_frame_pa_mm) for row in rows}


def mocap_bounds_broken(errors: dict[str, tuple[float, float]]) -> list[str]:
    """The bounds a fit of one take and angle breaks: never worse than its input on average (and warm <= 30,
    cold <= 40 mm), no frame fallen into a wrong local minimum (worst < 60 mm)."""
    network_mean, _ = errors["network"]
    cold_mean, cold_worst = errors["cold"]
    warm_mean, warm_worst = errors["warm"]
    broken = []
    if warm_mean > min(30.0, network_mean) or cold_mean > min(40.0, network_mean):
        broken.append("mean")
    if cold_worst >= 60.0 or warm_worst >= 60.0:
        broken.append("worst frame")
    return broken


@pytest.mark.parametrize("take,yaw", MOCAP_CASES)
def test_fits_of_real_motion_capture_are_never_worse_than_their_input(take, yaw):
    errors = mocap_errors(take, yaw)
    assert not mocap_bounds_broken(errors), errors


@pytest.mark.parametrize("broken", ["few_iterations", "tight_hip", "no_limits"])
def test_the_motion_capture_bounds_catch_a_weakened_fit(broken, monkeypatch):
    settings = FitSettings()
    if broken == "few_iterations":
        settings = FitSettings(iterations=1, first_iterations=3)
    elif broken == "no_limits":
        settings = FitSettings(limit_weight=0.0)
    else:
        lower = model.LOWER.copy()
        for leg in ("LeftUpperLeg", "RightUpperLeg"):
            lower[model.DOF_START[model.J[leg]]] = -1.0  # flexion stops at 57 degrees: no sitting
        monkeypatch.setattr(model, "LOWER", lower)
    assert any(mocap_bounds_broken(mocap_errors(t, y, settings)) for t, y in MOCAP_CASES)


def test_a_hand_that_leaves_the_image_holds_its_pose_and_relaxes_without_snapping():
    """Once the wrist's landmarks leave the image (visibility ~0, the network's 3D guess of them suddenly 25 cm
    lower), the fitted hand holds where it was and relaxes towards the guess a step per frame: no frame moves it
    more than 3 cm (the previous fit jumped 7 cm, this one's first draft 16), within a second it has arrived where a
    fit of those landmarks alone puts it, and
    the rest of the body stays on its landmarks."""
    truth = random_pose(np.random.default_rng(1))
    image, world = synthetic_landmarks(truth)
    fitter, person = SkeletonFitter(CAMERA), FitState()
    for _ in range(10):
        seen = fitter.fit(person, image, world)
    hand = model.J["RightHand"]
    lost = [16, 18, 20, 22]  # the right wrist and hand points
    image, world = image.copy(), world.copy()
    image[lost, 2], image[lost, 0] = 0.02, -40.0  # off the left edge of the image
    world[lost] += (0.0, 0.25, 0.0)  # guessed hanging lower
    path = [seen.joints3d[hand] - seen.joints3d[0]]
    for _ in range(28):
        pose = fitter.fit(person, image, world)
        path.append(pose.joints3d[hand] - pose.joints3d[0])
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    assert steps.max() < 0.03, steps  # no snap
    fresh = fitter.fit(FitState(offsets=person.offsets, frozen=True), image, world, temporal=False)
    arrived = fresh.joints3d[hand] - fresh.joints3d[0]  # where a fit of these landmarks alone puts the hand
    assert np.linalg.norm(path[-1] - arrived) < 0.05 and np.linalg.norm(path[0] - arrived) > 0.15
    others = [model.J[name] for name in ("LeftHand", "LeftFoot", "RightFoot", "Head", "RightLowerArm")]
    assert np.abs(pose.joints3d[others] - seen.joints3d[others]).max() < 0.01
