"""Every failure a user can cause ends with one clear line and a non-zero exit, never a traceback,
and results already written stay valid JSONL."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sys

import pytest

from conftest import TWO_PEOPLE, VTEST, lines_on_disk, media, read_jsonl, run_livecap


SAMPLE = TWO_PEOPLE  # its index (moov box) is at its end, as many recorders write it


def assert_one_line_error(done, *words: str) -> None:
    """The whole of stderr is livecap's one error line: no library's own message before it, no second report."""
    assert done.returncode != 0
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("livecap: error:"), done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_missing_input_names_the_path(tmp_path):
    done = run_livecap("process", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "o.jsonl"))
    assert_one_line_error(done, "nope.mp4", "does not exist")


def test_file_that_is_not_a_video_or_image(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video")
    done = run_livecap("process", str(fake), "--out", str(tmp_path / "o.jsonl"))
    assert_one_line_error(done, "notes.mp4", "video")


def test_empty_folder(tmp_path):
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "readme.txt").write_text("no images here")
    done = run_livecap("process", str(tmp_path / "frames"), "--out", str(tmp_path / "o.jsonl"))
    assert_one_line_error(done, "frames", "no images")


def test_output_path_that_is_a_folder(tmp_path):
    done = run_livecap("process", str(SAMPLE), "--out", str(tmp_path))
    assert_one_line_error(done, str(tmp_path), "is a folder", "--out")


# ---- every output is checked before the first frame: a wrong path or host costs seconds, not the whole run


@pytest.fixture
def blocker(tmp_path):
    """A file where a folder should be: nothing can be created below it, by any user, root included."""
    path = tmp_path / "a_file"
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize("command", ["process", "run"])
def test_a_results_file_in_a_missing_folder_is_refused_before_the_first_frame(tmp_path, command):
    out, takes = tmp_path / "missing-folder" / "o.jsonl", tmp_path / "takes"
    source = [str(SAMPLE)] if command == "process" else ["--source", str(SAMPLE)]
    done = run_livecap(command, *source, "--out", str(out), "--bvh", str(takes))
    assert_one_line_error(done, str(out), "missing-folder does not exist", "--out")
    assert not takes.exists()  # the recorder, which creates its folder when the run starts, never started


@pytest.mark.parametrize("command", ["process", "run", "batch"])
def test_a_bvh_folder_that_cannot_be_created_is_refused_before_the_first_frame(tmp_path, blocker, command):
    """Before, the whole video ran first, and the recording failed at its end."""
    out, takes = tmp_path / "r.jsonl", blocker / "takes"
    args = {"process": [str(SAMPLE), "--out", str(out)], "run": ["--source", str(SAMPLE), "--out", str(out)],
            "batch": [str(SAMPLE), "--out-dir", str(tmp_path / "batch")]}[command]
    done = run_livecap(command, *args, "--bvh", str(takes))
    assert_one_line_error(done, str(takes), "a_file is a file, not a folder", "--bvh")
    assert not out.exists() and not (tmp_path / "batch").exists()  # no results header: no frame was processed


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="root writes into read-only folders; Windows ignores the mode bits")
def test_a_bvh_folder_without_write_permission_is_refused_before_the_first_frame(tmp_path):
    out, takes = tmp_path / "r.jsonl", tmp_path / "takes"
    takes.mkdir()
    takes.chmod(0o555)
    done = run_livecap("process", str(SAMPLE), "--out", str(out), "--bvh", str(takes))
    assert_one_line_error(done, str(takes), "Permission denied", "writable --bvh folder")
    assert not out.exists() and not list(takes.iterdir())


@pytest.mark.parametrize("command, flag", [("process", "--vmc"), ("run", "--osc")])
def test_a_stream_to_a_host_that_does_not_resolve_is_refused_before_the_first_frame(tmp_path, command, flag):
    """Before, the run went on sending nothing, and ended with success."""
    out = tmp_path / "r.jsonl"
    source = [str(SAMPLE)] if command == "process" else ["--source", str(SAMPLE)]
    done = run_livecap(command, *source, "--out", str(out), flag, "nosuchhost.invalid:9001")  # .invalid never resolves
    assert_one_line_error(done, f"cannot stream {flag} to nosuchhost.invalid:9001", "check the host name")
    assert not out.exists()


# ---- inputs: livecap's one line, with no FFmpeg or OpenCV message before it


@pytest.mark.parametrize("size, says", [(300_000, ", ending at byte 300000 of the 748278 it announces,"),
                                         (748_278, "(moov box), as")])  # the frames whole, the index never written
def test_an_mp4_without_its_index_is_named_incomplete(tmp_path, size, says):
    """A copy cut short of a file whose index (moov box) comes last, as the shipped sample's does, or a recording
    that stopped before writing it: FFmpeg used to say "moov atom not found", then livecap that it was no video."""
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(SAMPLE.read_bytes()[:size])
    done = run_livecap("process", str(cut), "--out", str(tmp_path / "o.jsonl"))
    assert_one_line_error(done, str(cut), "incomplete MP4 without its index (moov box)", says,
                          "copy or export it again from the complete original")
    verbose = run_livecap("-v", "process", str(cut), "--out", str(tmp_path / "o.jsonl"))
    assert "moov atom not found" in verbose.stderr  # asked for, FFmpeg's own words are there for a bug report


def test_a_camera_that_is_not_there_is_one_line(tmp_path):
    done = run_livecap("run", "--source", "63", "--out", str(tmp_path / "o.jsonl"))
    assert_one_line_error(done, "cannot open camera 63", "livecap cameras")  # OpenCV printed two [ WARN ] lines


def test_an_image_of_another_size_in_a_sequence_is_skipped_with_a_notice(tmp_path):
    """A sequence is one camera's frames: a stray image of another size is no frame of it (through the sequence's
    camera its people would be placed wrongly). Before, it went through anyway, without a word."""
    folder = tmp_path / "frames"
    folder.mkdir()
    for name, image in (("a.jpg", "crowdpose/103319.jpg"), ("b.jpg", "ochuman/000817.jpg"),
                        ("c.jpg", "crowdpose/103319.jpg")):  # 640 x 480, 665 x 1000, 640 x 480
        shutil.copy(media(f"images/{image}"), folder / name)
    out = tmp_path / "o.jsonl"
    done = run_livecap("process", str(folder), "--out", str(out))
    assert done.returncode == 0, done.stderr
    [notice] = done.stderr.splitlines()
    assert all(word in notice for word in ("b.jpg", "665x1000", "the sequence is 640x480", "--stills")), notice
    _, frames = read_jsonl(out)
    assert [f["image"] for f in frames] == ["a.jpg", "c.jpg"] and all(f["people"] for f in frames)


def _limit_file_size():
    # the file-size limit stands in for a full disk: writes past it fail with EFBIG, like ENOSPC
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (40000, 40000))


@pytest.mark.skipif(sys.platform == "win32", reason="uses POSIX resource limits")
def test_full_disk_keeps_every_line_written_before_it(tmp_path):
    out = tmp_path / "o.jsonl"
    done = run_livecap("process", str(TWO_PEOPLE), "--out", str(out),
                       preexec_fn=_limit_file_size)
    assert_one_line_error(done, "o.jsonl", "kept")
    text = out.read_text()
    assert text.endswith("\n")
    lines = [json.loads(line) for line in text.splitlines()]
    assert "livecap" in lines[0] and len(lines) >= 2
    assert [line["frame"] for line in lines[1:]] == list(range(len(lines) - 1))


def test_non_image_files_in_a_folder_are_skipped_with_a_notice(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(media("images/ochuman/000817.jpg").read_bytes())
    (folder / "b.txt").write_text("not an image")
    out = tmp_path / "o.jsonl"
    done = run_livecap("process", str(folder), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "b.txt" in done.stderr
    assert len(out.read_text().splitlines()) == 2


def test_unknown_preset_is_refused_by_the_parser(tmp_path):
    done = run_livecap("process", "x.mp4", "--out", "o.jsonl", "--preset", "turbo")
    assert done.returncode == 2 and "turbo" in done.stderr and "Traceback" not in done.stderr


def test_without_onnx_runtime_every_command_names_both_installs(tmp_path):
    # an import blocker standing in for an environment where neither runtime package is installed
    (tmp_path / "onnxruntime").mkdir()
    (tmp_path / "onnxruntime" / "__init__.py").write_text("raise ImportError('No module named onnxruntime')\n")
    for args in (["models", "list"], ["process", "x.mp4", "--out", "o.jsonl"]):
        done = run_livecap(*args, env={"PYTHONPATH": str(tmp_path)})
        assert_one_line_error(done, "ONNX Runtime is not installed", ".[cpu]", ".[gpu]")


@pytest.mark.parametrize("count", ["0", "-1"])
def test_a_frame_limit_below_one_is_refused(tmp_path, count):
    done = run_livecap("process", str(TWO_PEOPLE), "--out", str(tmp_path / "o.jsonl"),
                       "--max-frames", count)
    assert done.returncode == 2 and "--max-frames" in done.stderr and "give 1 or more" in done.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_a_video_cut_short_says_how_many_frames_were_read_of_how_many(tmp_path):
    """An mp4 whose index comes first (written with +faststart) promises every frame before the data ends."""
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(VTEST.read_bytes()[:600_000])  # about a third of its 300 frames
    done = run_livecap("process", str(cut), "--out", str(tmp_path / "o.jsonl"), "--preset", "fast")
    assert done.returncode == 0, done.stderr
    frames = len((tmp_path / "o.jsonl").read_text().splitlines()) - 1
    assert f"ended after {frames} of the 300 frames it promises" in done.stderr and 20 < frames < 200


def test_an_output_that_fails_mid_run_fails_the_command_and_leaves_complete_files(tmp_path, monkeypatch, capsys):
    """A full disk under the BVH folder: the results file is still written whole, every BVH take and sidecar is
    completed (the sidecar in the room it reserved), no temporary file is left, and the command ends with 2."""
    import errno
    import pathlib

    from livecap.app import cli
    from livecap.sinks.bvh import stream as bvh_stream

    full = {"now": False, "writes": 0}
    real_write, real_write_text = bvh_stream.os.write, pathlib.Path.write_text

    def fill_up(fd, data):
        full["writes"] += 1
        if full["writes"] > 40:
            full["now"] = True
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    def write_text(path, text, *args, **kwargs):
        if full["now"] and path.name.endswith(".json.tmp"):
            real_write_text(path, "")  # created, then nothing fits
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_text(path, text, *args, **kwargs)

    monkeypatch.setattr(bvh_stream.BvhStream, "write_bytes", staticmethod(fill_up))
    monkeypatch.setattr(pathlib.Path, "write_text", write_text)
    out, takes = tmp_path / "o.jsonl", tmp_path / "takes"
    previous = signal.getsignal(signal.SIGTERM)
    try:
        code = cli.main(["process", str(TWO_PEOPLE), "--out", str(out), "--bvh", str(takes),
                         "--no-progress"])
    finally:
        signal.signal(signal.SIGTERM, previous)
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("livecap: error:")]
    assert code == 2 and len(errors) == 1
    assert "the bvh output failed" in errors[0] and "No space left" in errors[0] and "completed: jsonl" in errors[0]
    assert len(out.read_text().splitlines()) == 1 + 72
    sidecars = [json.loads(path.read_text()) for path in takes.glob("*.bvh.json")]
    assert sidecars and all(record["state"] == "complete" for record in sidecars)
    assert not list(takes.glob("*.tmp"))


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("command", ["process", "run"])
def test_sigterm_stops_as_gracefully_as_ctrl_c(tmp_path, command):
    import subprocess
    import time

    out, takes = tmp_path / "o.jsonl", tmp_path / "takes"
    source = str(VTEST)
    args = ["process", source, "--out", str(out)] if command == "process" else \
        ["run", "--source", source, "--paced", "--out", str(out)]
    child = subprocess.Popen([sys.executable, "-m", "livecap", *args, "--preset", "fast", "--bvh", str(takes),
                              "--bvh-min-seconds", "0.5"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(lines_on_disk(out)) < 40:
        time.sleep(0.2)
    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 143, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]  # whole lines only
    assert len(records) >= 40
    sidecars = [json.loads(path.read_text()) for path in takes.glob("*.bvh.json")]
    assert sidecars and all(record["state"] == "complete" for record in sidecars)
