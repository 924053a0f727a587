"""The BVH recorder on real poses (the fitted skeletons of two_people_1080p.mp4): what the files hold, how
capture times become a fixed frame rate, who gets a file, and that no take is lost to a crash or a full disk."""

from __future__ import annotations

import errno
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from bvh_support import offsets_from_bone_lengths, results_from_jsonl, stream_info
from livecap import skeleton
from livecap.sinks.bvh import stream as bvh_stream
from livecap.sinks.bvh.format import BvhFormatError, rest_positions, world_positions
from livecap.sinks.bvh.reader import read
from livecap.sinks.bvh.repair import repair, unfinished_takes
from livecap.sinks.bvh.writer import EulerConverter
from livecap.errors import OutputError
from livecap.sinks.bvh.recorder import BvhOptions, BvhSink

FPS = 30.0


def record(results, folder, **options) -> BvhSink:
    sink = BvhSink(BvhOptions(folder, take="take", **options))
    sink.start(stream_info())
    for result in results:
        sink.write(result)
    sink.close()
    return sink


def our_fk(frames: list[dict], person: int, floor_y: float = 0.0) -> np.ndarray:
    """livecap's own forward kinematics (world space, metres) of one person's fitted poses, with the bone lengths
    they end up with (the ones the file's hierarchy is written with), heights measured from `floor_y`."""
    poses = [p for f in frames for p in f["people"] if p["id"] == person]
    offsets = offsets_from_bone_lengths(poses[-1]["bone_lengths"])
    positions = np.array([skeleton.forward_kinematics(offsets, *skeleton.to_world(p["rotations"], p["root"]))
                          for p in poses])
    positions[..., 1] -= floor_y
    return positions


def floor_of(path) -> float:
    """The floor height the recording measured its heights from (its sidecar records it)."""
    return json.loads(path.with_name(path.name + ".json").read_text())["floor_y"]


def test_people_stand_on_the_floor_at_height_zero(two_people_results, tmp_path):
    """Heights are measured from the floor under the first person recorded, shared by the take: the feet of
    everyone are near y = 0 and the hips at hip height, as animation tools expect, not at the camera's height."""
    _, frames = two_people_results
    record(results_from_jsonl(frames), tmp_path)
    floors = {floor_of(tmp_path / f"take_person{p}.bvh") for p in (1, 2)}
    assert len(floors) == 1
    for person in (1, 2):
        positions = world_positions(read(tmp_path / f"take_person{person}.bvh")) / 100.0
        feet = positions[:, [skeleton.JOINTS.index(n) for n in ("LeftFoot", "RightFoot")], 1].min(axis=1)
        assert -0.1 < np.median(feet) < 0.25
        assert 0.6 < np.median(positions[:, 0, 1]) < 1.2  # hips


def test_hierarchy_is_the_livecap_skeleton_in_its_t_pose(two_people_results, tmp_path):
    _, frames = two_people_results
    record(results_from_jsonl(frames), tmp_path)
    bvh = read(tmp_path / "take_person1.bvh")
    assert bvh.names == list(skeleton.JOINTS)
    assert [j.parent for j in bvh.joints] == list(skeleton.PARENTS)
    assert bvh.joints[0].channels == ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
    assert all(j.channels == ("Zrotation", "Xrotation", "Yrotation") for j in bvh.joints[1:])
    assert abs(bvh.frame_time - 1 / FPS) < 1e-9
    leaves = {j.name for j in bvh.joints if j.end_site is not None}
    assert leaves == {"Head", "LeftHand", "RightHand", "LeftToes", "RightToes"}
    assert all(np.linalg.norm(j.offset) > 1 for j in bvh.joints[1:])  # cm; no zero-length bones for Blender
    rest = dict(zip(bvh.names, rest_positions(bvh)))  # T-pose, Y up, the person's left on +X, toes to +Z
    assert rest["Head"][1] > rest["Hips"][1] > rest["LeftFoot"][1]
    assert rest["LeftHand"][0] > 50 and rest["RightHand"][0] < -50
    assert abs(rest["LeftHand"][1] - rest["LeftShoulder"][1]) < 1
    assert rest["LeftToes"][2] > rest["LeftFoot"][2]
    assert 140 < rest["Head"][1] - rest["LeftFoot"][1] < 200


@pytest.mark.parametrize("units, order", [("cm", "ZXY"), ("m", "ZXY"), ("cm", "ZYX"), ("m", "XYZ")])
def test_round_trip_on_a_real_recording_is_within_0_1_mm(two_people_results, tmp_path, units, order):
    """Our FK -> write -> read -> FK: frames given at the file's own rate, so frame k is input frame k."""
    _, frames = two_people_results
    record(results_from_jsonl(frames, times=[i / FPS for i in range(len(frames))]), tmp_path, units=units,
           order=order)
    for person in (1, 2):
        bvh = read(tmp_path / f"take_person{person}.bvh")
        assert {j.rotation_order for j in bvh.joints} == {order}
        ours = our_fk(frames, person, floor_of(tmp_path / f"take_person{person}.bvh"))
        theirs = world_positions(bvh) / (100.0 if units == "cm" else 1.0)
        assert theirs.shape == ours.shape == (72, 21, 3)
        error_mm = np.abs(theirs - ours).max() * 1000
        print(f"round trip {units} {order} person {person}: max error {error_mm:.6f} mm")
        assert error_mm < 0.1


def test_capture_times_are_resampled_to_the_fixed_rate(two_people_results, tmp_path):
    _, frames = two_people_results  # 72 frames, their own timestamps 0 to 2.533 s
    record(results_from_jsonl(frames), tmp_path)
    bvh = read(tmp_path / "take_person1.bvh")
    times = np.array([f["time"] for f in frames])
    assert bvh.frames == round(times[-1] * FPS) + 1 == 77
    roots = np.array([skeleton.to_world(np.tile([0, 0, 0, 1.0], (21, 1)), p["root"])[1]
                      for f in frames for p in f["people"] if p["id"] == 1])
    resampled = np.arange(bvh.frames) / FPS
    expected = np.stack([np.interp(resampled, times, roots[:, axis]) for axis in range(3)], axis=1) * 100
    expected[:, 1] -= floor_of(tmp_path / "take_person1.bvh") * 100  # heights from the floor
    assert np.abs(bvh.motion[:, :3] - expected).max() < 1e-4  # cm: the root moves linearly between samples


def test_euler_angles_never_jump_by_a_turn():
    """Three turns about Y, and a pitch through the ZXY singularity (X = 90): angles stay continuous and still
    describe the same rotations."""
    steps = np.linspace(0, 3 * 360, 400)
    spin = Rotation.from_euler("Y", steps[:, None], degrees=True)
    pitch = Rotation.from_euler("XZ", np.stack([np.linspace(0, 180, 400), np.linspace(0, 30, 400)], 1),
                                degrees=True)
    for path in (spin, pitch):
        convert = EulerConverter("ZXY")
        angles = np.array([convert(np.tile(q, (21, 1)))[0] for q in path.as_quat()])
        assert np.abs(np.diff(angles, axis=0)).max() < 10
        back = Rotation.from_euler("ZXY", angles, degrees=True)
        assert (back.inv() * path).magnitude().max() < 1e-6


def test_unwrapping_follows_the_spin_past_a_full_turn():
    convert = EulerConverter("ZXY")
    spin = Rotation.from_euler("Y", np.linspace(0, 720, 200)[:, None], degrees=True).as_quat()
    last = [convert(np.tile(q, (21, 1)))[0] for q in spin][-1]
    assert abs(last[2] - 720) < 1e-6  # Y channel counts on past 360 instead of jumping back


def test_a_person_seen_only_briefly_gets_no_file(two_people_results, tmp_path, caplog):
    _, frames = two_people_results
    results = results_from_jsonl(frames)
    for result in results[20:]:  # person 2 leaves for good after 20 frames (0.7 s)
        result.people = [p for p in result.people if p.id != 2]
    with caplog.at_level(logging.INFO, logger="livecap"):
        sink = record(results, tmp_path, min_seconds=1.0)
    assert [p.name for p in sink.files] == ["take_person1.bvh"]
    assert not (tmp_path / "take_person2.bvh").exists()
    assert "person 2 was tracked for 0.63 s only: no BVH file" in caplog.text
    assert (tmp_path / "take_person2.bvh").exists() is False
    record(results, tmp_path / "short", min_seconds=0.5)
    assert (tmp_path / "short" / "take_person2.bvh").exists()


def test_a_person_who_leaves_and_comes_back_keeps_one_file_holding_the_last_pose(two_people_results, tmp_path):
    _, frames = two_people_results
    results = results_from_jsonl(frames)
    for result in results[30:50]:  # away from 1.0 s to 1.63 s
        result.people = [p for p in result.people if p.id != 1]
    record(results, tmp_path)
    bvh = read(tmp_path / "take_person1.bvh")
    assert bvh.frames == 77  # the whole take, gap included
    side = json.loads((tmp_path / "take_person1.bvh.json").read_text())
    assert side["state"] == "complete" and side["frames"] == 77 and side["units"] == "cm"
    [(first, last)] = side["gaps"]
    assert (first, last) == (30, 49)  # output frames after the last sighting (29 at 0.967 s) until the return
    held = bvh.motion[first:last + 1]
    assert np.abs(held - held[0]).max() == 0
    assert np.abs(bvh.motion[last + 1] - held[0]).max() > 0


def test_frames_are_on_disk_while_the_take_is_recorded(two_people_results, tmp_path, monkeypatch):
    """After every frame the file already holds it; with the header completed every sync, it reads as valid."""
    monkeypatch.setattr(bvh_stream, "SYNC_SECONDS", 0.0)
    _, frames = two_people_results
    sink = BvhSink(BvhOptions(tmp_path, take="take"))
    sink.start(stream_info())
    counts = []
    for result in results_from_jsonl(frames):
        sink.write(result)
        if (tmp_path / "take_person1.bvh").exists():
            counts.append(read(tmp_path / "take_person1.bvh").frames)  # strict: header count matches
    assert counts[0] >= 29 and counts == sorted(counts) and counts[-1] == 77
    assert json.loads((tmp_path / "take_person1.bvh.json").read_text())["state"] == "recording"
    sink.close()
    assert read(tmp_path / "take_person1.bvh").frames == 77


def test_a_full_disk_stops_the_recording_with_one_line_and_keeps_a_valid_file(two_people_results, tmp_path,
                                                                             monkeypatch):
    calls = {"n": 0}
    real_write = bvh_stream.os.write

    def fill_up(fd, data):
        calls["n"] += 1
        if calls["n"] > 40:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data[:len(data) // 2 + 1])  # short writes too, as real disks may give

    monkeypatch.setattr(bvh_stream.BvhStream, "write_bytes", staticmethod(fill_up))
    _, frames = two_people_results
    sink = BvhSink(BvhOptions(tmp_path, take="take"))
    sink.start(stream_info())
    with pytest.raises(OutputError) as caught:
        for result in results_from_jsonl(frames):
            sink.write(result)
    sink.close()
    message = str(caught.value)
    assert "No space left on device" in message and "free some disk space" in message and "\n" not in message
    kept = [read(path) for path in sorted(tmp_path.glob("*.bvh"))]  # strict: complete and consistent
    assert kept and all(b.frames > 0 for b in kept)


def test_an_unwritable_folder_is_one_clear_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    sink = BvhSink(BvhOptions(blocker / "takes"))
    with pytest.raises(OutputError, match=r"cannot create the BVH folder .*a_file/takes .*: choose a writable "
                                          r"--bvh folder"):
        sink.start(stream_info())
    sink.close()


def _crashed_take(two_people_results, folder, mid_line: bool):
    """A take cut off by a crash: the file as a killed recorder leaves it (whole lines: each is one write call)
    or a power loss might (mid-line), the header's count a second old, the sidecar still 'recording'."""
    _, frames = two_people_results
    record(results_from_jsonl(frames), folder)
    path = folder / "take_person1.bvh"
    data = path.read_bytes().replace(b"Frames: 77        ", b"Frames: 60        ", 1)
    cut = data.rindex(b"\n", 0, len(data) - 1) + 1  # the last line (frame 77) is lost
    path.write_bytes(data[:cut - 25] if mid_line else data[:cut])  # mid-line: frame 76 is torn
    side = folder / "take_person1.bvh.json"
    side.write_text(json.dumps(dict(json.loads(side.read_text()), state="recording", pid=2 ** 22 + 7)))
    return path


@pytest.mark.parametrize("mid_line, problem, kept", [
    (False, "header says 60 frames, the file has 76", 76),
    (True, r"line \d+: frame has \d+ values, the hierarchy has 66 channels", 75)])
def test_repair_keeps_every_whole_frame_of_a_cut_off_take(two_people_results, tmp_path, mid_line, problem, kept):
    path = _crashed_take(two_people_results, tmp_path, mid_line)
    with pytest.raises(BvhFormatError, match=problem):
        read(path)
    report = repair(path)
    assert report.changed and report.frames == kept and report.declared == 60
    assert report.dropped_lines == (1 if mid_line else 0)
    assert read(path).frames == kept  # of 77 recorded
    assert json.loads((tmp_path / "take_person1.bvh.json").read_text())["state"] == "repaired"
    assert not repair(path).changed


@pytest.fixture(scope="module")
def recorded_take(two_people_results, tmp_path_factory) -> tuple[bytes, bytes]:
    folder = tmp_path_factory.mktemp("take")
    record(results_from_jsonl(two_people_results[1][:40]), folder)
    return (folder / "take_person1.bvh").read_bytes(), (folder / "take_person1.bvh.json").read_bytes()


def _check_cut(take: tuple[bytes, bytes], folder: Path, size: int) -> None:
    """Cut a recorded take after `size` bytes, repair it, and check that exactly its whole frames are kept."""
    (data, sidecar), path = take, folder / "cut.bvh"
    cut = data[:size]
    path.write_bytes(cut)
    (folder / "cut.bvh.json").write_bytes(sidecar)
    motion = data.index(b"Frame Time:")
    if len(cut) <= motion + len("Frame Time: "):
        with pytest.raises(BvhFormatError):  # a header cut short is an error naming a line, not a crash
            repair(path)
        return
    whole = cut.count(b"\n", data.index(b"\n", motion) + 1)
    repair(path)
    repaired = read(path)
    assert repaired.frames == whole  # a last line without its newline is cut: livecap writes both in one call
    assert repaired.frame_time == round(1 / 30, 9)  # even when the cut went through it: the sidecar has it


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fraction=st.floats(0, 1))
def test_repair_of_a_take_cut_anywhere_keeps_exactly_its_whole_frames(recorded_take, tmp_path, fraction):
    _check_cut(recorded_take, tmp_path, int(len(recorded_take[0]) * fraction))


@pytest.mark.parametrize("place, shift", [("HIERARCHY", 0), ("JOINT LeftHand", 3), ("Frame Time:", 14),
                                          ("Frame Time:", 24), ("Frame Time:", 30), ("Frame Time:", 300)])
def test_repair_of_a_take_cut_at_telling_places(recorded_take, tmp_path, place, shift):
    _check_cut(recorded_take, tmp_path, recorded_take[0].index(place.encode()) + shift)


def test_repair_leaves_complete_files_alone(tmp_path):
    import shutil

    from bvh_support import real_bvh_files

    for path in real_bvh_files():
        copy = shutil.copy(path, tmp_path / path.name)
        assert not repair(copy).changed, path
        assert copy.read_bytes() == path.read_bytes()


def test_the_next_recording_into_the_folder_repairs_unfinished_takes(two_people_results, tmp_path, caplog):
    path = _crashed_take(two_people_results, tmp_path, mid_line=True)
    assert unfinished_takes(tmp_path) == [path]
    sink = BvhSink(BvhOptions(tmp_path))
    with caplog.at_level(logging.WARNING, logger="livecap"):
        sink.start(stream_info())
    sink.close()
    assert "found an unfinished BVH recording" in caplog.text and "75 frames kept" in caplog.text
    assert read(path).frames == 75 and unfinished_takes(tmp_path) == []
    assert sink.take.startswith("two_people_1080p_")  # a new take never overwrites the old one


def test_files_wait_for_the_fitters_frozen_bone_lengths():
    from livecap import skeleton
    from livecap.pose.fitting import FitSettings

    assert FitSettings().bone_frames == skeleton.BONE_FRAMES  # the one count the BVH recorder waits for
