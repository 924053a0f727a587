"""The desktop app's outputs, for real under Xvfb: BVH files recorded from the window, a stream switched on while
the engine runs reaching a real OSC receiver on loopback, and an output that fails shown in the window."""

from __future__ import annotations

import threading

from gui_support import VIDEO, start_video, wait_end, wait_people


def test_record_writes_one_bvh_per_person_and_says_where(make_window, qtbot, tmp_path):
    """With the Refine switch off, the live recording is the take (tests/test_gui_refine.py: with it on)."""
    from PyQt6 import QtCore

    from livecap.sinks.bvh.reader import read as read_bvh

    folder = tmp_path / "takes"
    window = make_window()
    window.record_panel.folder.setText(str(folder))
    window.record_panel.refine.click()
    assert not window.outputs.refine
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
    assert level == "ok" and str(folder) in text and all(p.name in text for p in files) and "refin" not in text
    assert window.message.isVisible() and not window.record_panel.record.isChecked()
    assert not window.outputs.refiner.busy and not list(folder.glob(".*"))


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
