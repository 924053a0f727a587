"""Ctrl-C and SIGTERM end `livecap process` and `livecap run` within a second, whatever moment they come, and what
was written by then is whole: every JSONL line parses, every BVH file reads with its header completed."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import pytest

from conftest import REPO, interruptible_livecap, lines_on_disk
from livecap.sinks.bvh.reader import read

DEADLINE_S = 1.0
TRIES = 10  # per signal and command
MOMENTS_S = [(k * 0.37) % 2.0 for k in range(TRIES)]  # after the first frame is on disk: spread over two seconds


@dataclass
class Stop:
    signal: int
    moment: float
    seconds: float  # from the signal to the process's exit
    returncode: int
    stderr: str


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """The shipped sample four times over at half size (288 frames, 10 s at 28 fps): long enough that neither
    command ends by itself before the signal comes."""
    video = cv2.VideoCapture(str(REPO / "samples" / "two_people.mp4"))
    frames = []
    ok, frame = video.read()
    while ok:
        frames.append(cv2.resize(frame, (960, 540), interpolation=cv2.INTER_AREA))
        ok, frame = video.read()
    fps = video.get(cv2.CAP_PROP_FPS)
    video.release()
    path = tmp_path_factory.mktemp("clip") / "two_people_x4.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (960, 540))
    for frame in frames * 4:
        writer.write(frame)
    writer.release()
    return path


def _frames_on_disk(results: Path) -> int:
    return max(0, len(lines_on_disk(results)) - 1)


def _stop_once(args: list[str], results: Path, signum: int, moment: float) -> Stop:
    errors = results.with_suffix(".stderr")
    with open(errors, "w") as stderr:
        child = interruptible_livecap(*args, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 120
        while _frames_on_disk(results) < 1 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(moment)
        assert child.poll() is None, f"the command ended before the signal: {errors.read_text()}"
        sent = time.monotonic()
        child.send_signal(signum)
        child.wait(timeout=30)
        seconds = time.monotonic() - sent
    finally:
        if child.poll() is None:  # it hung: leave no process behind
            child.kill()
            child.wait()
    return Stop(signum, moment, seconds, child.returncode, errors.read_text())


def _stops(make_args, tmp_path: Path) -> list[Stop]:
    """One child per signal and moment, one at a time: each stop is timed on a machine running that command alone
    (two at a time on two cores doubled the worst stop, measuring the contention, and saved a sixth of the time)."""
    stops = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        for k, moment in enumerate(MOMENTS_S):
            folder = tmp_path / f"{signal.Signals(signum).name}-{k}"
            folder.mkdir()
            stops.append(_stop_once(make_args(folder), folder / "results.jsonl", signum, moment))
    return stops


def _assert_stopped_in_time(stops: list[Stop]) -> None:
    for stop in stops:
        assert stop.returncode == 128 + stop.signal, stop.stderr  # 130 for Ctrl-C, 143 for SIGTERM
        assert "interrupted" in stop.stderr, stop.stderr
    worst = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        times = sorted(s.seconds for s in stops if s.signal == signum)
        worst[signal.Signals(signum).name] = times[-1]
        print(f"{signal.Signals(signum).name}: worst {times[-1]:.3f} s, median {times[len(times) // 2]:.3f} s "
              f"over {len(times)}: {' '.join(f'{t:.2f}' for t in times)}")
    assert max(worst.values()) < DEADLINE_S, f"the worst stop of each signal, in seconds: {worst}"


def _assert_whole_results(folders: list[Path]) -> None:
    recordings = 0
    for folder in folders:
        records = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]  # all whole
        assert "width" in records[0] and len(records) >= 2
        for path in (folder / "takes").glob("*.bvh"):
            assert read(path).frames > 0  # strict: the header's frame count matches the frames
            assert json.loads(path.with_name(path.name + ".json").read_text())["state"] == "complete"
            recordings += 1
    print(f"{recordings} BVH files in {len(folders)} takes")
    assert recordings > 0  # the stops after someone was tracked for a second (--bvh-min-seconds) left files


def test_process_with_bvh_ends_within_a_second_of_ctrl_c_or_sigterm_and_keeps_whole_files(long_clip, tmp_path):
    """As live (--causal): a refined take writes its frames only after the whole take was seen (test_refine)."""
    stops = _stops(lambda folder: ["process", str(long_clip), "--out", str(folder / "results.jsonl"), "--bvh",
                                   str(folder / "takes"), "--no-progress", "--causal"], tmp_path)
    _assert_stopped_in_time(stops)
    _assert_whole_results(list(tmp_path.iterdir()))


def test_a_paced_run_ends_within_a_second_of_ctrl_c_or_sigterm_and_keeps_whole_files(long_clip, tmp_path):
    stops = _stops(lambda folder: ["run", "--source", str(long_clip), "--paced", "--out",
                                   str(folder / "results.jsonl"), "--bvh", str(folder / "takes")], tmp_path)
    _assert_stopped_in_time(stops)
    _assert_whole_results(list(tmp_path.iterdir()))
