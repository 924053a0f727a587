"""OSC streaming (issue #6): real receivers on loopback get VMC, VRChat trackers and the plain livecap scheme,
with the values of the JSONL results, the handedness right, and a sender that never blocks or crashes."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from conftest import TWO_PEOPLE, read_jsonl, run_livecap
from livecap.app.cli import build_parser
from livecap.pose.fitting import model, pose_from_params
from livecap.app.flags import osc_sinks_from_args, parse_destination
from livecap.sinks.osc.people import PersonChooser, Presence, SlotAssigner
from livecap.sinks.osc.plain import PlainEncoder
from livecap.sinks.replay import frame_from_record
from livecap.sinks.osc.unity import unity_quaternion
from livecap.sinks.osc.vmc import VmcEncoder
from livecap.sinks.osc.vrchat import VrchatEncoder
from livecap.types import FrameResult, PersonPose
from livecap.workers import SinkWorker
from livecap.sinks.osc.sender import OscStreamer
from livecap.skeleton import (CAMERA_TO_WORLD, JOINTS, PARENTS, FloorEstimator, forward_kinematics, offsets_from_pose,
                              skeleton_height, to_world, world_pose)
from osc_receivers import Receiver, free_port_pair

FRAMES = 72  # two_people_1080p.mp4
BONE_TAGS = "s" + "f" * 7
ALL_TRACKERS = "hips,feet,knees,chest,elbows"


@pytest.fixture(scope="module")
def streamed_run(tmp_path_factory):
    """`livecap process` on real video with all three streams on, each to a python-osc server on loopback."""
    out = tmp_path_factory.mktemp("osc") / "two.jsonl"
    base = free_port_pair()
    with Receiver() as plain, Receiver() as vrchat, Receiver(base) as vmc0, Receiver(base + 1) as vmc1:
        done = run_livecap("process", str(TWO_PEOPLE), "--out", str(out), "--no-progress",
                           "--osc", f"127.0.0.1:{plain.port}", "--vrchat", str(vrchat.port),
                           "--vrchat-trackers", ALL_TRACKERS, "--vmc", f"127.0.0.1:{base}", "--vmc-person", "all")
        assert done.returncode == 0, done.stderr
        for receiver in (plain, vrchat, vmc0, vmc1):
            receiver.wait_for(FRAMES)
        _, frames = read_jsonl(out)
        return SimpleNamespace(out=out, stdout=done.stdout, stderr=done.stderr, frames=frames,
                               plain=plain.bundles(), vrchat=vrchat.bundles(), vmc=[vmc0.bundles(), vmc1.bundles()])


def by_address(bundle) -> dict:
    return {address: (tags, args) for address, tags, args in bundle}


def same_rotation(a, b, atol=2e-5) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.allclose(a, b, atol=atol) or np.allclose(a, -b, atol=atol)


# ---------------------------------------------------------------- plain OSC ---------------------------------------

def test_plain_osc_sends_one_bundle_per_frame_with_the_jsonl_values(streamed_run):
    assert len(streamed_run.plain) == FRAMES
    for bundle, frame in zip(streamed_run.plain, streamed_run.frames):
        messages = by_address(bundle)
        tags, (index, seconds, count) = messages["/livecap/frame"]
        assert tags == "ifi" and index == frame["frame"] and count == len(frame["people"])
        assert seconds == pytest.approx(frame["time"], abs=1e-5)
        assert messages["/livecap/people"][1] == tuple(p["id"] for p in frame["people"])
        for person in frame["people"]:
            prefix = f"/livecap/person/{person['id']}"
            assert messages[f"{prefix}/score"][1][0] == pytest.approx(person["score"], abs=6e-4)
            tags, root = messages[f"{prefix}/root"]
            assert tags == "f" * 7
            assert np.allclose(root[:3], person["root"], atol=6e-5)
            assert same_rotation(root[3:], person["rotations"][0], atol=6e-5)
            for j, name in enumerate(JOINTS):
                tags, (x, y, z, confidence) = messages[f"{prefix}/joint/{name}"]
                assert tags == "ffff"
                assert np.allclose((x, y, z), person["joints3d"][j], atol=6e-5)  # JSONL keeps 4 decimals
                assert 0.0 <= confidence <= 1.0


def test_plain_osc_reports_people_appearing_and_leaving(streamed_run):
    events = [[(a, args) for a, _, args in bundle if a in ("/livecap/person/appeared", "/livecap/person/left")]
              for bundle in streamed_run.plain]
    assert events[0] == [("/livecap/person/appeared", (1,)), ("/livecap/person/appeared", (2,))]
    assert not any(events[1:])  # both people stay in view for the whole clip
    encoder = PlainEncoder()
    person = frame_from_record(streamed_run.frames[0]).people
    sequence = [[person[0], person[1]], [person[1]], [], [person[0]]]
    seen = [[(a, args) for a, args in encoder.encode(FrameResult(i, i / 30, 0.0, people))[0][1]
             if a.endswith(("appeared", "left"))] for i, people in enumerate(sequence)]
    assert seen == [[("/livecap/person/appeared", (1,)), ("/livecap/person/appeared", (2,))],
                    [("/livecap/person/left", (1,))], [("/livecap/person/left", (2,))],
                    [("/livecap/person/appeared", (1,))]]


def test_plain_osc_floor_space_is_y_up_with_feet_on_the_floor(streamed_run):
    encoder = PlainEncoder("floor")
    feet, heads = {1: [], 2: []}, []
    for record in streamed_run.frames:
        messages = by_address([(a, "", args) for a, args in encoder.encode(frame_from_record(record))[0][1]])
        for person in record["people"]:
            prefix = f"/livecap/person/{person['id']}/joint"
            feet[person["id"]].append(min(messages[f"{prefix}/{n}"][1][1] for n in ("LeftToes", "RightToes")))
            heads.append(messages[f"{prefix}/Head"][1][1])
    # one level floor for everyone: the camera's pitch leaves the farther person's feet a little off it
    assert all(abs(np.median(person_feet)) < 0.15 for person_feet in feet.values())
    assert min(np.median(person_feet) for person_feet in feet.values()) == pytest.approx(0.0, abs=0.03)
    assert 1.2 < np.median(heads) < 1.9  # the head's root, metres above the floor


# ---------------------------------------------------------------- VMC ---------------------------------------------

def test_vmc_sends_every_bone_as_float32_in_one_bundle_per_frame_and_person(streamed_run):
    for bundles in streamed_run.vmc:  # --vmc-person all: person 1 on the base port, person 2 on the next
        assert len(bundles) == FRAMES
        for bundle, frame in zip(bundles, streamed_run.frames):
            addresses = [a for a, _, _ in bundle]
            assert addresses == ["/VMC/Ext/Root/Pos"] + ["/VMC/Ext/Bone/Pos"] * len(JOINTS) + ["/VMC/Ext/OK",
                                                                                              "/VMC/Ext/T"]
            assert [args[0] for _, _, args in bundle[1:-2]] == list(JOINTS)
            assert all(tags == BONE_TAGS for _, tags, _ in bundle[:-2])
            assert bundle[-2][1:] == ("i", (1,))
            assert bundle[-1][1] == "f" and bundle[-1][2][0] == pytest.approx(frame["time"], abs=1e-5)


def test_vmc_bones_are_the_jsonl_rotations_in_unity_axes(streamed_run):
    for slot, bundles in enumerate(streamed_run.vmc):
        for bundle, frame in zip(bundles, streamed_run.frames):
            person = next(p for p in frame["people"] if p["id"] == slot + 1)
            bones = {args[0]: np.array(args[1:]) for a, _, args in bundle if a == "/VMC/Ext/Bone/Pos"}
            rotations = np.array(person["rotations"])
            world_rotations, _ = to_world(rotations, person["root"])
            for j, name in enumerate(JOINTS):
                local = world_rotations[j] if j == 0 else rotations[j]
                qx, qy, qz, qw = local
                assert same_rotation(bones[name][3:], (qx, -qy, -qz, qw), atol=6e-5), name
                if j > 0:  # local positions: the person's own bones
                    assert np.linalg.norm(bones[name][:3]) == pytest.approx(person["bone_lengths"][j], abs=2e-3)
            assert 0.7 < bones["Hips"][1] < 1.2  # hip height above the estimated floor, metres


def test_vmcp_parses_the_stream_into_bone_events(streamed_run):
    """The VMC-protocol package from PyPI (vmcp, with its osc4py3 backend) as an independent receiver."""
    from vmcp.events import BoneTransformEvent, RelativeTimeEvent, RootTransformEvent, StateEvent
    from vmcp.facades import on_receive
    from vmcp.osc import OSC
    from vmcp.osc.backend.osc4py3 import as_eventloop as backend

    frames = [frame_from_record(r) for r in streamed_run.frames]
    port = free_port_pair()
    events = []  # a message vmcp cannot parse raises in its handler and is missing here
    with OSC(backend) as osc:
        receiver = osc.create_receiver("127.0.0.1", port, "livecap-test").open()
        for kind in (BoneTransformEvent, RootTransformEvent, StateEvent, RelativeTimeEvent):
            on_receive(receiver, kind, events.append)
        streamer = OscStreamer("vmc", VmcEncoder(person=2), port=port)
        streamer.start()
        for frame in frames:  # paced like a live source, 100 fps, the receiver reading in between
            streamer.write(frame)
            end = time.monotonic() + 0.01
            while time.monotonic() < end:
                osc.run()
        streamer.close()
        expected = FRAMES * (len(JOINTS) + 3)
        end = time.monotonic() + 10
        while len(events) < expected and time.monotonic() < end:
            osc.run()
    assert streamer.stats().sent == FRAMES
    assert len(events) == expected
    bones = [e for e in events if isinstance(e, BoneTransformEvent)]
    assert [e.joint.value for e in bones[:len(JOINTS)]] == list(JOINTS)  # vmcp checks each name
    assert all(isinstance(e, RootTransformEvent) for e in events[::len(JOINTS) + 3])
    times = [e.delta for e in events if isinstance(e, RelativeTimeEvent)]
    assert times == sorted(times) and len(times) == FRAMES


# ---------------------------------------------------------------- VRChat ------------------------------------------

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


# ---------------------------------------------------------------- handedness --------------------------------------

SEGMENTS = np.array([0.1, 0.19, 0.5, 0.24, 0.3, 0.26, 0.45, 0.43, 0.15])  # livecap.pose.fitting.model.SEGMENT_NAMES


def facing_camera(left_arm_raise: float = 0.0, turn_left: float = 0.0) -> PersonPose:
    """A person 3 m in front of the camera, facing it (root 180 degrees about X), arms in T-pose; the LEFT upper
    arm raised by `left_arm_raise` radians (about the rest pose's forward axis: +X, their left, turns to +Y, up);
    the whole body turned `turn_left` radians to the person's own left (about world up)."""
    params = np.zeros(model.NUM_PARAMS)
    params[:3] = (0.0, 0.0, 3.0)
    world_root = Rotation.from_rotvec([0.0, turn_left, 0.0])
    params[3:6] = (Rotation.from_matrix(CAMERA_TO_WORLD) * world_root).as_rotvec()
    params[model.DOF_START[model.J["LeftUpperArm"]] + 2] = left_arm_raise
    skeleton = pose_from_params(params, model.rest_offsets(SEGMENTS))
    return PersonPose(id=7, score=1.0, bbox=np.zeros(4), coco17=np.zeros((17, 3)),
                      landmarks2d=np.ones((33, 3)), world33=np.zeros((33, 3)), skeleton=skeleton)


def received_bundle(encoder, people: list[PersonPose]):
    with Receiver() as receiver:
        streamer = OscStreamer("test", encoder, port=receiver.port)
        streamer.start()
        streamer.write(FrameResult(0, 0.0, 0.0, people))
        streamer.close()
        receiver.wait_for(1)
        return by_address(receiver.bundles()[0]), receiver.bundles()[0]


def unity_world(bundle) -> dict[str, np.ndarray]:
    """What a Unity receiver does with the bones: local position and rotation on each transform, then
    world = parent world * local (quaternion algebra is the same in Unity's left-handed frame)."""
    bones = {args[0]: np.array(args[1:], np.float64) for a, _, args in bundle if a == "/VMC/Ext/Bone/Pos"}
    root = next(np.array(args[1:]) for a, _, args in bundle if a == "/VMC/Ext/Root/Pos")
    rotations, positions = {}, {}
    for j, name in enumerate(JOINTS):
        local_rotation = Rotation.from_quat(bones[name][3:])
        if PARENTS[j] < 0:
            rotations[name] = Rotation.from_quat(root[3:]) * local_rotation
            positions[name] = root[:3] + Rotation.from_quat(root[3:]).apply(bones[name][:3])
        else:
            parent = JOINTS[PARENTS[j]]
            rotations[name] = rotations[parent] * local_rotation
            positions[name] = positions[parent] + rotations[parent].apply(bones[name][:3])
    return positions


def test_the_raised_left_arm_fixture_raises_the_left_arm_in_the_image():
    joints = facing_camera(left_arm_raise=1.2).skeleton.joints3d
    hand, shoulder, hips = (joints[model.J[n]] for n in ("LeftHand", "LeftUpperArm", "Hips"))
    assert hand[1] < shoulder[1] - 0.3  # camera y is down: the hand is above the shoulder
    assert hand[0] > hips[0]  # a person facing the camera has their left hand on the image's right


def test_vmc_raised_left_arm_moves_the_avatars_left_side_up():
    _, bundle = received_bundle(VmcEncoder(), [facing_camera(left_arm_raise=1.2)])
    p = unity_world(bundle)
    assert p["LeftHand"][1] > p["LeftUpperArm"][1] + 0.3  # the left hand goes up...
    assert p["RightHand"][1] == pytest.approx(p["RightUpperArm"][1], abs=1e-4)  # ...not the right one down
    assert p["LeftUpperArm"][0] < p["Hips"][0] < p["RightUpperArm"][0]  # Unity avatar: its left is -X
    assert p["LeftToes"][2] > p["LeftFoot"][2]  # it faces +Z, like a VRM avatar at rest: no 180-degree turn
    assert p["Head"][1] > p["Hips"][1] > p["LeftFoot"][1]


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


# ---------------------------------------------------------------- oscdump -----------------------------------------

def test_oscdump_prints_the_stream(streamed_run):
    if shutil.which("oscdump") is None:
        if os.environ.get("CI"):
            pytest.fail("oscdump is missing: .ci/run installs Debian's liblo-tools")
        pytest.skip("oscdump is missing (apt-get install liblo-tools)")
    port = free_port_pair()
    dump = subprocess.Popen(["oscdump", "-L", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # oscdump binds its port
        frames = [frame_from_record(r) for r in streamed_run.frames[:3]]
        for streamer in (OscStreamer("osc", PlainEncoder(), port=port), OscStreamer("vmc", VmcEncoder(), port=port)):
            streamer.start()
            for frame in frames:
                streamer.write(frame)
            streamer.close()
        time.sleep(0.5)
    finally:
        dump.terminate()
        output = dump.communicate(timeout=10)[0]
    lines = [line.split(" ", 1)[1] for line in output.splitlines()]  # drop oscdump's timestamp column
    assert "/livecap/frame ifi 0 0.000000 2" in lines
    assert sum(line.startswith("/livecap/person/1/joint/LeftHand ffff ") for line in lines) == 3
    assert sum(line.startswith('/VMC/Ext/Bone/Pos sfffffff "Hips" ') for line in lines) == 3
    assert sum(line.startswith("/VMC/Ext/OK i 1") for line in lines) == 3


# ---------------------------------------------------------------- the sender --------------------------------------

class _Stuck:
    """An encoder that waits until released: a sender that has fallen behind."""

    def __init__(self):
        self.release = threading.Event()

    def encode(self, result):
        self.release.wait(10)
        return [(0, [("/x", (float(result.index),))])]


def test_handing_frames_over_never_waits_for_the_sender_and_counts_dropped_frames():
    encoder = _Stuck()
    with Receiver() as receiver:
        streamer = OscStreamer("test", encoder, port=receiver.port, queue_size=4)
        worker = SinkWorker(streamer, capacity=64)  # as the engine runs every sink: the stream's own queue size
        worker.start(None)
        costs = []
        for i in range(200):
            started = time.perf_counter()
            worker.offer(FrameResult(i, i / 30, 0.0, []))
            costs.append(time.perf_counter() - started)
        assert max(costs) < 0.05 and np.median(costs) < 1e-3
        encoder.release.set()
        worker.stop()
        receiver.wait_for(5)
        stats, dropped = streamer.stats(), worker.status().dropped
        # the one frame in the sender's hand (if it got one before the burst ended) and the newest 4 go out
        assert stats.frames in (4, 5) and stats.sent in (4, 5) and stats.sent + dropped == 200
        got = [args[0] for bundle in receiver.bundles() for _, _, args in bundle]
        assert got[-4:] == [196.0, 197.0, 198.0, 199.0]


def test_every_frame_is_sent_when_the_sender_keeps_up():
    with Receiver() as receiver:
        streamer = OscStreamer("osc", PlainEncoder(), port=receiver.port)
        streamer.start()
        for i in range(100):
            streamer.write(FrameResult(i, i / 100, 0.0, [facing_camera()]))
            time.sleep(0.01)
        streamer.close()
        receiver.wait_for(100)
    assert streamer.stats().sent == 100 and streamer.stats().skipped == 0
    assert [b[0][2][0] for b in receiver.bundles()] == list(range(100))


def test_the_rate_limit_sends_the_newest_frame_and_counts_the_skipped_ones():
    with Receiver() as receiver:
        streamer = OscStreamer("osc", PlainEncoder(), port=receiver.port, rate=10)
        streamer.start()
        for i in range(60):  # 1 s of 60 fps
            streamer.write(FrameResult(i, i / 60, 0.0, []))
            time.sleep(1 / 60)
        time.sleep(0.15)
        stats = streamer.stats()
        streamer.close()
    assert 8 <= stats.sent <= 13  # 10 Hz over ~1.1 s
    assert stats.sent + stats.skipped == 60 and stats.skipped > 40


@pytest.mark.parametrize("host, problem", [("no-such-host.invalid", "cannot resolve"),
                                           ("255.255.255.255", "cannot send")])  # broadcast is refused
def test_an_unusable_destination_is_a_status_and_a_retry_not_a_crash(host, problem, caplog):
    caplog.set_level(logging.INFO, logger="livecap")
    streamer = OscStreamer("osc", PlainEncoder(), host=host, port=9, retry_s=0.2)
    streamer.start()
    for i in range(30):
        streamer.write(FrameResult(i, i / 30, 0.0, []))
        time.sleep(0.02)
    streamer.close()
    stats = streamer.stats()
    assert stats.sent == 0 and stats.failed == 30
    assert 2 <= stats.errors < 10  # retried every 0.2 s, not once per frame
    assert problem in stats.status
    warnings = [r.getMessage() for r in caplog.records if r.name == "livecap"]
    assert len(warnings) == 1 and problem in warnings[0] and "retrying" in warnings[0]  # logged once


def test_close_never_raises_even_unstarted_or_twice():
    streamer = OscStreamer("osc", PlainEncoder())
    streamer.close()
    streamer.start()
    streamer.close()
    streamer.close()


# ---------------------------------------------------------------- pure parts and flags ----------------------------

def test_unity_conversion_mirrors_x():
    """R_unity = S R S with S = diag(-1, 1, 1) (ecosystem notes 1.3), for any rotation."""
    S = np.diag([-1.0, 1.0, 1.0])
    for q in Rotation.random(20, random_state=1).as_quat():
        expected = S @ Rotation.from_quat(q).as_matrix() @ S
        assert np.allclose(Rotation.from_quat(unity_quaternion(q)).as_matrix(), expected, atol=1e-12)


def test_offsets_rebuilt_from_the_jsonl_reproduce_the_joints(streamed_run):
    for person in streamed_run.frames[10]["people"]:
        joints, rotations = np.array(person["joints3d"]), np.array(person["rotations"])
        offsets = offsets_from_pose(joints, rotations)
        assert np.allclose(np.linalg.norm(offsets, axis=1), person["bone_lengths"], atol=2e-3)
        assert np.allclose(forward_kinematics(offsets, rotations, person["root"]), joints, atol=1e-3)


def test_floor_is_a_low_percentile_of_recent_feet():
    floor = FloorEstimator(window=10)
    pose = world_pose(facing_camera().skeleton)
    lowest = pose.positions[[model.J["LeftToes"], model.J["RightToes"]], 1].min()
    assert floor.update([]) is None
    assert floor.update([pose]) == pytest.approx(lowest)
    pose.positions[:, 1] += 0.5  # a jump: the floor stays
    assert floor.update([pose]) < lowest + 0.1


def test_people_choice_follows_one_person_and_slots_are_reused():
    chooser = PersonChooser()
    assert [chooser.choose(ids) for ids in ([3, 5], [5, 3], [5], [1, 5], [])] == [3, 3, 5, 5, None]
    assert PersonChooser(5).choose([3]) is None
    slots = SlotAssigner()
    assert slots.assign([4, 2]) == {2: 0, 4: 1}
    assert slots.assign([4, 9]) == {4: 1, 9: 0}
    assert Presence().update([2, 1]) == ([1, 2], [])


def test_destinations_default_to_loopback():
    assert parse_destination("9000", 1) == ("127.0.0.1", 9000)
    assert parse_destination("studio.local:9001", 1) == ("studio.local", 9001)
    assert parse_destination("studio.local", 39539) == ("studio.local", 39539)
    assert parse_destination("[::1]:7000", 1) == ("::1", 7000)
    args = build_parser().parse_args(["process", "in.mp4", "--out", "o.jsonl", "--vmc", "--vrchat", "--osc"])
    sinks = osc_sinks_from_args(args)
    assert [(s.name, s.host, s.port) for s in sinks] == [("vmc", "127.0.0.1", 39539), ("vrchat", "127.0.0.1", 9000),
                                                         ("osc", "127.0.0.1", 7000)]
    assert osc_sinks_from_args(build_parser().parse_args(["process", "in.mp4", "--out", "o.jsonl"])) == []


@pytest.mark.parametrize("flags", [["--vmc", "70000"], ["--vrchat", "host:port"], ["--stream-rate", "0"],
                                   ["--vmc-person", "me"], ["--vrchat-trackers", "hips,wings"],
                                   ["--osc-space", "world"], ["--vrchat-height", "17"]])
def test_bad_stream_flags_are_a_one_line_error(flags, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["process", "in.mp4", "--out", "o.jsonl", *flags])
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("livecap process: error: argument " + flags[0])


def test_process_reports_each_stream(streamed_run):
    lines = streamed_run.stdout.splitlines()
    assert f"osc: {FRAMES} of {FRAMES} frames sent, 0 dropped, 0 failed" in "\n".join(lines)
    assert any(line.startswith("vmc: ") and "streaming to 127.0.0.1:" in line for line in lines)
