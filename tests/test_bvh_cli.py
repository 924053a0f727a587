"""`livecap process --bvh`, `livecap bvh info|repair` as a user runs them, and third-party readers of the files:
bvhio and Blender's own importer (headless) see the same joints where livecap puts them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bvh_support import blender_pose, bvhio_positions, results_from_jsonl, stream_info, y_up_to_blender
from conftest import TWO_PEOPLE, VTEST, lines_on_disk, read_jsonl, run_livecap
from livecap.sinks.bvh.format import world_positions
from livecap.sinks.bvh.reader import read
from livecap.sinks.bvh.recorder import BvhOptions, BvhSink


@pytest.fixture(scope="module")
def two_people_bvh(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    folder = tmp_path_factory.mktemp("bvh")
    done = run_livecap("process", str(TWO_PEOPLE), "--out", str(folder / "two.jsonl"),
                       "--bvh", str(folder / "out"), "--bvh-take", "two", "--max-frames", "40")
    assert done.returncode == 0, done.stderr
    return folder / "out", done


def test_process_writes_one_file_per_tracked_person_and_names_them(two_people_bvh):
    out, done = two_people_bvh
    assert sorted(p.name for p in out.glob("*.bvh")) == ["two_person1.bvh", "two_person2.bvh"]
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.startswith("processed 40 frames, 2 people")
    written = summary.split("two.jsonl, ", 1)[1].split(", ")
    assert sorted(written) == [str(out / "two_person1.bvh"), str(out / "two_person2.bvh")]
    for path in out.glob("*.bvh"):
        bvh = read(path)  # strict: header completed
        assert bvh.frames == 40  # 40 frames 33.3 ms apart: 0 to 1.3 s -> 30 fps frames 0 to 39
        assert (path.parent / (path.name + ".json")).exists()


def test_bvh_info_describes_a_file(two_people_bvh):
    out, _ = two_people_bvh
    done = run_livecap("bvh", "info", str(out / "two_person1.bvh"))
    assert done.returncode == 0, done.stderr
    for expected in ("joints:     21 (Hips root; 5 End Sites)", "frames:     40", "frame time: 0.0333333 s",
                     "duration:   1.333 s", "units:      centimetres", "rotation orders: ZXY"):
        assert expected in done.stdout


def test_bvhio_reads_our_files_with_the_same_joint_positions(two_people_bvh):
    out, _ = two_people_bvh
    for path in sorted(out.glob("*.bvh")):
        bvh = read(path)
        names, theirs = bvhio_positions(path, bvh.frames)
        ours = world_positions(bvh)[:, [bvh.index(n) for n in names]]
        error_mm = np.abs(ours - theirs).max() * 10  # cm -> mm
        print(f"bvhio vs livecap {path.name}: max {error_mm:.5f} mm")
        assert error_mm < 0.01


def test_blender_imports_our_files_and_puts_every_joint_where_we_do(two_people_bvh, tmp_path):
    """Blender's importer at its defaults (scale 1: centimetres read as metres, so compared x 0.01); its pose
    bones' world heads per frame, after its Y-up -> Z-up turn, within 1 mm of our forward kinematics."""
    out, _ = two_people_bvh
    for path in sorted(out.glob("*.bvh")):
        _compare_with_blender(path, tmp_path, metres_per_unit=0.01)


def test_blender_imports_a_metres_file_at_scale_1(two_people_results, tmp_path):
    _, frames = two_people_results
    sink = BvhSink(BvhOptions(tmp_path, units="m", take="metres"))
    sink.start(stream_info())
    for result in results_from_jsonl(frames[:32]):  # 1.03 s: just over the least a take is kept for
        sink.write(result)
    sink.close()
    blender = _compare_with_blender(tmp_path / "metres_person2.bvh", tmp_path, metres_per_unit=1.0)
    heads = np.array([f["Head"] for f in blender["frames"]])
    assert np.all(heads[:, 2] > np.array([f["LeftFoot"] for f in blender["frames"]])[:, 2] + 1.0)  # Z up, metres


def _compare_with_blender(path: Path, tmp_path: Path, metres_per_unit: float) -> dict:
    bvh = read(path)
    blender = blender_pose(path, tmp_path)
    assert blender["first_frame"] == 1 and blender["rotation_mode"] == "ZXY"
    assert len(blender["frames"]) == bvh.frames
    theirs = np.array([[frame[name] for name in bvh.names] for frame in blender["frames"]]) * metres_per_unit
    ours = y_up_to_blender(world_positions(bvh)) * metres_per_unit
    error_mm = np.abs(theirs - ours).max() * 1000
    print(f"Blender vs livecap {path.name}: max {error_mm:.4f} mm over {bvh.frames} frames")
    assert error_mm < 1.0
    return blender


def test_bad_recording_flags_are_one_line_usage_errors():
    done = run_livecap("process", "x.mp4", "--out", "x.jsonl", "--bvh", "d", "--bvh-order", "ZZX")
    assert done.returncode == 2 and "--bvh-order: rotation order must be a permutation of XYZ" in done.stderr
    done = run_livecap("process", "x.mp4", "--out", "x.jsonl", "--bvh", "d", "--bvh-fps", "0")
    assert done.returncode == 2 and "--bvh-fps: must be a number above 0" in done.stderr


def test_bvh_info_on_a_broken_file_names_the_line(tmp_path):
    broken = tmp_path / "broken.bvh"
    broken.write_text("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0 zero\n")
    done = run_livecap("bvh", "info", str(broken))
    assert done.returncode == 2
    assert done.stderr.strip() == f"livecap: error: {broken} line 4: OFFSET z is not a number: 'zero'"


def test_bvh_info_on_a_torn_last_frame_says_to_repair_it_and_repair_does(two_people_bvh, tmp_path):
    torn = tmp_path / "torn.bvh"
    whole = (two_people_bvh[0] / "two_person1.bvh").read_bytes()
    torn.write_bytes(whole[:len(whole) - len(whole.splitlines()[-1]) // 2 - 1])  # killed in the middle of a line
    done = run_livecap("bvh", "info", str(torn))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.strip().endswith(f"channels (an unfinished recording? try: livecap bvh repair {torn})")
    assert run_livecap("bvh", "repair", str(torn)).returncode == 0
    assert read(torn).frames == read(two_people_bvh[0] / "two_person1.bvh").frames - 1  # all but the torn one


def test_killing_a_recording_mid_take_then_repair_loses_under_a_second(tmp_path):
    """kill -9 while recording; `livecap bvh repair` then gives a valid file covering all the frames the process
    had finished but at most the last second of them. A live recording (--causal: a refined take is written only
    after the whole take was seen)."""
    out, results = tmp_path / "takes", tmp_path / "r.jsonl"
    child = subprocess.Popen([sys.executable, "-m", "livecap", "process", str(VTEST), "--out",
                              str(results), "--bvh", str(out), "--bvh-take", "killed", "--bvh-fps", "10",
                              "--max-frames", "400", "--causal"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(lines_on_disk(results)) < 60:
            time.sleep(0.2)
        assert child.poll() is None, "the recording ended before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    files = sorted(out.glob("killed_person*.bvh"))
    assert files
    done = run_livecap("bvh", "repair", *map(str, files))
    assert done.returncode == 0, done.stderr
    assert "repaired" in done.stdout or "already complete" in done.stdout
    _, frames = read_jsonl(results) if results.read_text().endswith("\n") else _whole_lines(results)
    last_time = frames[-1]["time"]  # the last frame the killed process finished
    for path in files:
        bvh = read(path)  # strict: valid after repair
        person = int(path.stem.split("person")[1])
        seen = [f["time"] for f in frames if any(p["id"] == person and "rotations" in p for p in f["people"])]
        covered = seen[0] + (bvh.frames - 1) * bvh.frame_time
        lost = min(seen[-1], last_time) - covered
        print(f"{path.name}: {bvh.frames} frames kept, {max(lost, 0):.3f} s lost")
        assert lost < 1.0


KILLED_AFTER_A_GAP = """
import json, os, signal, sys
from bvh_support import results_from_jsonl, stream_info
from livecap.sinks.bvh.recorder import BvhOptions, BvhSink

results = results_from_jsonl([json.loads(line) for line in open(sys.argv[1])][1:])
for result in results[30:50]:  # person 1 away from 1.0 s to 1.63 s
    result.people = [p for p in result.people if p.id != 1]
sink = BvhSink(BvhOptions(sys.argv[2], take="killed"))
sink.start(stream_info())
for result in results[:60]:
    sink.write(result)
os.kill(os.getpid(), signal.SIGKILL)  # mid-take, after person 1 came back
"""


@pytest.fixture(scope="module")
def take_killed_after_a_gap(tmp_path_factory) -> Path:
    """A real recording process killed (-9) with a held gap recorded (frames 32-53 of person 1, as a take that
    runs to its end records it: test_bvh_recording)."""
    folder = tmp_path_factory.mktemp("gap")
    results = folder / "two.jsonl"
    done = run_livecap("process", str(TWO_PEOPLE), "--out", str(results))
    assert done.returncode == 0, done.stderr
    child = subprocess.run([sys.executable, "-c", KILLED_AFTER_A_GAP, str(results), str(folder / "takes")],
                           cwd=Path(__file__).parent, capture_output=True, text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr
    return folder / "takes" / "killed_person1.bvh"


@pytest.mark.parametrize("cut_to, gaps", [(None, [[30, 49]]), (40, [[30, 39]]), (30, [])])
def test_repair_keeps_the_gaps_the_take_recorded(take_killed_after_a_gap, tmp_path, cut_to, gaps):
    """kill -9 (None: every frame written kept) or a power loss on top (the file cut to `cut_to` frames): the
    repaired sidecar lists the held frames the take had recorded, within the frames kept."""
    path = tmp_path / take_killed_after_a_gap.name
    path.write_bytes(take_killed_after_a_gap.read_bytes())
    side = Path(str(path) + ".json")
    side.write_bytes(Path(str(take_killed_after_a_gap) + ".json").read_bytes())
    assert json.loads(side.read_text())["state"] == "recording"
    if cut_to is not None:
        data = path.read_bytes()
        start = data.index(b"\n", data.index(b"Frame Time:")) + 1
        for _ in range(cut_to):
            start = data.index(b"\n", start) + 1
        path.write_bytes(data[:start])
    done = run_livecap("bvh", "repair", str(path))
    assert done.returncode == 0, done.stderr
    record = json.loads(side.read_text())
    frames = read(path).frames
    assert record["state"] == "repaired" and record["frames"] == frames and record["gaps"] == gaps
    assert frames >= 60 if cut_to is None else frames == cut_to
    assert f"held gaps {gaps}" in run_livecap("bvh", "info", str(path)).stdout
    if gaps:
        held = read(path).motion[32:gaps[0][1] + 1]
        assert np.abs(held - held[0]).max() == 0  # the file really holds the pose there


def _whole_lines(path: Path):
    import json

    lines = path.read_text().split("\n")[:-1]  # a torn last line is dropped
    records = [json.loads(line) for line in lines]
    return records[0], records[1:]
