"""VMC protocol (issue #6): a real receiver on loopback gets every bone as float32, one bundle per frame and
person, with the rotations of the JSONL results in Unity's axes; vmcp (PyPI) parses the stream; a raised left arm
moves the avatar's left side."""

from __future__ import annotations

import time

import numpy as np
import pytest

from livecap.pose.fitting import model
from livecap.sinks.osc.sender import OscStreamer
from livecap.sinks.osc.vmc import VmcEncoder
from livecap.sinks.replay import frame_from_record
from livecap.skeleton import JOINTS, forward_kinematics, offsets_from_pose, to_world
from osc_receivers import free_port_pair
from osc_support import BONE_TAGS, FRAMES, facing_camera, received_bundle, same_rotation, unity_world


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


def test_offsets_rebuilt_from_the_jsonl_reproduce_the_joints(streamed_run):
    for person in streamed_run.frames[10]["people"]:
        joints, rotations = np.array(person["joints3d"]), np.array(person["rotations"])
        offsets = offsets_from_pose(joints, rotations)
        assert np.allclose(np.linalg.norm(offsets, axis=1), person["bone_lengths"], atol=2e-3)
        assert np.allclose(forward_kinematics(offsets, rotations, person["root"]), joints, atol=1e-3)


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
