"""The desktop app, driven for real under Xvfb: the real engine on real video (played as a camera), real BVH
files, a real OSC receiver on loopback, settings restored by a second window. Plus its pure helpers."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import sys
import threading

import numpy as np
import pytest

from conftest import TWO_PEOPLE, VTEST
from livecap.types import PersonPose, SkeletonPose

VIDEO = TWO_PEOPLE  # 72 frames at 28 fps: 2.6 s played as a camera
CI = bool(os.environ.get("CI"))


def _gui_missing() -> str | None:
    from livecap.gui import missing_gui_packages

    if missing_gui_packages():
        return missing_gui_packages()
    if not shutil.which("Xvfb"):
        return "Xvfb is not installed (apt-get install xvfb; see docs/desktop-app.md)"
    return None


@pytest.fixture(scope="session")
def display():
    """A virtual X display for the whole session (the GL view needs a real GLX context, which the offscreen
    platform does not give). Started before pytest-qt's QApplication, and left to end with this process."""
    problem = _gui_missing()
    if problem:
        if CI:
            pytest.fail(f"the GUI tests must run in CI: {problem}")
        pytest.skip(problem)
    from livecap.gui.launch import share_gl_contexts
    from xvfb import Xvfb

    Xvfb().start()
    share_gl_contexts()


@pytest.fixture(scope="module")
def models(display):
    from livecap.gui.engine_runner import ModelCache

    return ModelCache()


@pytest.fixture
def make_window(display, qtbot, models, tmp_path):
    from livecap.gui.app import MainWindow

    def make(settings_dir=None):
        window = MainWindow(settings_dir or tmp_path / "settings", models=models)
        qtbot.addWidget(window)
        with qtbot.waitExposed(window):
            window.show()
        return window
    return make


def start_video(window, qtbot):
    from PyQt6 import QtCore

    window.source_panel.set_source(str(VIDEO))
    qtbot.mouseClick(window.source_panel.start, QtCore.Qt.MouseButton.LeftButton)
    assert window.runner.phase in ("starting", "running")


def wait_people(window, qtbot, count=2):
    qtbot.waitUntil(lambda: window.people.rowCount() >= count, timeout=60_000)


def wait_end(window, qtbot):
    qtbot.waitUntil(lambda: window.runner.phase in ("ended", "failed", "idle"), timeout=30_000)


# ---- the window, for real

def test_a_video_shows_each_person_in_the_panel_on_the_video_and_in_3d(make_window, qtbot):
    window = make_window()
    start_video(window, qtbot)
    assert window.source_panel.progress.isVisible() or window.runner.phase == "running"
    wait_people(window, qtbot)
    assert window.people.ids == sorted(window.people.ids) and len(window.people.ids) == 2
    heights = [window.people.item(row, 2).text() for row in range(2)]
    assert all(h.endswith(" m") and 1.2 < float(h.split()[0]) < 2.2 for h in heights), heights
    assert window.video.image.image is not None
    assert window.video.image.mapRectToParent(window.video.image.boundingRect()).width() == pytest.approx(1920)
    assert sum(c.isVisible() for c in window.video.curves) == 2
    assert sum(label.isVisible() for label in window.video.labels) == 2
    assert sum(item.visible() for item in window.skeletons.lines) == 2
    qtbot.waitUntil(lambda: "fps" in window.status_labels["fps"].text(), timeout=5000)
    assert window.status_labels["provider"].text() in ("CPU", "CUDA")
    assert "1920x1080" in window.status_labels["mode"].text()
    assert window.latency.curves, "no per-stage latency plotted"
    window.skeletons.follow_id = window.people.ids[0]
    window.reset_view.click()
    wait_end(window, qtbot)
    assert window.runner.phase == "ended" and window.isVisible()


def colours_drawn_in_3d(window, tolerance: int = 20, least: int = 15) -> set[tuple[int, int, int]]:
    """The people colours the 3D view really shows: its GL picture rendered now, searched for each palette colour
    (at least `least` pixels of it)."""
    from PyQt6 import QtGui

    from livecap.gui.overlay import PALETTE

    image = window.skeletons.scene.grabFramebuffer().convertToFormat(QtGui.QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint8).reshape(image.height(), -1)
    pixels = rows[:, :image.width() * 3].reshape(image.height(), image.width(), 3).astype(int)
    return {c for c in PALETTE if (np.abs(pixels - c).max(axis=-1) <= tolerance).sum() >= least}


def test_every_tracked_person_with_a_fitted_skeleton_is_drawn_in_3d(make_window, qtbot):
    """vtest.avi: three to six people at once, walking 6 to 18 m from the camera and up to 15 m apart, coming and
    going. At several moments (the engine paused, the table caught up with the picture) every person the table
    lists with a fitted skeleton is in the 3D view's rendered picture, in their colour, and nobody else is."""
    from livecap.gui.overlay import colour

    window = make_window()
    window.source_panel.set_source(str(VTEST))
    window.start()

    def listed_fitted() -> list[int]:  # rows with a height: a fitted skeleton
        return [pid for row, pid in enumerate(window.people.ids) if window.people.item(row, 2).text() != "-"]

    def table_shows_latest() -> bool:  # and so does the 3D view: the two refresh on timers of their own
        latest = window.runner.latest()
        return (latest is not None and window.people.ids == sorted(p.id for p in latest[1].people)
                and window._shown is latest[1])

    checked, last_frame = [], -1
    while len(checked) < 4:
        qtbot.waitUntil(lambda: window.runner.phase not in ("starting", "running") or (
            len(listed_fitted()) >= 3 and window.runner.latest()[1].index >= last_frame + 30), timeout=120_000)
        assert window.runner.phase == "running", f"the video ended after {checked} people were checked"
        window.runner.engine.pause()
        qtbot.waitUntil(table_shows_latest, timeout=10_000)
        listed = {colour(pid) for pid in listed_fitted()}
        drawn = colours_drawn_in_3d(window)
        assert drawn == listed, f"frame {window.runner.latest()[1].index}: people {listed_fitted()} listed"
        checked.append(len(listed_fitted()))
        last_frame = window.runner.latest()[1].index
        window.runner.engine.resume()
    window.stop()
    print(f"people listed and drawn at {len(checked)} moments: {checked}")


def test_record_writes_one_bvh_per_person_and_says_where(make_window, qtbot, tmp_path):
    from PyQt6 import QtCore

    from livecap.sinks.bvh.reader import read as read_bvh

    folder = tmp_path / "takes"
    window = make_window()
    window.record_panel.folder.setText(str(folder))
    window.source_panel.set_source(str(VIDEO))
    with qtbot.waitActive(window):  # shortcuts go to the active window (Xvfb has no window manager for that)
        window.activateWindow()
    assert window.focusWidget() is window.video
    qtbot.keyClick(window.video, QtCore.Qt.Key.Key_R)  # armed: recording starts with the engine
    assert window.record_panel.record.isChecked(), getattr(window, "last_message", None)
    qtbot.keyClick(window.video, QtCore.Qt.Key.Key_Space)
    assert window.runner.phase in ("starting", "running")
    qtbot.waitUntil(lambda: window.outputs.elapsed() is not None, timeout=60_000)
    qtbot.waitUntil(lambda: ":" in window.record_panel.elapsed.text(), timeout=5000)
    wait_end(window, qtbot)
    files = sorted(folder.glob("*.bvh"))
    assert len(files) == 2, files
    for path in files:
        motion = read_bvh(path)
        assert motion.frames > 30
    level, text = window.last_message
    assert level == "ok" and str(folder) in text and all(p.name in text for p in files)
    assert window.message.isVisible() and not window.record_panel.record.isChecked()


def test_osc_switched_on_while_running_reaches_a_loopback_receiver(make_window, qtbot):
    from pythonosc.dispatcher import Dispatcher
    from pythonosc.osc_server import ThreadingOSCUDPServer

    received: list[str] = []
    dispatcher = Dispatcher()
    dispatcher.set_default_handler(lambda address, *args: received.append(address))
    server = ThreadingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        window = make_window()
        # the clip lasts 2.6 s: looped, a slow machine still has it running when the stream is switched on
        window.source_panel.loop.setChecked(True)
        row = window.stream_panel.rows["osc"]
        row.host.setText("127.0.0.1")
        row.port.setValue(server.server_address[1])
        start_video(window, qtbot)
        wait_people(window, qtbot, 1)
        qtbot.waitUntil(lambda: window.runner.phase == "running", timeout=10_000)
        row.enabled.click()  # attached to the running engine
        assert not row.port.isEnabled()
        qtbot.waitUntil(lambda: "/livecap/frame" in received, timeout=10_000)
        qtbot.waitUntil(lambda: row.state == "ok", timeout=5000)
        assert any(a.startswith("/livecap/person/") and "/joint/" in a for a in received)
        row.enabled.click()
        assert row.state == "off" and row.port.isEnabled()
        window.people.select_id(window.people.ids[0])  # follow and stream this person
        assert window.skeletons.follow_id == window.people.ids[0] == window.outputs.person
        assert f"#{window.people.ids[0]}" in window.stream_panel.person.text()
        window.source_panel.start.click()  # stop
        assert window.runner.phase == "idle" and not window.source_panel.start.isChecked()
    finally:
        server.shutdown()
        server.server_close()


def test_settings_are_restored_after_a_restart(make_window, tmp_path, qtbot):
    settings_dir = tmp_path / "config"
    first = make_window(settings_dir)
    first.source_panel.set_source("/videos/dance.mp4")
    first.source_panel.preset.setCurrentText("fast")
    first.source_panel.smoothing.setValue(80)
    first.record_panel.folder.setText(str(tmp_path / "my takes"))
    vmc = first.stream_panel.rows["vmc"]
    vmc.host.setText("192.168.1.20")
    vmc.port.setValue(40123)
    vmc.enabled.click()
    first.resize(1234, 777)
    first.close()
    assert (settings_dir / "gui.json").exists()

    second = make_window(settings_dir)
    assert second.source_panel.source_text == "/videos/dance.mp4"
    assert second.source_panel.preset.currentText() == "fast"
    assert second.source_panel.smoothing.value() == 80
    assert second.record_panel.folder.text() == str(tmp_path / "my takes")
    vmc = second.stream_panel.rows["vmc"]
    assert vmc.enabled.isChecked() and vmc.host.text() == "192.168.1.20" and vmc.port.value() == 40123
    assert "vmc" in second.outputs.streamers  # switched on again, waiting for the engine
    assert (second.width(), second.height()) == (1234, 777)


def test_without_a_camera_the_app_offers_the_sample_clip_and_plays_it(make_window, qtbot):
    from livecap.samples import sample_video

    window = make_window()  # fresh settings: no source chosen before
    sp = window.source_panel
    qtbot.waitUntil(lambda: "looking" not in sp.cameras_note.text(), timeout=60_000)
    if any(sp.source.itemText(i).isdigit() for i in range(sp.source.count())):
        pytest.skip("a camera is attached: the app offers it rather than the sample")
    assert "no camera found" in sp.cameras_note.text() and "sample" in sp.cameras_note.text()
    assert sp.source_text == str(sample_video())
    sp.start.click()
    wait_people(window, qtbot)
    assert window.people.ids == [1, 2]
    wait_end(window, qtbot)
    assert window.runner.phase == "ended"


def test_with_a_source_chosen_before_the_sample_is_only_in_the_list(make_window, qtbot, tmp_path):
    from livecap.gui.settings import GuiSettings
    from livecap.samples import sample_video

    settings = GuiSettings()
    settings.remember_source("/videos/dance.mp4")
    settings.save(tmp_path / "config")
    window = make_window(tmp_path / "config")
    sp = window.source_panel
    qtbot.waitUntil(lambda: "looking" not in sp.cameras_note.text(), timeout=60_000)
    assert sp.source_text == "/videos/dance.mp4"
    if "no camera found" in sp.cameras_note.text():
        assert sp.source.findText(str(sample_video())) >= 0


def test_a_relative_source_and_folder_are_saved_as_absolute_paths(make_window, qtbot, tmp_path, monkeypatch):
    from livecap.samples import sample_video

    monkeypatch.chdir(tmp_path)
    (tmp_path / "clip.mp4").symlink_to(sample_video())
    window = make_window(tmp_path / "config")
    window.source_panel.set_source("clip.mp4")  # as `livecap gui --source clip.mp4` gives it
    window.record_panel.folder.setText("takes")
    window.start()
    assert window.source_panel.source_text == str(tmp_path / "clip.mp4")
    window.stop()
    window.close()
    saved = json.loads((tmp_path / "config" / "gui.json").read_text())
    assert saved["source"] == str(tmp_path / "clip.mp4") and saved["recent"][0] == saved["source"]
    assert saved["record_dir"] == str(tmp_path / "takes")
    monkeypatch.chdir(tmp_path / "config")  # started again from another folder, the source is still found
    again = make_window(tmp_path / "config")
    assert again.source_panel.source_text == str(tmp_path / "clip.mp4")


def test_a_bad_source_is_a_message_in_the_window_not_a_crash(make_window, qtbot, tmp_path):
    window = make_window()
    window.source_panel.set_source(str(tmp_path / "missing.mp4"))
    window.start()
    qtbot.waitUntil(lambda: window.runner.phase == "failed", timeout=60_000)
    qtbot.waitUntil(lambda: window.message.isVisible(), timeout=2000)
    level, text = window.last_message
    assert level == "error" and "missing.mp4" in text
    assert window.isVisible() and not window.source_panel.start.isChecked()
    assert window.source_panel.source.isEnabled()
    window.source_panel.set_source("")
    window.source_panel.start.click()  # no source: a message again
    assert window.last_message[0] == "error" and "source" in window.last_message[1]


def test_an_unwritable_recording_folder_is_a_message_and_the_engine_goes_on(make_window, qtbot, tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    window = make_window()
    window.record_panel.folder.setText(str(blocker / "takes"))
    window.record_panel.record.click()
    start_video(window, qtbot)
    qtbot.waitUntil(lambda: getattr(window, "last_message", ("", ""))[0] == "error", timeout=60_000)
    assert "bvh output stopped" in window.last_message[1] and "BVH folder" in window.last_message[1]
    assert not window.record_panel.record.isChecked()
    wait_people(window, qtbot)  # the video goes on
    wait_end(window, qtbot)


def test_keys_typed_into_the_3d_view_reach_the_shortcuts(make_window, tmp_path):
    from PyQt6 import QtCore, QtGui

    window = make_window()
    window.record_panel.folder.setText(str(tmp_path / "takes"))
    press = QtGui.QKeyEvent(QtCore.QEvent.Type.KeyPress, QtCore.Qt.Key.Key_R, QtCore.Qt.KeyboardModifier.NoModifier)
    QtCore.QCoreApplication.sendEvent(window.skeletons.scene, press)  # a native GL window: not seen by QShortcut
    assert window.record_panel.record.isChecked() and "start with the engine" in window.last_message[1]
    QtCore.QCoreApplication.sendEvent(window.skeletons.scene, press)
    assert not window.record_panel.record.isChecked()


def test_stop_while_loading_leaves_no_engine_running(make_window, qtbot):
    window = make_window()
    start_video(window, qtbot)
    window.source_panel.start.click()  # at once, while models load and the fit warms up
    assert window.runner.phase == "idle" and window.source_panel.source.isEnabled()

    def engine_threads():
        return [t for t in threading.enumerate() if t.name in ("livecap-capture", "livecap-inference")]
    qtbot.waitUntil(lambda: not any(t.name == "livecap-gui-start" for t in threading.enumerate()), timeout=30_000)
    qtbot.waitUntil(lambda: not engine_threads(), timeout=10_000)
    assert window.runner.engine is None


# ---- pure helpers and the command line (no display needed)

def _person(pid=1, arm_bend=0.0) -> PersonPose:
    from livecap.skeleton import JOINTS

    joints = np.zeros((len(JOINTS), 3), np.float32)
    j = {name: i for i, name in enumerate(JOINTS)}
    joints[:, 2] = 3.0
    joints[j["LeftUpperArm"]] = (0.2, -0.4, 3.0)
    joints[j["LeftLowerArm"]] = (0.5, -0.4, 3.0)
    bend = math.radians(arm_bend)
    joints[j["LeftHand"]] = (0.5 + 0.3 * math.cos(bend), -0.4 - 0.3 * math.sin(bend), 3.0)
    for name, y in (("LeftUpperLeg", 0.0), ("LeftLowerLeg", 0.45), ("LeftFoot", 0.9)):
        joints[j[name]] = (0.1, y, 3.0)
    landmarks = np.zeros((33, 3), np.float32)
    landmarks[:, :2] = np.arange(66).reshape(33, 2)
    landmarks[:, 2] = 1.0
    landmarks[25:, 2] = 0.0  # legs unseen
    offsets = np.zeros((len(JOINTS), 3), np.float32)
    skeleton = SkeletonPose(joints, joints[0], np.tile([0, 0, 0, 1.0], (len(JOINTS), 1)), np.zeros(len(JOINTS)),
                            offsets)
    return PersonPose(pid, 0.9, np.array([10, 20, 110, 220.0]), np.zeros((17, 3)), landmarks, np.zeros((33, 3)),
                      skeleton)


def test_overlay_segments_leave_out_unseen_landmarks_and_map_3d_to_z_up():
    from livecap.gui.overlay import BLAZEPOSE_EDGES, BONES, label_position, segments_2d, segments_3d

    person = _person()
    points = segments_2d(person)
    visible_edges = [(a, b) for a, b in BLAZEPOSE_EDGES if a < 25 and b < 25]
    assert points.shape == (2 * len(visible_edges), 2)
    assert label_position(person) == (60.0, 20.0)
    bones = segments_3d(person)
    assert bones.shape == (2 * len(BONES), 3)
    assert np.allclose(bones[:, 1], 3.0)  # depth becomes the view's y
    person.skeleton.joints3d[:, 1] = 1.0  # below the camera (camera y points down) ...
    person = dataclasses.replace(person, world=None)  # a person's world pose is derived when the person is made
    assert np.allclose(segments_3d(person)[:, 2], -1.0)  # ... is down in the view
    assert segments_3d(dataclasses.replace(person, skeleton=None, world=None)) is None


def test_joint_angles_are_flexion_and_colours_stay_with_ids():
    from livecap.gui.overlay import colour, joint_angles

    assert joint_angles(_person(arm_bend=0))["L elbow"] == pytest.approx(0, abs=1e-3)
    assert joint_angles(_person(arm_bend=90))["L elbow"] == pytest.approx(90, abs=1e-3)
    assert joint_angles(_person())["L knee"] == pytest.approx(0, abs=1e-3)
    assert colour(3) == colour(13) and colour(3) != colour(4)


def test_settings_round_trip_and_a_damaged_file_gives_the_defaults(tmp_path):
    from livecap.gui.settings import GuiSettings

    settings = GuiSettings()
    settings.remember_source("/a.mp4")
    settings.remember_source("rtsp://camera.local/stream")
    settings.remember_source("0")
    settings.streams["osc"].port = 7777
    settings.save(tmp_path)
    loaded = GuiSettings.load(tmp_path)
    assert loaded.source == "0" and loaded.recent == ["rtsp://camera.local/stream", "/a.mp4"]
    assert loaded.streams["osc"].port == 7777
    (tmp_path / "gui.json").write_text("{not json")
    assert GuiSettings.load(tmp_path) == GuiSettings()


def test_without_pyqt6_the_command_names_the_install(monkeypatch, capsys):
    from livecap.app import cli

    monkeypatch.setitem(sys.modules, "PyQt6", None)  # import PyQt6 now raises ImportError
    assert cli.main(["gui"]) == 2
    assert 'pip install "livecap[gui]"' in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0


def test_the_config_files_camera_height_and_providers_reach_the_apps_engine(display, qtbot, models, tmp_path,
                                                                              monkeypatch):
    from livecap.app import cli
    from livecap.gui import app as gui_app, launch

    config = tmp_path / "config.toml"
    config.write_text('[pipeline]\nfov = 75\nheight = 1.62\nproviders = "cpu"\n')
    given = {}
    monkeypatch.setattr(launch, "run_app", lambda source, settings_dir, pipeline: given.update(pipeline=pipeline)
                        or 0)  # the window's event loop cannot run in a test: the settings it would get are kept
    assert cli.main(["--config", str(config), "gui", "--settings-dir", str(tmp_path / "settings")]) == 0
    window = gui_app.MainWindow(tmp_path / "settings", models=models, pipeline=given["pipeline"])
    qtbot.addWidget(window)
    with qtbot.waitExposed(window):
        window.show()
    start_video(window, qtbot)
    qtbot.waitUntil(lambda: window.runner.phase == "running", timeout=60_000)
    settings = window.runner.engine.config.pipeline
    assert (settings.fov, settings.height, settings.providers) == (75.0, 1.62, ("cpu",))
    assert window.runner.engine.status().providers == ["CPUExecutionProvider"]
    wait_people(window, qtbot, 1)
    heights = {window.people.item(row, 2).text() for row in range(window.people.rowCount())}
    assert heights == {"1.62 m"}, heights  # everyone scaled to the configured height
    window.close()  # stops the engine; closed here, while its views still exist, not at the fixture's teardown
    qtbot.waitUntil(lambda: window.runner.phase == "idle", timeout=10_000)


def test_the_hands_switch_draws_every_hand_found_on_the_video_and_in_3d(make_window, qtbot, tmp_path):
    window = make_window()
    sp = window.source_panel
    assert not sp.hands.isChecked()  # balanced: hands off by default
    sp.preset.setCurrentText("accurate")
    assert sp.hands.isChecked()  # accurate: on
    sp.preset.setCurrentText("balanced")
    sp.hands.setChecked(True)
    start_video(window, qtbot)
    qtbot.waitUntil(lambda: window.runner.phase == "running", timeout=60_000)
    assert window.runner.engine.config.pipeline.hands_on and not sp.hands.isEnabled()
    body_points = 2 * 20  # the body's 20 bones
    qtbot.waitUntil(lambda: any(curve.getData()[0] is not None and len(curve.getData()[0]) >= 2 * 21
                                for curve in window.video.hand_curves)
                    and any(item.visible() and len(item.pos) > body_points for item in window.skeletons.lines),
                    timeout=30_000)
    wait_end(window, qtbot)
    window.save_settings()
    assert json.loads((tmp_path / "settings" / "gui.json").read_text())["hands"] is True
