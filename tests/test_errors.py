"""Every failure a user can cause ends with one clear line and a non-zero exit, never a traceback,
and results already written stay valid JSONL."""

from __future__ import annotations

import json
import resource
import signal
import sys

import pytest

from conftest import media, run_livecap


def assert_one_line_error(done, *words: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("livecap: error:")]
    assert len(errors) == 1, done.stderr
    for word in words:
        assert word in errors[0], errors[0]


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


def test_unwritable_output_path(tmp_path):
    done = run_livecap("process", str(media("images/ochuman/000817.jpg")),
                       "--out", str(tmp_path / "missing-folder" / "o.jsonl"))
    assert_one_line_error(done, "missing-folder", "--out")


def test_output_path_that_is_a_folder(tmp_path):
    done = run_livecap("process", str(media("images/ochuman/000817.jpg")), "--out", str(tmp_path))
    assert_one_line_error(done, str(tmp_path))


def _limit_file_size():
    # the file-size limit stands in for a full disk: writes past it fail with EFBIG, like ENOSPC
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (40000, 40000))


@pytest.mark.skipif(sys.platform == "win32", reason="uses POSIX resource limits")
def test_full_disk_keeps_every_line_written_before_it(tmp_path):
    out = tmp_path / "o.jsonl"
    done = run_livecap("process", str(media("video/two_people_1080p.mp4")), "--out", str(out),
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
