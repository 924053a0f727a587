"""Camera intrinsics: field of view by default, an OpenCV calibration file when given; the header reports them."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from conftest import TWO_PEOPLE, media, read_jsonl, run_livecap
from livecap.camera import CameraIntrinsics, load_calibration
from livecap.errors import LivecapError

MATRIX = np.array([[1500.0, 0, 950], [0, 1490.0, 545], [0, 0, 1]])
DISTORTION = np.array([-0.2, 0.05, 0.001, -0.001, 0.0])


def write_opencv_yaml(path, width=1920, height=1080):
    storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
    storage.write("image_width", width)
    storage.write("image_height", height)
    storage.write("camera_matrix", MATRIX)
    storage.write("distortion_coefficients", DISTORTION)
    storage.release()
    return path


def test_an_opencv_yaml_calibration_gives_its_matrix_and_distortion(tmp_path):
    camera = load_calibration(write_opencv_yaml(tmp_path / "cam.yml"), 1920, 1080)
    assert (camera.fx, camera.fy, camera.cx, camera.cy) == (1500.0, 1490.0, 950.0, 545.0)
    assert np.allclose(camera.distortion, DISTORTION)


def test_a_json_calibration_for_a_larger_image_is_scaled_to_the_source(tmp_path):
    path = tmp_path / "cam.json"
    path.write_text(json.dumps({"camera_matrix": MATRIX.tolist(), "image_width": 3840, "image_height": 2160}))
    camera = load_calibration(path, 1920, 1080)
    assert (camera.fx, camera.cx) == (750.0, 475.0)


def test_undistorting_inverts_the_lens_model():
    camera = CameraIntrinsics(1500.0, 1490.0, 950.0, 545.0, tuple(DISTORTION))
    ideal = np.array([[200.0, 150.0], [950.0, 545.0], [1700.0, 900.0]])
    normalised = np.column_stack([(ideal - [950, 545]) / [1500, 1490], np.ones(3)])
    seen, _ = cv2.projectPoints(normalised, np.zeros(3), np.zeros(3), MATRIX, DISTORTION)
    assert np.abs(camera.undistort(seen.reshape(-1, 2)) - ideal).max() < 0.5


@pytest.mark.parametrize("content, message", [
    (None, "not found"),
    ("{not json", "cannot read calibration"),
    ('{"camera_matrix": [[0, 0, 0], [0, 0, 0], [0, 0, 1]]}', "no positive focal"),
    ('{"camera_matrix": [[1000, 0, 320], [0, 1000, 240], [0, 0, 1]], "image_width": 640, "image_height": 480}',
     "calibrate at this resolution"),
])
def test_a_bad_calibration_file_is_named_with_the_fix(tmp_path, content, message):
    path = tmp_path / "cam.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(LivecapError, match=message) as error:
        load_calibration(path, 1920, 1080)
    assert str(path) in str(error.value) or path.name in str(error.value)


def test_process_reports_the_calibration_and_a_given_height_in_its_header(tmp_path):
    out = tmp_path / "r.jsonl"
    done = run_livecap("process", str(TWO_PEOPLE), "--out", str(out), "--max-frames", "3",
                       "--calibration", str(write_opencv_yaml(tmp_path / "cam.yml")), "--height", "1.9")
    assert done.returncode == 0, done.stderr
    header, frames = read_jsonl(out)
    assert header["camera"]["fx"] == 1500.0 and header["camera"]["origin"] == "calibration cam.yml"
    assert header["camera"]["distortion"] == pytest.approx(DISTORTION.tolist())
    assert header["settings"]["height"] == 1.9
    joints = header["skeleton"]["joints"]
    for person in frames[-1]["people"]:
        bones = dict(zip(joints, person["bone_lengths"]))
        chain = sum(bones[j] for j in ("LeftFoot", "LeftLowerLeg", "Spine", "Chest", "Neck", "Head"))
        assert 1.12 * chain == pytest.approx(1.9, rel=0.01)  # livecap.pose.fitting.model.standing_height


def test_a_field_of_view_outside_what_cameras_have_is_refused(tmp_path):
    done = run_livecap("process", str(TWO_PEOPLE), "--out", str(tmp_path / "r.jsonl"),
                       "--fov", "0")
    assert done.returncode == 2 and "field of view" in done.stderr and "--fov" in done.stderr


def test_stills_of_different_sizes_are_each_seen_through_a_camera_of_their_own_size(tmp_path):
    """A folder of unrelated stills: the header's camera is the first image's; a still of another size gets its own
    camera in its record, and its people are fitted through it (their hips project back onto the image's hips)."""
    import shutil

    folder = tmp_path / "stills"
    folder.mkdir()
    shutil.copy(media("images/crowdpose/103319.jpg"), folder / "a.jpg")  # 640 x 480
    shutil.copy(media("images/ochuman/000817.jpg"), folder / "b.jpg")  # 665 x 1000
    out = tmp_path / "stills.jsonl"
    done = run_livecap("process", str(folder), "--stills", "--out", str(out))
    assert done.returncode == 0, done.stderr
    header, frames = read_jsonl(out)
    assert (header["width"], header["height"]) == (640, 480)
    assert "camera" not in frames[0]
    own = frames[1]["camera"]
    assert (own["cx"], own["cy"]) == (665 / 2, 1000 / 2)
    assert frames[1]["people"]
    for frame in frames:
        c = frame.get("camera", header["camera"])
        for person in frame["people"]:
            hips = np.array(person["joints3d"][0])
            projected = np.array([c["fx"] * hips[0] / hips[2] + c["cx"], c["fy"] * hips[1] / hips[2] + c["cy"]])
            landmarks = np.array(person["landmarks2d"])
            image_hips = landmarks[[23, 24], :2].mean(axis=0)
            torso = np.linalg.norm(landmarks[[11, 12], :2].mean(axis=0) - image_hips)
            assert np.linalg.norm(projected - image_hips) < 0.25 * torso, (frame["image"], projected, image_hips)
