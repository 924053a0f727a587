"""VRChat OSC trackers (issue #6): a real receiver on loopback gets the trackers in metres and degrees with the
feet on the floor, scaled to the performer's height; the handedness is right (a raised left arm, a turn to one's
left) in VRChat and VMC alike; the floor and Unity's mirrored axes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from livecap.pose.fitting import model
from livecap.sinks.osc.unity import unity_quaternion
from livecap.sinks.osc.vmc import VmcEncoder
from livecap.sinks.osc.vrchat import VrchatEncoder
from livecap.sinks.replay import frame_from_record
from livecap.skeleton import FloorEstimator, skeleton_height, world_pose
from osc_support import ALL_TRACKERS, FRAMES, by_address, facing_camera, received_bundle, unity_world


def test_vrchat_sends_trackers_in_metres_and_degrees_with_feet_on_the_floor(streamed_run):
    assert len(streamed_run.vrchat) == FRAMES
    hips, feet = [], []
    for bundle in streamed_run.vrchat:
        messages = by_address(bundle)
        expected = [f"/tracking/trackers/{n}/{kind}" for n in range(1, 9) for kind in ("position", "rotation")]
        assert set(messages) == set(expected) | {"/tracking/trackers/head/position",
                                                 "/tracking/trackers/head/rotation"}
        assert all(tags == "fff" for tags, _ in messages.values())
        hips.append(messages["/tracking/trackers/1/position"][1])
        feet.append([messages[f"/tracking/trackers/{n}/position"][1][1] for n in (2, 3)])
        pitch, _, roll = messages["/tracking/trackers/1/rotation"][1]
        assert abs(pitch) < 45 and abs(roll) < 45  # standing people: the hips are upright
        assert messages["/tracking/trackers/head/rotation"][1][::2] == (0.0, 0.0)  # yaw only
    assert 0.0 < np.median(feet) < 0.25  # ankles just above the floor (measured 0.20 with smoothing 0.5)
    assert 0.7 < np.median(np.array(hips)[:, 1]) < 1.2
    assert np.allclose(hips[0], (0, hips[0][1], 0), atol=1e-6)  # the first hips position is the origin


def test_vrchat_height_scales_the_trackers_to_the_performer(streamed_run):
    frame = frame_from_record(streamed_run.frames[20])
    plain_hips = VrchatEncoder(person=1).encode(frame)[0][1][0][1]
    pose = world_pose(frame.people[0].skeleton)
    tall = VrchatEncoder(person=1, height=2.0).encode(frame)[0][1][0][1]
    assert tall[1] == pytest.approx(plain_hips[1] * 2.0 / skeleton_height(pose.offsets), rel=1e-6)


def test_vrchat_raised_left_arm_lifts_the_left_elbow_tracker():
    messages, _ = received_bundle(VrchatEncoder(roles=ALL_TRACKERS.split(",")), [facing_camera(left_arm_raise=1.2)])
    left, right, hips = (np.array(messages[f"/tracking/trackers/{n}/position"][1]) for n in (7, 8, 1))
    assert left[1] > right[1] + 0.2  # tracker 7 = left elbow
    assert left[0] < hips[0] < right[0]
    assert np.allclose(messages["/tracking/trackers/1/rotation"][1], 0, atol=1e-3)  # facing the camera = +Z


def test_turning_to_ones_left_is_a_negative_yaw_in_unity():
    """Unity's yaw is clockwise seen from above; a person turning to their own left faces the avatar's left, -X."""
    messages, _ = received_bundle(VrchatEncoder(), [facing_camera(turn_left=np.pi / 2)])
    assert np.allclose(messages["/tracking/trackers/1/rotation"][1], (0, -90, 0), atol=1e-3)
    _, bundle = received_bundle(VmcEncoder(), [facing_camera(turn_left=np.pi / 2)])
    p = unity_world(bundle)
    assert p["LeftToes"][0] < p["LeftFoot"][0] - 0.05  # the toes point to -X


def test_unity_conversion_mirrors_x():
    """R_unity = S R S with S = diag(-1, 1, 1) (ecosystem notes 1.3), for any rotation."""
    S = np.diag([-1.0, 1.0, 1.0])
    for q in Rotation.random(20, random_state=1).as_quat():
        expected = S @ Rotation.from_quat(q).as_matrix() @ S
        assert np.allclose(Rotation.from_quat(unity_quaternion(q)).as_matrix(), expected, atol=1e-12)


def test_floor_is_a_low_percentile_of_recent_feet():
    floor = FloorEstimator(window=10)
    pose = world_pose(facing_camera().skeleton)
    lowest = pose.positions[[model.J["LeftToes"], model.J["RightToes"]], 1].min()
    assert floor.update([]) is None
    assert floor.update([pose]) == pytest.approx(lowest)
    pose.positions[:, 1] += 0.5  # a jump: the floor stays
    assert floor.update([pose]) < lowest + 0.1
