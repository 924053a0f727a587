"""The desktop app's settings: restored by a second window, sources and folders kept as absolute paths, the sample
clip offered without a camera, and what the config file and the command line set shown as the app's first choices
(over what it saved)."""

from __future__ import annotations

import json

import pytest

from gui_support import start_video, wait_end, wait_people


def test_settings_are_restored_after_a_restart(make_window, tmp_path, qtbot):
    settings_dir = tmp_path / "config"
    first = make_window(settings_dir)
    first.source_panel.set_source("/videos/dance.mp4")
    first.source_panel.preset.setCurrentText("fast")
    first.source_panel.smoothing.setValue(80)
    first.record_panel.folder.setText(str(tmp_path / "my takes"))
    first.record_panel.refine.setChecked(False)  # record live only
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
    assert not second.record_panel.refine.isChecked() and not second.outputs.refine
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


def test_the_config_files_camera_height_and_providers_reach_the_apps_engine(display, qtbot, gui_models, tmp_path,
                                                                              monkeypatch):
    from livecap.app import cli
    from livecap.gui import app as gui_app, launch

    config = tmp_path / "config.toml"
    config.write_text('[pipeline]\nfov = 75\nheight = 1.62\nproviders = "cpu"\n')
    given = {}
    monkeypatch.setattr(launch, "run_app", lambda source, settings_dir, start: given.update(start=start)
                        or 0)  # the window's event loop cannot run in a test: the settings it would get are kept
    assert cli.main(["--config", str(config), "gui", "--settings-dir", str(tmp_path / "settings")]) == 0
    window = gui_app.MainWindow(tmp_path / "settings", models=gui_models, start=given["start"])
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


def app_start_from(config_text: str, tmp_path, *flags: str):
    """What `livecap --config FILE gui FLAGS` hands the window, through the real parser and config reader."""
    from livecap.app.cli import _configure, build_parser
    from livecap.app.flags import app_start

    path = tmp_path / "config.toml"
    path.write_text(config_text)
    argv = ["--config", str(path), "gui", *flags]
    parser = build_parser()
    _configure(parser, argv)
    return app_start(parser.parse_args(argv))


def test_what_the_config_file_sets_is_the_apps_first_choice_over_what_it_saved(make_window, tmp_path, monkeypatch):
    from livecap.gui.settings import GuiSettings, StreamSetting

    saved = GuiSettings(preset="accurate", smoothing=0.9, record_dir=str(tmp_path / "saved takes"), loop=True)
    saved.streams["osc"] = StreamSetting(True, "10.0.0.9", 7777)  # the config file says nothing of it: kept
    saved.save(tmp_path / "settings")
    monkeypatch.chdir(tmp_path)  # relative paths in the file are the working folder's, as for every command
    start = app_start_from('[pipeline]\npreset = "fast"\nsmoothing = 0.2\nhands = true\n'
                           '[live]\nsource = "clip.mp4"\npaced = false\ncamera_size = "1280x720"\nmjpg = false\n'
                           '[bvh]\ndirectory = "takes"\nunits = "m"\nfps = 60\n'
                           '[vmc]\ndestination = "127.0.0.1:39540"\nperson = 2\n'
                           '[vrchat]\ndestination = 9001\ntrackers = "hips,knees"\nheight = 1.7\nhead = false\n'
                           '[osc]\nspace = "floor"\n[streaming]\nrate = 30\n', tmp_path, "--smoothing", "0.3")
    window = make_window(tmp_path / "settings", start=start)
    sp, rows = window.source_panel, window.stream_panel.rows
    assert sp.source_text == str(tmp_path / "clip.mp4") and window.runner.phase == "idle"  # chosen, not started
    assert (sp.preset.currentText(), sp.smoothing.value(), sp.hands.isChecked()) == ("fast", 30, True)  # flag wins
    assert sp.loop.isChecked() and window.record_panel.folder.text() == str(tmp_path / "takes")
    assert [(r.enabled.isChecked(), r.host.text(), r.port.value()) for r in rows.values()] == [
        (True, "127.0.0.1", 39540), (True, "127.0.0.1", 9001), (True, "10.0.0.9", 7777)]  # osc: as saved
    vmc, vrchat, osc = (window.outputs.streamers[name] for name in ("vmc", "vrchat", "osc"))
    assert vmc.encoder.chooser.wanted == 2 and vrchat.encoder.chooser.wanted is None
    assert [joint for _, joint in vrchat.encoder.trackers] == ["Hips", "LeftLowerLeg", "RightLowerLeg"]
    assert (vrchat.encoder.height, vrchat.encoder.head, osc.encoder.space) == (1.7, False, "floor")
    assert {s.rate for s in (vmc, vrchat, osc)} == {30.0}
    assert window.stream_panel.person.text() == "VMC follows: person #2; VRChat follows: the first person seen"
    config = window.engine_config(str(tmp_path / "clip.mp4"))
    assert not config.paced and (config.request.width, config.request.height, config.request.mjpg) == (1280, 720, False)
    assert (config.pipeline.preset, config.pipeline.smoothing, config.pipeline.hands) == ("fast", 0.3, True)
    window.outputs.start_recording(window.record_panel.folder.text())
    options = window.outputs.recorder.options
    assert (options.directory, options.units, options.fps) == (tmp_path / "takes", "m", 60.0)
    window.outputs.stop_recording()
    window.people.selected.emit(5)  # choosing a person in the table: every one-person stream follows them
    assert window.outputs.streamers["vrchat"].encoder.chooser.wanted == 5
    assert window.stream_panel.person.text() == "VMC / VRChat follow: person #5"


def test_a_bad_calibration_or_model_folder_stops_the_app_at_launch_in_one_line(tmp_path, capsys):
    from livecap.app import cli

    bad = tmp_path / "cam.yml"
    bad.write_text("%YAML:1.0\nnot_a_matrix: 3\n")
    for text, says in ((f'[pipeline]\ncalibration = "{bad}"\n', f"cannot read calibration file {bad}"),
                       (f'[pipeline]\nmodel_dir = "{tmp_path / "nope"}"\n', f"model folder {tmp_path / 'nope'} does "
                                                                            f"not exist")):
        (tmp_path / "config.toml").write_text(text)
        assert cli.main(["--config", str(tmp_path / "config.toml"), "gui"]) == 2  # before any window opens
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and error.startswith("livecap: error: config ") and says in error, error


def test_a_spoilt_value_in_the_saved_settings_is_the_default_with_a_warning(tmp_path, caplog):
    from livecap.gui.settings import GuiSettings

    (tmp_path / "gui.json").write_text(json.dumps({"preset": "slow", "smoothing": 7, "loop": True}))
    loaded = GuiSettings.load(tmp_path)
    assert (loaded.preset, loaded.smoothing, loaded.loop) == ("balanced", 0.5, True)
    warnings = [r.getMessage() for r in caplog.records if r.name == "livecap"]
    assert len(warnings) == 2 and "unknown preset 'slow'" in warnings[0] and "7 is not a smoothing" in warnings[1]
