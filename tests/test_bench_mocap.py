"""The motion-capture benchmark: real BVH takes become believable BlazePose inputs with a known true pose."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from conftest import MEDIA, media
from livecap.bench import mocap as bench_mocap
from livecap.bench.mocap import RIGS, Take, camera_view, errors_mm, joints_of, network_inputs, take_landmarks


def landmarks_of(name: str, frames: int) -> Take:
    media("bvh/" + RIGS[name].take)
    return take_landmarks(RIGS[name], MEDIA, max_frames=frames)


@pytest.fixture(scope="module", params=sorted(RIGS))
def take(request) -> tuple[str, Take]:
    return request.param, landmarks_of(request.param, 40)


def length(points: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(points[:, a] - points[:, b], axis=-1)


def test_every_take_becomes_a_rigid_adult_body_in_metres(take):
    name, landmarks = take[0], take[1].landmarks
    assert landmarks.shape[1:] == (33, 3) and len(landmarks) >= 20, name
    for a, b, low, high in ((23, 25, 0.3, 0.55), (25, 27, 0.3, 0.55), (11, 13, 0.2, 0.4), (13, 15, 0.15, 0.35),
                            (23, 24, 0.12, 0.3)):  # thigh, shin, upper arm, forearm, hips
        lengths = length(landmarks, a, b)
        assert low < lengths.mean() < high, (name, a, b, lengths.mean())
        assert np.ptp(lengths) < 1e-6, (name, a, b)  # mocap bones do not stretch
    assert 0.25 < length(landmarks, 11, 12).mean() < 0.5, name  # shoulders (clavicles move them a little)
    head_above_hips = landmarks[:, [7, 8], 1].mean(1) - landmarks[:, [23, 24], 1].mean(1)
    assert head_above_hips.max() > 0.45, name  # upright at least once: the units are metres


def test_a_person_facing_the_camera_looks_like_blazepose_sees_them(take):
    name, landmarks = take
    camera = camera_view(landmarks, 0)
    assert np.allclose(camera[:, [23, 24], 2].mean(1), bench_mocap.DISTANCE)
    upright = camera[:, [7, 8], 1].mean(1) < camera[:, [23, 24], 1].mean(1) - 0.45  # ears well above the hips
    assert upright.any(), name
    nose, ears = camera[upright, 0], camera[upright][:, [7, 8]].mean(1)
    assert np.mean(nose[:, 2] < ears[:, 2]) > 0.9, name  # the face is towards the camera (but in turns)
    assert np.mean(camera[upright, 7, 0] > camera[upright, 8, 0]) > 0.9, name  # left ear on the image's right
    assert np.all(camera[:, 29, 2] > camera[:, 27, 2] - 0.02) or name == "mocapbank_sit", name  # heels behind
    floor = bench_mocap.CAMERA_HEIGHT
    assert abs(np.percentile(camera[:, 27:33, 1], 99) - floor) < 0.05, name  # feet reach the floor
    back = camera_view(landmarks, 180)
    assert np.mean(back[upright, 0, 2] > back[upright][:, [7, 8], 2].mean(1)) > 0.9, name


def test_the_turned_views_are_the_same_body_turned_about_the_vertical():
    landmarks = landmarks_of("cmu_12_01_walk", 10)
    front, side = camera_view(landmarks, 0), camera_view(landmarks, 90)
    hips = front[:, [23, 24]].mean(1, keepdims=True)
    turn = Rotation.from_euler("y", -90, degrees=True).as_matrix()  # camera y is down: the turn flips sign
    expected = (front - hips) @ turn.T + side[:, [23, 24]].mean(1, keepdims=True)
    assert np.abs(expected - side).max() < 1e-9


def test_network_inputs_are_noisy_by_the_stated_amount_and_deterministic():
    landmarks = landmarks_of("cmu_12_01_walk", 60)
    truth = camera_view(landmarks, 45)
    image, world = network_inputs(truth, np.random.default_rng(1))
    again_image, again_world = network_inputs(truth, np.random.default_rng(1))
    assert np.array_equal(image, again_image) and np.array_equal(world, again_world)
    pixels = np.linalg.norm(image[..., :2] - bench_mocap.project(truth), axis=-1)
    kept = image[..., 2] > 0.5
    assert 3.0 < np.median(pixels[kept]) < 7.0  # 3-5 px per axis
    assert 0.005 < (~kept).mean() < 0.03  # some limb points are lost
    assert np.all(pixels[~kept] > 10.0)  # ... and displaced
    mpjpe, pa = errors_mm(joints_of(world.astype(np.float64)), joints_of(truth))
    assert 30 < mpjpe.mean() < 50 and 25 < pa.mean() < 45  # 2-3 cm per axis


def test_the_truth_scores_zero_and_a_scaled_turned_copy_scores_zero_after_procrustes():
    landmarks = landmarks_of("cmu_01_01_climb", 20)
    truth = joints_of(camera_view(landmarks, 0))
    mpjpe, pa = errors_mm(truth, truth)
    assert mpjpe.max() < 1e-9 and pa.max() < 1e-9
    turn = Rotation.from_euler("xyz", [10, 40, -5], degrees=True).as_matrix()
    moved = 1.1 * truth @ turn.T + 0.3
    mpjpe, pa = errors_mm(moved, truth)
    assert mpjpe.min() > 30 and pa.max() < 1e-6


def test_livecap_bench_mocap_prints_the_table_for_the_takes_in_a_folder(tmp_path):
    from conftest import run_livecap

    folder = tmp_path / "takes"
    (folder / "bvh-python").mkdir(parents=True)
    take = media("bvh/" + RIGS["mixamo_idle"].take)
    (folder / RIGS["mixamo_idle"].take).write_bytes(take.read_bytes())
    done = run_livecap("bench", "--mocap", str(folder), "--frames", "4")
    assert done.returncode == 0, done.stderr
    sources = ("network", "cold", "warm")  # the live fit's table (the refined one follows it, tests/test_refine.py)
    rows = [row for line in done.stdout.splitlines() if line.startswith("mixamo_idle")
            and len(row := line.split(" | ")) > 2 and row[2] in sources]
    assert {(row[1], row[2]) for row in rows} == {(str(yaw), source) for yaw in bench_mocap.ANGLES
                                                  for source in sources}
    assert all(float(row[5]) < 60 for row in rows)  # PA-MPJPE, mm


def test_livecap_bench_mocap_names_what_it_looked_for_in_a_folder_without_takes(tmp_path):
    from conftest import run_livecap

    done = run_livecap("bench", "--mocap", str(tmp_path))
    assert done.returncode != 0
    assert "no known BVH take" in done.stderr and "test_freebvh.bvh" in done.stderr
