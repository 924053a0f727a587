"""What the OSC streaming tests share: the clip's frame count, bundles by address, and a made-up person facing
the camera, sent once to a real receiver (the `streamed_run` fixture, a real `livecap process` with every stream
on, is in conftest.py)."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from livecap.pose.fitting import model, pose_from_params
from livecap.skeleton import CAMERA_TO_WORLD, JOINTS, PARENTS
from livecap.sinks.osc.sender import OscStreamer
from livecap.types import FrameResult, PersonPose
from osc_receivers import Receiver

FRAMES = 72  # two_people.mp4
BONE_TAGS = "s" + "f" * 7
ALL_TRACKERS = "hips,feet,knees,chest,elbows"
SEGMENTS = np.array([0.1, 0.19, 0.5, 0.24, 0.3, 0.26, 0.45, 0.43, 0.15])  # livecap.pose.fitting.model.SEGMENT_NAMES


def by_address(bundle) -> dict:
    return {address: (tags, args) for address, tags, args in bundle}


def same_rotation(a, b, atol=2e-5) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.allclose(a, b, atol=atol) or np.allclose(a, -b, atol=atol)


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
