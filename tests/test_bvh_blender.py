"""`livecap bvh blender FILE...`: every person's file of a take imported into one Blender scene by the real
Blender, headless: in metres whatever the file's units, each person starting at the scene frame of their first
sighting, the camera where it stood; every joint where livecap's own forward kinematics puts it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bvh_support import blender_or_skip, results_from_jsonl, stream_info, y_up_to_blender
from conftest import REPO, run_livecap
from livecap.sinks.bvh.format import world_positions
from livecap.sinks.bvh.reader import read
from livecap.sinks.bvh.recorder import BvhOptions, BvhSink

DUMP_SCRIPT = Path(__file__).parent / "blender" / "dump_scene.py"


def scene_of(blend: Path, tmp_path: Path) -> dict:
    """What Blender finds in the saved scene when it opens it again."""
    out = tmp_path / "scene.json"
    done = subprocess.run([blender_or_skip(), "-b", str(blend), "--python-exit-code", "1", "-P", str(DUMP_SCRIPT),
                           "--", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(out.read_text())


def import_with_livecap(files: list[Path], tmp_path: Path) -> tuple[subprocess.CompletedProcess, dict]:
    blend = tmp_path / "take.blend"
    done = run_livecap("bvh", "blender", *map(str, files), "--blender", blender_or_skip(), "--save", str(blend))
    assert done.returncode == 0, done.stderr
    return done, scene_of(blend, tmp_path)


def assert_where_livecap_puts_them(armature: dict, path: Path, start: int, metres_per_unit: float) -> None:
    bvh = read(path)
    assert armature["range"] == [start, start + bvh.frames - 1]
    theirs = np.array([[armature["frames"][str(start + k)][name] for name in bvh.names] for k in range(bvh.frames)])
    ours = y_up_to_blender(world_positions(bvh)) * metres_per_unit
    error_mm = np.abs(theirs - ours).max() * 1000
    print(f"{path.name} in Blender from frame {start}: max {error_mm:.4f} mm over {bvh.frames} frames")
    assert error_mm < 1.0


def test_a_take_in_centimetres_is_imported_in_metres_in_one_scene(tmp_path):
    takes = tmp_path / "takes"
    done = run_livecap("process", str(REPO / "samples" / "two_people.mp4"), "--out", str(tmp_path / "r.jsonl"),
                       "--bvh", str(takes), "--bvh-take", "two", "--max-frames", "40")
    assert done.returncode == 0, done.stderr
    first, second = takes / "two_person1.bvh", takes / "two_person2.bvh"
    foreign = tmp_path / "elsewhere" / "dancer.bvh"  # a file without livecap's sidecar: its units are guessed
    foreign.parent.mkdir()
    shutil.copy(second, foreign)
    done, scene = import_with_livecap([first, foreign], tmp_path)
    assert f"imported {first} as two_person1: frames 1-40 at 30 fps, scale 0.01 (cm)" in done.stdout
    assert f"imported {foreign} as dancer: frames 1-40 at 30 fps, scale 0.01 (units guessed)" in done.stdout
    assert sorted(scene["armatures"]) == ["dancer", "two_person1"]
    assert scene["fps"] == 30 and (scene["frame_start"], scene["frame_end"]) == (1, 40)
    assert_where_livecap_puts_them(scene["armatures"]["two_person1"], first, 1, 0.01)
    assert_where_livecap_puts_them(scene["armatures"]["dancer"], foreign, 1, 0.01)
    head = np.array(scene["armatures"]["two_person1"]["frames"]["1"]["Head"])
    assert 1.2 < head[2] < 2.0  # metres above the ground plane
    floor_y = json.loads((takes / "two_person1.bvh.json").read_text())["floor_y"]
    [camera] = scene["cameras"].values()
    assert np.allclose(camera["location"], [0, 0, -floor_y], atol=1e-5) and 0.3 < -floor_y < 3


def test_people_who_came_later_start_at_their_own_scene_frame(two_people_results, tmp_path):
    _, frames = two_people_results
    results = results_from_jsonl(frames)
    for result in results[:20]:  # person 2 first seen at 0.67 s
        result.people = [p for p in result.people if p.id != 2]
    sink = BvhSink(BvhOptions(tmp_path / "takes", units="m", take="late"))
    sink.start(stream_info())
    for result in results:
        sink.write(result)
    sink.close()
    first, second = tmp_path / "takes" / "late_person1.bvh", tmp_path / "takes" / "late_person2.bvh"
    start_time = json.loads((tmp_path / "takes" / "late_person2.bvh.json").read_text())["start_time"]
    assert start_time == pytest.approx(results[20].time)
    done, scene = import_with_livecap([first, second], tmp_path)
    start = 1 + round(start_time * 30)
    assert start == 21 and "scale 1 (m)" in done.stdout
    assert_where_livecap_puts_them(scene["armatures"]["late_person1"], first, 1, 1.0)
    assert_where_livecap_puts_them(scene["armatures"]["late_person2"], second, start, 1.0)
    assert scene["frame_end"] == max(a["range"][1] for a in scene["armatures"].values())


def test_blender_missing_or_files_missing_are_one_line_errors(tmp_path):
    done = run_livecap("bvh", "blender", str(tmp_path / "none.bvh"), "--save", str(tmp_path / "s.blend"))
    assert done.returncode == 2
    assert done.stderr.strip() == (f"livecap: error: {tmp_path / 'none.bvh'} does not exist: give the BVH files of a "
                                   f"take (DIR/<take>_person*.bvh)")
    (tmp_path / "a.bvh").write_text("")
    done = run_livecap("bvh", "blender", str(tmp_path / "a.bvh"), "--blender", str(tmp_path / "no-blender"),
                       "--save", str(tmp_path / "s.blend"))
    assert done.returncode == 2 and "is not an executable: install Blender" in done.stderr
    assert "--blender PATH" in done.stderr and len(done.stderr.strip().splitlines()) == 1
