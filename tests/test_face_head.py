"""The head in the skeleton follows the face mesh (issue 27): on two_people with faces on, live (--causal: against
the live run without faces), wherever a face has been seen for the ease-in time the Head joint's rotation (the
results' rotations, which BVH and VMC carry) is the mesh's, the neck taking half its twist; where the face is lost
it eases back to the fitted head without a jump. The eyes are joints under the Head in the BVH and an "eyes" field
in the results, only with faces on, turned by the gaze where the irises are measured and at rest where they are
not. A refined take's head: tests/test_refine_faces.py."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bvh_support import blender_pose, stream_info, y_up_to_blender
from conftest import TWO_PEOPLE, read_jsonl, run_livecap
from livecap.pose.head import (EASE_IN_S, EASE_OUT_S, HEAD, NECK, NECK_TWIST_SHARE, HeadFromFace, eye_rotation,
                               mesh_head)
from livecap.sinks.bvh.format import world_positions
from livecap.sinks.bvh.reader import read
from livecap.sinks.bvh.recorder import BvhOptions, BvhSink
from livecap.sinks.replay import frame_from_record
from livecap.skeleton import EYE_JOINTS, JOINTS, PARENTS, full_skeleton, world_pose, world_rotations


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    """Degrees between two rotation matrices."""
    return float(np.degrees(Rotation.from_matrix(a.T @ b).magnitude()))


@pytest.fixture(scope="module")
def face_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("head")
    done = run_livecap("process", str(TWO_PEOPLE), "--face", "--out", str(folder / "two.jsonl"), "--no-progress",
                       "--bvh", str(folder / "bvh"), "--bvh-take", "take", "--causal")
    assert done.returncode == 0, done.stderr
    header, frames = read_jsonl(folder / "two.jsonl")
    return SimpleNamespace(header=header, frames=frames, bvh=folder / "bvh")


def _heads(frames):
    """Per person: (time, the Head's camera-space rotation, the mesh's head or None) for each frame seen."""
    out: dict[int, list] = {}
    for frame in frames:
        for person in frame["people"]:
            head = world_rotations(np.array(person["rotations"]))[HEAD]
            face = person.get("face")  # absent without faces
            mesh = None if face is None else mesh_head(Rotation.from_quat(face["rotation"]).as_matrix())
            out.setdefault(person["id"], []).append((frame["time"], head, mesh))
    return out


def test_the_head_turns_as_the_mesh_wherever_the_face_is_seen(face_run):
    followed = 0
    for track in _heads(face_run.frames).values():
        for k, (time_s, head, mesh) in enumerate(track):
            recent = [m for t, _, m in track[:k + 1] if t >= time_s - EASE_IN_S]
            if k and track[0][0] <= time_s - EASE_IN_S and all(m is not None for m in recent):
                assert _angle(head, mesh) < 0.5  # the results' 5 decimals
                followed += 1
    assert followed >= 30  # 33 of two_people's 144 person-frames


def test_a_lost_face_leaves_the_head_where_it_was_and_eases_it_back(face_run, two_people_results):
    """Against the same video without faces (the fitted head alone): where the face is lost the head's gap to the
    fitted head only shrinks, by no more a frame than the ease allows (the weight falls dt / EASE_OUT_S, and two
    rotations are at most 180 degrees apart: no snap, even where the fit's own head jumps as a man turns his back),
    and once lost for EASE_OUT_S the head is the fitted one; the rest of the body is the same with faces or
    without."""
    with_faces, fitted = _heads(face_run.frames), _heads(two_people_results[1])
    eased_back = 0
    for person, track in with_faces.items():
        reference = {time_s: head for time_s, head, _ in fitted[person]}
        lost_since = None
        for (before_s, before, _), (time_s, head, mesh) in zip(track, track[1:]):
            if mesh is not None:
                lost_since = None
                continue
            lost_since = time_s if lost_since is None else lost_since
            gap_before, gap = _angle(before, reference[before_s]), _angle(head, reference[time_s])
            assert gap_before - 180.0 * (time_s - before_s) / EASE_OUT_S - 0.5 <= gap <= gap_before + 0.5
            if time_s - lost_since >= EASE_OUT_S:
                assert gap < 0.5
                eased_back += 1
    assert eased_back >= 5
    for a, b in zip(face_run.frames, two_people_results[1]):
        for p, q in zip(a["people"], b["people"]):
            others = np.delete(np.array(p["rotations"]), [NECK, HEAD], axis=0)
            assert np.allclose(others, np.delete(np.array(q["rotations"]), [NECK, HEAD], axis=0), atol=1e-4)
            assert np.allclose(p["joints3d"], q["joints3d"], atol=1e-4)


def test_the_bvh_recording_carries_the_heads_turn(face_run, two_people_results):
    """The BVH take's Head channels, at its fixed 30 fps, against the results' head at the same times (slerped
    between frames, as the recorder resamples): the same with faces, and the fitted head's (a run without faces) is
    not."""
    from scipy.spatial.transform import Slerp

    from livecap.sinks.bvh.reader import read

    bvh = read(face_run.bvh / "take_person1.bvh")
    head = bvh.joints[bvh.index("Head")]
    columns = [head.first_channel + k for k, c in enumerate(head.channels) if c.endswith("rotation")]
    recorded = Rotation.from_euler(head.rotation_order, bvh.motion[:, columns], degrees=True)
    gaps = {}
    for name, frames in (("faces", face_run.frames), ("fitted", two_people_results[1])):
        seen = [(f["time"], p["rotations"][HEAD]) for f in frames for p in f["people"] if p["id"] == 1]
        times = np.array([t for t, _ in seen])
        at = times[0] + np.arange(bvh.frames) * bvh.frame_time
        inside = at <= times[-1]
        expected = Slerp(times, Rotation.from_quat([q for _, q in seen]))(at[inside])
        gaps[name] = np.degrees((recorded[inside].inv() * expected).magnitude())
    medians = {name: float(np.median(gap)) for name, gap in gaps.items()}
    print(f"BVH head against the results' (degrees, median): {medians}")
    assert medians["faces"] < 0.5 and medians["fitted"] > 5.0


def test_the_blend_turns_the_neck_about_its_bone_and_the_head_and_eases_both_ways(face_run):
    """A real fitted skeleton and a mesh's head turned 40 degrees about the neck from it: the head is the mesh's,
    the neck takes half the turn about its own bone (its bend, so every joint, as fitted), nothing else turns."""
    record = next(f for f in face_run.frames if f["people"][0]["face"] is not None)
    person = frame_from_record(record).people[0]
    fitted = world_rotations(np.asarray(person.skeleton.rotations, np.float64))
    turned = fitted[HEAD] @ Rotation.from_euler("y", 40, degrees=True).as_matrix()
    face = person.face
    face.rotation = (turned @ np.diag([1.0, -1.0, -1.0])).astype(np.float32)  # mesh_head's inverse

    still, world = HeadFromFace().apply(person.skeleton, person.world, face, 0.0, ease=False)
    rotations = world_rotations(np.asarray(still.rotations, np.float64))
    assert _angle(rotations[HEAD], turned) < 0.01
    turn = Rotation.from_matrix(fitted[NECK].T @ rotations[NECK]).as_rotvec(degrees=True)  # the neck's own axes
    assert np.allclose(turn[[0, 2]], 0.0, atol=0.02)  # about its bone only (rebuilt from the results' rounded joints)
    assert turn[1] == pytest.approx(40 * NECK_TWIST_SHARE, abs=0.5)  # half the turn (the fit's neck twists 0.5)
    others = ~np.isin(np.arange(len(rotations)), [NECK, HEAD])
    assert np.allclose(rotations[others], fitted[others], atol=1e-5)
    assert still.joints3d is person.skeleton.joints3d  # turning the neck about its bone moves no joint
    again = world_pose(still)  # the world pose turned with it, as the sinks' own would be
    assert np.allclose(world.local, again.local) and np.allclose(world.world, again.world, atol=1e-9)

    head = HeadFromFace()
    angles = []
    for time_s, seen in ((0.0, True), (EASE_IN_S / 2, True), (EASE_IN_S, True), (EASE_IN_S + EASE_OUT_S / 2, False),
                         (EASE_IN_S + EASE_OUT_S, False)):
        out, _ = head.apply(person.skeleton, person.world, face if seen else None, time_s)
        angles.append(_angle(world_rotations(np.asarray(out.rotations, np.float64))[HEAD], fitted[HEAD]))
    assert angles == pytest.approx([0.0, 20.0, 40.0, 20.0, 0.0], abs=0.05)


def test_the_neck_keeps_its_bend_and_takes_half_the_heads_twist_about_its_bone():
    """A neck bent forward and aside (about an axis across its bone: no twist), and the head on it turned 60 degrees
    about the neck bone then nodded 15: the neck keeps its bend and turns 30 degrees about its bone, the head takes
    the rest."""
    from livecap.pose.head import split_neck_head

    bend = Rotation.from_rotvec([30.0, 0.0, 10.0], degrees=True)
    head_on_chest = bend * Rotation.from_euler("YX", [60, 15], degrees=True)
    neck, head = split_neck_head(bend.as_quat(), head_on_chest.as_quat(), np.array([0.0, 0.12, 0.0]))
    expected_neck = bend * Rotation.from_euler("Y", 30, degrees=True)
    assert _angle(Rotation.from_quat(neck).as_matrix(), expected_neck.as_matrix()) < 1e-6
    expected_head = Rotation.from_euler("YX", [30, 15], degrees=True)
    assert _angle(Rotation.from_quat(head).as_matrix(), expected_head.as_matrix()) < 1e-6


def test_with_faces_the_eyes_are_joints_under_the_head_at_rest_where_the_irises_are_not_measured(
        face_run, two_people_results):
    """balanced leaves the iris model out: the BVH has LeftEye and RightEye under the Head, looking ahead (End
    Sites forward) and at rest in every frame, and the results' "eyes" are null; the header lists the eye bones.
    Without faces neither the header, the records nor the hierarchy have eyes."""
    bvh = read(face_run.bvh / "take_person1.bvh")
    names, parents, _ = full_skeleton(fingers=False, eyes=True)
    assert bvh.names == names and [j.parent for j in bvh.joints] == parents
    for name in EYE_JOINTS:
        eye = bvh.joints[bvh.index(name)]
        assert bvh.names[eye.parent] == "Head" and eye.end_site[2] > 0 and not eye.end_site[:2].any()
        assert not bvh.motion[:, eye.first_channel:eye.first_channel + 3].any()
    skeleton = face_run.header["skeleton"]
    assert skeleton["eye_bones"] == list(EYE_JOINTS) and skeleton["eye_parents"] == ["Head", "Head"]
    assert all(p["eyes"] is None for f in face_run.frames for p in f["people"])
    header, frames = two_people_results
    assert "eye_bones" not in header["skeleton"] and all("eyes" not in p for f in frames for p in f["people"])
    assert (header["skeleton"]["joints"], header["skeleton"]["parents"]) == (list(JOINTS), list(PARENTS))


def test_the_eyes_follow_the_gaze_in_the_bvh_as_blender_reads_it(face_run, tmp_path):
    """The face run's poses with the gaze measured (irises on) and sweeping left-right and up-down: the BVH's eye
    channels are the gaze's rotation (livecap.pose.head.eye_rotation), and Blender's importer puts every joint
    and each eye's End Site (where the eye looks) where livecap's forward kinematics does."""
    results = [frame_from_record(record) for record in face_run.frames[:45]]
    gazes = []  # person 1's, None where their face is not seen
    for k, result in enumerate(results):
        result.time = k / 30.0  # the file's own rate: its frame k is this frame
        side, up = np.sin(k / 4.0), np.cos(k / 6.0)
        gaze = {"LookLeft": max(side, 0.0), "LookRight": max(-side, 0.0), "LookUp": max(up, 0.0),
                "LookDown": max(-up, 0.0)}
        for person in result.people:
            if person.face is not None:
                person.face.iris = True
                person.face.expressions.update(gaze)
        first = next(p for p in result.people if p.id == 1)
        gazes.append(gaze if first.face is not None else None)
    sink = BvhSink(BvhOptions(tmp_path, units="m", take="eyes"))
    sink.start(stream_info())
    for result in results:
        sink.write(result)
    sink.close()
    path = tmp_path / "eyes_person1.bvh"
    bvh = read(path)
    eye = bvh.joints[bvh.index("LeftEye")]
    recorded = Rotation.from_euler(eye.rotation_order, bvh.motion[:, eye.first_channel:eye.first_channel + 3],
                                   degrees=True)
    checked = 0
    for k, gaze in enumerate(gazes[:bvh.frames]):
        expected = Rotation.from_quat(eye_rotation(gaze)) if gaze is not None else Rotation.identity()
        assert np.degrees((recorded[k].inv() * expected).magnitude()) < 0.01
        checked += gaze is not None
    assert checked >= 30
    blender = blender_pose(path, tmp_path)
    ours = y_up_to_blender(world_positions(bvh, end_sites=True))
    theirs = np.array([[frame[name] for name in bvh.names] for frame in blender["frames"]])
    tips = [k for k, joint in enumerate(bvh.joints) if joint.end_site is not None]
    tails = np.array([[frame[bvh.names[k]] for k in tips] for frame in blender["tails"]])
    error_mm = 1000 * max(np.abs(theirs - ours[:, :len(bvh.names)]).max(),
                          np.abs(tails - ours[:, len(bvh.names):]).max())
    print(f"Blender vs livecap with eyes: max {error_mm:.4f} mm over {bvh.frames} frames")
    assert error_mm < 1.0


def test_a_rotation_matrix_gives_scipys_quaternion():
    from livecap.pose.head import quaternion_of

    for rotation in Rotation.random(500, random_state=27):
        q, expected = quaternion_of(rotation.as_matrix()), rotation.as_quat()
        assert np.allclose(q, expected, atol=1e-9) or np.allclose(q, -expected, atol=1e-9)
