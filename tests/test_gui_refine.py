"""The desktop app refines its recordings, for real under Xvfb on the sample clip: a stopped take's BVH files are
replaced by the refined take's (same names, complete, in step with the take), a second take records while the first
is refined, a refined take that cannot be written keeps the live one and says why, and closing the window waits for
the refine (or, closed again, keeps the live take)."""

from __future__ import annotations

import errno
import json
import os

from gui_support import start_video, wait_end, wait_people
from livecap.gui.settings import AppStart

SHORT = AppStart(recording={"min_seconds": 0.5})  # short takes keep the tests fast


def sidecar(path) -> dict:
    return json.loads(path.with_name(path.name + ".json").read_text())


def recorded_for(window, qtbot, seconds: float = 1.2):
    """Records until the take holds `seconds` of video, stops, and returns the live recorder and the refine job."""
    window.record_panel.record.click()
    live, takes = window.outputs.recorder, window.outputs.take_recorder
    frames = lambda: takes.take.frames.time if takes.take is not None else []  # noqa: E731
    qtbot.waitUntil(lambda: len(frames()) > 1 and frames()[-1] - frames()[0] >= seconds, timeout=60_000)
    window.record_panel.record.click()
    job, _ = window.outputs.refiner.current()
    assert job is not None and job.live is live, window.last_message
    return live, job


def wait_refined(window, qtbot):
    qtbot.waitUntil(lambda: not window.outputs.refiner.busy, timeout=120_000)
    qtbot.waitUntil(lambda: not window.record_panel.refining.isVisible(), timeout=5000)


def assert_refined(live, job):
    """The take's files are the refined take's, in place of the live ones: same names, whole, one frame every
    1/fps over each person's refined span, which lies within the take."""
    from livecap.sinks.bvh.reader import read as read_bvh

    assert job.stage == "done", job.message()
    folder = live.options.directory
    assert job.files and all(path.parent == folder and path.name.startswith(f"{live.take}_person")
                             for path in job.files)
    assert set(folder.glob(f"{live.take}_person*.bvh")) == set(job.files)  # the live ones not refined are gone
    assert not list(folder.glob(".*refining*"))
    fps = live.options.fps
    for path in job.files:
        record = sidecar(path)
        assert record["state"] == "complete" and record["refined"]["passes"] == 2
        assert record["refined"]["landmark_model"] == "blazepose_landmark_full"  # what the live pass ran
        frames = read_bvh(path).frames
        assert frames == record["frames"] == int(record["seconds"] * fps + 1e-3) + 1  # seconds: to the microsecond
        assert record["seconds"] <= job.seconds + 1e-6
    # both people are seen from the take's start to its end: the refined files span it whole (to a frame)
    spans = sorted(sidecar(path)["seconds"] for path in job.files)
    assert spans[-1] >= job.seconds - 2 / fps, (spans, job.seconds)


def test_a_stopped_take_is_refined_in_place_of_the_live_one_while_the_next_take_records(make_window, qtbot,
                                                                                         tmp_path):
    folder = tmp_path / "takes"
    window = make_window(start=SHORT)
    assert window.record_panel.refine.isChecked()  # on by default
    window.record_panel.folder.setText(str(folder))
    window.source_panel.loop.setChecked(True)
    start_video(window, qtbot)
    wait_people(window, qtbot)
    first, first_job = recorded_for(window, qtbot)
    assert first.files and all(path.exists() for path in first.files)  # the live take, complete, until refined
    assert all(sidecar(path)["state"] == "complete" and "refined" not in sidecar(path) for path in first.files)
    assert "refining" in window.last_message[1]
    assert window.record_panel.refining.isVisible() and f"take {first.take}" in window.record_panel.refining.format()
    second, second_job = recorded_for(window, qtbot)  # recorded while the first is refined (or just was)
    assert second.take != first.take
    wait_refined(window, qtbot)
    assert_refined(first, first_job)
    assert_refined(second, second_job)
    level, text = window.last_message
    assert level == "ok" and f"take {second.take} refined" in text and str(folder) in text
    window.source_panel.start.click()  # stop


def test_a_refined_take_that_cannot_be_written_keeps_the_live_take_and_says_why(make_window, qtbot, tmp_path,
                                                                                 monkeypatch):
    """The disk fills while the refined take is written (the live take was written whole before)."""
    from livecap.sinks.bvh import stream as bvh_stream

    def full_for_refined(fd, data):
        if ".refining" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data)

    monkeypatch.setattr(bvh_stream.BvhStream, "write_bytes", staticmethod(full_for_refined))
    folder = tmp_path / "takes"
    window = make_window(start=SHORT)
    window.record_panel.folder.setText(str(folder))
    window.record_panel.record.click()  # armed: the take is the whole clip, stopped when it ends
    start_video(window, qtbot)
    wait_end(window, qtbot)
    live = window.outputs.refiner.current()[0].live
    wait_refined(window, qtbot)
    level, text = window.last_message
    assert level == "error" and f"take {live.take} not refined" in text and "No space left on device" in text
    assert "free some disk space" in text and "live files are kept" in text
    assert sorted(folder.glob("*.bvh")) == sorted(live.files) and len(live.files) == 2
    assert all("refined" not in sidecar(path) and sidecar(path)["state"] == "complete" for path in live.files)
    assert not list(folder.glob(".*refining*"))


def test_closing_waits_for_the_refine_and_closing_again_keeps_the_live_take(make_window, qtbot, tmp_path):
    waiting = make_window(tmp_path / "one", start=SHORT)
    waiting.record_panel.folder.setText(str(tmp_path / "waited"))
    waiting.source_panel.loop.setChecked(True)
    start_video(waiting, qtbot)
    wait_people(waiting, qtbot)
    live, job = recorded_for(waiting, qtbot)
    waiting.close()
    if waiting.outputs.refiner.busy:  # the usual case: the take is still being refined
        assert waiting.isVisible() and "closing once the take is refined" in waiting.last_message[1]
    qtbot.waitUntil(lambda: not waiting.isVisible(), timeout=120_000)
    assert_refined(live, job)

    cancelled = make_window(tmp_path / "two", start=SHORT)
    cancelled.record_panel.folder.setText(str(tmp_path / "kept"))
    cancelled.source_panel.loop.setChecked(True)
    start_video(cancelled, qtbot)
    wait_people(cancelled, qtbot)
    cancelled.record_panel.record.click()
    recording = cancelled.outputs.recorder
    qtbot.waitUntil(lambda: len(recording.files) >= 1, timeout=60_000)
    cancelled.close()  # stops the recording: its take is refined, and the window waits for it
    job, _ = cancelled.outputs.refiner.current()
    assert cancelled.isVisible() and job is not None
    cancelled.close()  # closed again: the refine is cancelled, the live take kept as it was
    assert not cancelled.isVisible() and job.stage == "cancelled"
    assert "not refined (the app was closed)" in job.message()
    assert sorted((tmp_path / "kept").glob("*.bvh")) == sorted(recording.files)
    assert all("refined" not in sidecar(path) for path in recording.files)
    assert not list((tmp_path / "kept").glob(".*refining*"))
