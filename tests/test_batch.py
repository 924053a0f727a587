"""`livecap batch`: many real videos through worker processes and a real local Ray instance give the results of
`livecap process` run on each; a corrupt input fails alone; a re-run skips what is complete; a batch killed
mid-way leaves nothing that looks complete, and its re-run completes it."""

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

from conftest import MEDIA, TWO_PEOPLE, read_jsonl, run_livecap
from livecap.app.batch_plan import BatchInput, expand_inputs
from livecap.errors import LivecapError

VIDEOS = (TWO_PEOPLE, MEDIA / "video" / "basketball_240p.mp4", MEDIA / "video" / "armwrestling_truncated.mp4")
FRAMES = 24  # per input: enough for people to be tracked, short enough for two cores
COORDINATES = ("bbox", "coco17", "landmarks2d", "world33", "joints3d", "root", "rotations", "bone_lengths")


@pytest.fixture(scope="module")
def videos() -> list[Path]:
    return list(VIDEOS)


@pytest.fixture(scope="module")
def one_by_one(videos, tmp_path_factory) -> dict[str, list[dict]]:
    """`livecap process` on each video in turn: what the batch must reproduce."""
    folder = tmp_path_factory.mktemp("process")
    frames = {}
    for video in videos:
        out = folder / f"{video.name}.jsonl"
        done = run_livecap("process", str(video), "--out", str(out), "--max-frames", str(FRAMES), "--no-progress")
        assert done.returncode == 0, done.stderr
        frames[video.name] = read_jsonl(out)[1]
    return frames


def batch(*args: str) -> subprocess.CompletedProcess:
    return run_livecap("batch", *args, "--max-frames", str(FRAMES), "--no-progress")


def records(out_dir: Path) -> dict[str, dict]:
    lines = (out_dir / "batch.json").read_text().splitlines()
    return {Path(r["input"]).name: r for r in map(json.loads, lines)}


def assert_same_results(frames: list[dict], expected: list[dict]) -> None:
    """Same frames, same people with the same ids, coordinates within 1e-4."""
    assert [f["frame"] for f in frames] == [f["frame"] for f in expected]
    for got, want in zip(frames, expected):
        assert [p["id"] for p in got["people"]] == [p["id"] for p in want["people"]]
        for person, reference in zip(got["people"], want["people"]):
            for name in COORDINATES:
                assert (name in person) == (name in reference)
                if name in person:
                    np.testing.assert_allclose(person[name], reference[name], atol=1e-4, rtol=0)


def assert_matches_process(out_dir: Path, one_by_one: dict) -> None:
    for name, expected in one_by_one.items():
        header, frames = read_jsonl(out_dir / f"{name}.jsonl")
        assert Path(header["source"]).name == name
        assert len(frames) == FRAMES
        assert_same_results(frames, expected)


def test_two_workers_give_the_results_of_process_and_a_corrupt_input_fails_alone(videos, one_by_one, tmp_path):
    corrupt = tmp_path / "x.mp4"
    corrupt.write_bytes(b"\x00\x01not a video\xff" * 3)
    out = tmp_path / "out"
    done = batch(*map(str, videos), str(corrupt), "--out-dir", str(out), "--workers", "2",
                 "--bvh", str(out), "--bvh-min-seconds", "0.5")
    assert done.returncode == 1, done.stderr  # some input failed
    assert "3 done, 1 failed" in done.stdout
    assert_matches_process(out, one_by_one)
    by_name = records(out)
    assert list(by_name) == [v.name for v in videos] + ["x.mp4"]  # one line per input, in the order given
    for video in videos:
        record = by_name[video.name]
        assert (record["status"], record["frames"], record["attempts"], record["error"]) == ("done", FRAMES, 1, None)
        assert record["people"] >= 1 and record["seconds"] > 0
        recordings = sorted((out / f"{video.name}_bvh").glob("*.bvh"))
        assert recordings and all(r.name.startswith(f"{video.stem}_person") for r in recordings)
    failed = by_name["x.mp4"]
    assert (failed["status"], failed["attempts"]) == ("failed", 2)  # tried again once
    assert "x.mp4" in failed["error"] and "\n" not in failed["error"]
    assert not (out / "x.mp4.jsonl").exists()
    assert not list(out.rglob("*.part"))

    written = {v.name: (out / f"{v.name}.jsonl").stat().st_mtime_ns for v in videos}
    again = batch(*map(str, videos), str(corrupt), "--out-dir", str(out), "--workers", "2",
                  "--bvh", str(out), "--bvh-min-seconds", "0.5")
    assert again.returncode == 1
    assert "0 done, 1 failed, 3 skipped" in again.stdout
    by_name = records(out)
    assert [by_name[v.name]["status"] for v in videos] == ["skipped"] * 3
    assert [by_name[v.name]["frames"] for v in videos] == [FRAMES] * 3  # figures kept from the run that made them
    assert {v.name: (out / f"{v.name}.jsonl").stat().st_mtime_ns for v in videos} == written


def test_a_local_ray_instance_gives_the_results_of_process(videos, one_by_one, tmp_path):
    try:
        import ray  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("ray is not installed but CI is set: .ci/run installs the ray extra")
        pytest.skip("ray is not installed (pip install -e '.[ray]'); CI runs this test")
    out = tmp_path / "out"
    done = batch(*map(str, videos), "--out-dir", str(out), "--ray", "local", "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert "3 done, 0 failed" in done.stdout
    assert_matches_process(out, one_by_one)
    assert [r["status"] for r in records(out).values()] == ["done"] * 3


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def test_a_killed_batch_leaves_nothing_that_looks_complete_and_its_rerun_completes_it(videos, one_by_one,
                                                                                        tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "livecap", "batch", *map(str, videos), "--out-dir", str(out), "--workers", "1",
               "--max-frames", str(FRAMES), "--no-progress"]
    running = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not (out / "batch.json").exists() or not (out / "batch.json").read_text().strip():
            assert running.poll() is None, "the batch ended before it could be killed"
            assert time.monotonic() < deadline, "no input finished in 300 s"
            time.sleep(0.2)
        workers = [pid for pid in _children(running.pid) if "spawn_main" in _command(pid)]
        running.send_signal(signal.SIGKILL)
    finally:
        running.wait(30)
    finished = list(records(out))
    assert 1 <= len(finished) < len(videos)
    for video in videos:  # a results file under its final name is a complete one
        if (out / f"{video.name}.jsonl").exists():
            assert len(read_jsonl(out / f"{video.name}.jsonl")[1]) == FRAMES
    assert not (out / f"{videos[-1].name}.jsonl").exists()
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid) for pid in workers):
        assert time.monotonic() < deadline, "the worker outlived its killed batch"
        time.sleep(0.2)

    done = batch(*map(str, videos), "--out-dir", str(out), "--workers", "1")
    assert done.returncode == 0, done.stderr
    statuses = {name: r["status"] for name, r in records(out).items()}
    assert [statuses[name] for name in finished] == ["skipped"] * len(finished)
    assert sorted(statuses.values()).count("done") == len(videos) - len(finished)
    assert_matches_process(out, one_by_one)
    assert not list(out.rglob("*.part"))


def test_a_worker_that_dies_mid_input_is_replaced_and_the_input_tried_again(videos, one_by_one, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "livecap", "batch", *map(str, videos[1:]), "--out-dir", str(out), "--workers",
               "1", "--max-frames", str(FRAMES), "--no-progress"]
    running = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not list(out.glob("*.part")):  # the worker is writing the first input
            assert running.poll() is None and time.monotonic() < deadline, "the first input never started"
            time.sleep(0.05)
        workers = [pid for pid in _children(running.pid) if "spawn_main" in _command(pid)]
        assert len(workers) == 1
        os.kill(workers[0], signal.SIGKILL)
        stdout, stderr = running.communicate(timeout=300)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == 0, stderr
    assert "2 done, 0 failed" in stdout
    first, second = (records(out)[v.name] for v in videos[1:])
    assert (first["status"], first["attempts"]) == ("done", 2)  # crashed once, done on its second try
    assert (second["status"], second["attempts"]) == ("done", 1)
    for video in videos[1:]:
        assert_same_results(read_jsonl(out / f"{video.name}.jsonl")[1], one_by_one[video.name])


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0]
    except (OSError, IndexError):
        return "zombie"


def test_without_ray_installed_ray_ends_with_one_line_naming_the_extra(videos, tmp_path):
    hide_ray = ("import sys; sys.modules['ray'] = None; from livecap.app.cli import main; "
                f"sys.exit(main(['batch', {str(videos[0])!r}, '--out-dir', {str(tmp_path)!r}, '--ray', 'local']))")
    done = subprocess.run([sys.executable, "-c", hide_ray], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert 'pip install -e ".[ray]"' in done.stderr and "--ray" in done.stderr


# ---- which inputs a command line names, and where their outputs go
def test_a_folder_gives_its_videos_recursively_sorted_and_its_image_folders_as_sequences(tmp_path):
    root = tmp_path / "shoot"
    for name in ("b.mp4", "a.avi", "day2/c.mkv", "day1/z.mp4", "frames/0001.png", "frames/0002.png", "notes.md"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    found = expand_inputs([str(root)])
    assert [i.key for i in found] == ["shoot/a.avi", "shoot/b.mp4", "shoot/day1/z.mp4", "shoot/day2/c.mkv",
                                      "shoot/frames"]
    assert all(Path(i.source).is_absolute() for i in found)


def test_a_list_file_names_paths_relative_to_itself_and_urls(tmp_path):
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "one.mp4").write_bytes(b"")
    listing = tmp_path / "inputs.txt"
    listing.write_text("# the day's takes\nclips/one.mp4\n\nmissing.mp4\nrtsp://cam.local:554/live?ch=2\n")
    found = expand_inputs([str(listing)])
    assert found == [BatchInput(str(tmp_path / "clips" / "one.mp4"), "clips/one.mp4"),
                     BatchInput(str(tmp_path / "missing.mp4"), "missing.mp4"),  # reported failed by its worker
                     BatchInput("rtsp://cam.local:554/live?ch=2", "urls/cam.local_554/live_ch=2")]


def test_two_inputs_that_would_write_the_same_outputs_are_refused(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "take.mp4").write_bytes(b"")
    with pytest.raises(LivecapError, match="would both write take.mp4.jsonl"):
        expand_inputs([str(tmp_path / "a" / "take.mp4"), str(tmp_path / "b" / "take.mp4")])
    with pytest.raises(LivecapError, match="does not exist"):
        expand_inputs([str(tmp_path / "nothing.mp4")])
