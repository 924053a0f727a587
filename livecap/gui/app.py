"""The livecap desktop app: the main window and how its parts are wired.

Rendering is decoupled from inference: the engine keeps only its newest frame and result (Engine.latest()); a
QTimer reads it at display rate and redraws only when it changed. Nothing is signalled per frame, so a slow
redraw can never pile up events. Status, the people table and the latency plot refresh at 4 Hz."""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from dataclasses import replace
from pathlib import Path

from PyQt6 import QtCore, QtGui, QtWidgets

from livecap.sources import list_cameras
from livecap.engine import EngineConfig
from livecap.gui.controls import RecordPanel, SourcePanel, StreamPanel
from livecap.gui.engine_runner import EngineRunner, ModelCache
from livecap.gui.face_panel import FacePanel
from livecap.gui.latency_plot import LatencyPlot
from livecap.gui.outputs import Outputs
from livecap.gui.people_panel import PeoplePanel
from livecap.gui.settings import AppStart, GuiSettings, absolute_source
from livecap.gui.skeleton_view import SkeletonView
from livecap.gui.status_bar import MessageBar, show_status, status_labels
from livecap.gui.video_view import VideoView
from livecap.samples import sample_video

log = logging.getLogger("livecap")

STATUS_MS = 250


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, settings_dir: Path | None = None, models: ModelCache | None = None,
                 display_hz: float = 60.0, start: AppStart | None = None):
        super().__init__()
        self.settings_dir = settings_dir
        self.launch = start or AppStart()  # what the config file and the command line set
        self.settings = GuiSettings.load(settings_dir)
        self.settings.take(self.launch)
        self.runner = EngineRunner(models)
        self.outputs = Outputs(self.runner, self.launch)
        self._phase = "idle"
        self._shown = None  # the FrameResult on screen, to redraw only what changed
        self._people: list = []
        self._cameras: list | None = None
        self._reported: set[tuple[str, str]] = set()  # output failures already shown
        self._closing = False  # closed once: the window closes when the takes being refined are done
        self.setWindowTitle("livecap")
        self.resize(1500, 900)
        self._build()
        self._load_settings()
        self._wire()
        # the keyboard starts on the video, not in the source field, so that Space and R work at once (a text
        # field with focus keeps its keys: typing a path with an R in it must not start a recording)
        self.video.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.video.setFocus()
        self.skeletons.scene.on_key = self._guarded(
            lambda key: (self.toggle_start if key == QtCore.Qt.Key.Key_Space else self.toggle_record)(), True)
        # display rate: PreciseTimer, since the default coarse timer may slip by 5% of a 16 ms interval
        self.display_timer = QtCore.QTimer(self, timerType=QtCore.Qt.TimerType.PreciseTimer)
        self.display_timer.setInterval(max(1, round(1000 / display_hz)))
        self.display_timer.timeout.connect(self._guarded(self.redraw))
        self.display_timer.start()
        self.status_timer = QtCore.QTimer(self)
        self.status_timer.setInterval(STATUS_MS)
        self.status_timer.timeout.connect(self._guarded(self._refresh_status))
        self.status_timer.start()
        # opening every camera index can take a second each: off the UI thread
        threading.Thread(target=self._find_cameras, name="livecap-gui-cameras", daemon=True).start()

    # ---- building
    def _build(self) -> None:
        self.source_panel = SourcePanel()
        self.record_panel = RecordPanel()
        self.stream_panel = StreamPanel(self.launch.kinds)
        left = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(left)
        for panel in (self.source_panel, self.record_panel, self.stream_panel):
            column.addWidget(panel)
        column.addStretch(1)
        keys = QtWidgets.QLabel("Space: start / stop · R: record\n3D view: drag to orbit, wheel to zoom, "
                                "select a person in the table to follow them")
        keys.setWordWrap(True)
        keys.setStyleSheet("color: #888")
        column.addWidget(keys)
        left.setMinimumWidth(330)
        left.setMaximumWidth(420)

        self.video = VideoView()
        self.skeletons = SkeletonView()
        self.reset_view = QtWidgets.QPushButton("Reset view")
        self.follow_label = QtWidgets.QLabel("3D: every person in the camera's space")
        self.follow_label.setStyleSheet("color: #888")
        view3d = QtWidgets.QWidget()
        box = QtWidgets.QVBoxLayout(view3d)
        box.setContentsMargins(0, 0, 0, 0)
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(self.follow_label, 1)
        bar.addWidget(self.reset_view)
        box.addLayout(bar)
        box.addWidget(self.skeletons, 1)
        self.people = PeoplePanel(" / ".join(kind.title for kind in self.launch.kinds if kind.follows_person))
        self.latency = LatencyPlot()
        self.face_panel = FacePanel()

        self.views_split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.views_split.addWidget(self.video)
        self.views_split.addWidget(view3d)
        self.views_split.setSizes([660, 440])
        self.bottom_split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.bottom_split.addWidget(self.people)
        self.bottom_split.addWidget(self.face_panel)
        self.bottom_split.addWidget(self.latency)
        self.right_split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.right_split.addWidget(self.views_split)
        self.right_split.addWidget(self.bottom_split)
        self.right_split.setSizes([600, 250])
        self.bottom_split.setSizes([460, 260, 380])
        self.main_split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.main_split.addWidget(left)
        self.main_split.addWidget(self.right_split)
        self.main_split.setStretchFactor(1, 1)

        self.message = MessageBar()
        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.message)
        layout.addWidget(self.main_split, 1)
        self.setCentralWidget(central)

        self.status_labels = status_labels(self.statusBar())

    def _wire(self) -> None:
        sp = self.source_panel
        sp.start.clicked.connect(self._guarded(self.toggle_start))
        sp.browse.clicked.connect(self._guarded(sp.browse_file))
        self.record_panel.record.clicked.connect(self._guarded(self.toggle_record))
        self.record_panel.choose.clicked.connect(self._guarded(self.record_panel.choose_folder))
        self.record_panel.refine.toggled.connect(lambda on: setattr(self.outputs, "refine", on))
        for name, row in self.stream_panel.rows.items():
            row.enabled.toggled.connect(self._guarded(lambda on, name=name: self.set_stream(name, on), True))
        self.reset_view.clicked.connect(self._guarded(self.skeletons.reset_view))
        self.face_panel.neutral.clicked.connect(self._guarded(self.runner.reset_neutral_faces))
        self.face_panel.setVisible(self.source_panel.face.isChecked())  # expressions only where faces are on
        self.source_panel.face.toggled.connect(self.face_panel.setVisible)
        self.people.selected.connect(self._guarded(self._select_person, True))
        for key, action in ((QtCore.Qt.Key.Key_Space, self.toggle_start), (QtCore.Qt.Key.Key_R, self.toggle_record)):
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            shortcut.activated.connect(self._guarded(action))

    def _load_settings(self) -> None:
        s = self.settings
        self.source_panel.load(s)
        self.record_panel.folder.setText(s.record_dir)
        self.record_panel.refine.setChecked(s.refine_takes)
        self.outputs.refine = s.refine_takes
        self.stream_panel.show_followed(self.outputs.followed())
        self.stream_panel.load(s)  # an enabled stream toggles its row: set_stream then turns it on
        for name, row in self.stream_panel.rows.items():
            if row.enabled.isChecked():
                self.set_stream(name, True)
        if s.geometry:
            self.restoreGeometry(QtCore.QByteArray.fromBase64(s.geometry.encode()))
        for name, split in self._splitters().items():
            if name in s.splitters:
                split.restoreState(QtCore.QByteArray.fromBase64(s.splitters[name].encode()))

    def _splitters(self) -> dict[str, QtWidgets.QSplitter]:
        return {"main": self.main_split, "right": self.right_split, "views": self.views_split,
                "bottom": self.bottom_split}

    def save_settings(self) -> Path:
        s = self.settings
        self.source_panel.save(s)
        folder = self.record_panel.folder.text().strip()
        s.record_dir = os.path.abspath(os.path.expanduser(folder)) if folder else ""
        s.refine_takes = self.record_panel.refine.isChecked()
        self.stream_panel.save(s)
        s.geometry = bytes(self.saveGeometry().toBase64()).decode()
        s.splitters = {name: bytes(split.saveState().toBase64()).decode()
                       for name, split in self._splitters().items()}
        return s.save(self.settings_dir)

    # ---- messages and errors
    def show_message(self, text: str, level: str = "info") -> None:
        """A message in the window (never a modal box: the video keeps running); click it to dismiss."""
        (log.error if level == "error" else log.info)("%s", text)
        self.message.show_text(text, level)
        self.last_message = (level, text)

    def _guarded(self, action, pass_args: bool = False):
        """Runs a slot so that an unexpected exception becomes a message in the window (PyQt6 would otherwise
        abort the whole process on an exception escaping a slot). The signal's arguments (a button's `checked`)
        are dropped unless pass_args."""
        def run(*args):
            try:
                action(*args) if pass_args else action()
            except ValueError as exc:  # the user's input: say what to change
                self.show_message(str(exc), "error")
            except Exception as exc:  # noqa: BLE001
                log.debug("%s", traceback.format_exc())
                self.show_message(f"{type(exc).__name__}: {exc}", "error")
        return run

    # ---- engine
    def toggle_start(self) -> None:
        if self.runner.busy:
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        sp = self.source_panel
        source = absolute_source(sp.source_text)
        if not source:
            sp.start.setChecked(False)
            raise ValueError("choose a source first: a camera, a video file (File…) or an RTSP/HTTP URL")
        sp.set_source(source)
        self.settings.remember_source(source)
        self.runner.start(self.engine_config(source), self.outputs.wanted())
        self.latency.clear_history()
        self.skeletons.new_take()
        self.message.setVisible(False)
        self._phase_changed()

    def engine_config(self, source: str) -> EngineConfig:
        sp = self.source_panel
        pipeline = replace(self.launch.pipeline, preset=sp.preset.currentText(), smoothing=sp.smoothing.value() / 100,
                           hands=sp.hands.isChecked(), face=sp.face.isChecked())
        return EngineConfig(source, pipeline, self.launch.paced, sp.loop.isChecked(), request=self.launch.request)

    def stop(self) -> None:
        self.runner.stop()
        self._phase_changed()

    def _phase_changed(self) -> None:
        phase, previous = self.runner.phase, self._phase
        self._phase = phase
        sp = self.source_panel
        busy = phase in ("starting", "running")
        sp.start.setChecked(busy)
        sp.start.setText("Stop  (Space)" if busy else "Start  (Space)")
        for widget in (sp.source, sp.browse, sp.preset, sp.smoothing, sp.hands, sp.face, sp.loop):
            widget.setEnabled(not busy)
        sp.progress.setVisible(phase == "starting")
        if phase == "running":
            self.outputs.attach_missing()
        if previous == "running" and phase != "running":
            note = self.outputs.engine_stopped()
            self._recording_stopped()
            if phase == "failed":
                self.show_message(f"stopped: {self.runner.message}" + (f" — {note}" if note else ""), "error")
            elif note:
                self.show_message(("the video ended; " if phase == "ended" else "") + note, "ok")
        elif phase == "failed":
            self.show_message(f"could not start: {self.runner.message}", "error")
        self.status_labels["state"].setText(phase)

    # ---- outputs
    def toggle_record(self) -> None:
        if self.outputs.recorder is None:
            folder = self.record_panel.folder.text()
            try:
                note = self.outputs.start_recording(folder)
            except ValueError:
                self.record_panel.set_recording(False)
                raise
            self.record_panel.set_recording(True)
            self.show_message(note, "info")
        else:
            note = self.outputs.stop_recording()
            self._recording_stopped()
            self.show_message(note, "ok")

    def _recording_stopped(self) -> None:
        self.record_panel.set_recording(False)
        self.record_panel.show_refining(*self.outputs.refiner.current())  # at once, not at the next status tick

    def set_stream(self, name: str, on: bool) -> None:
        row = self.stream_panel.rows[name]
        row.host.setEnabled(not on)
        row.port.setEnabled(not on)
        self.outputs.set_stream(name, row.setting() if on else None)
        row.set_light(*self.outputs.stream_light(name))

    def _select_person(self, person_id) -> None:
        self.skeletons.follow_id = person_id
        self.outputs.set_person(person_id)
        self.stream_panel.show_followed(self.outputs.followed())
        self.follow_label.setText(f"following person #{person_id}" if person_id is not None else
                                  "3D: every person in the camera's space")

    def _find_cameras(self) -> None:
        try:
            self._cameras = list_cameras()
        except Exception as exc:  # noqa: BLE001 - no cameras is a normal state for the window
            log.warning("looking for cameras failed: %s", exc)
            self._cameras = []

    # ---- polling
    def redraw(self) -> None:
        """At display rate: draws the newest result if it is not on screen yet."""
        if self.runner.phase != self._phase:
            self._phase_changed()
        latest = self.runner.latest()
        if latest is None or (latest[1] is self._shown and not self.redraw_unchanged):
            self.skeletons.render_pending()  # orbiting and zooming between results
            return
        frame, result = latest
        self._shown = result
        people = self.people_to_draw(result)
        self._people = people
        self.video.show_frame(frame.image, people, force=self.redraw_unchanged)
        self.skeletons.show_people(people)
        self.skeletons.render_pending()

    redraw_unchanged = False  # draw only results not on screen yet (a benchmark's window may draw every tick)

    def people_to_draw(self, result) -> list:
        return result.people

    def _refresh_status(self) -> None:
        if self._cameras is not None:
            self.source_panel.set_cameras(self._cameras, self.settings.source, sample_video())
            self._cameras = None
        sp = self.source_panel
        if self.runner.phase == "starting":
            progress = self.runner.progress
            sp.progress.setRange(0, 0)  # busy indicator: the steps have no measurable fraction
            sp.progress.setFormat(f"{progress.step + 1}/{progress.steps}: {progress.text}…")
            self.status_labels["state"].setText(f"starting: {progress.text}")
        status = self.runner.poll()
        if status is not None:
            show_status(self.status_labels, status)
            if status.stage_ms:
                self.latency.add(time.monotonic(), status.stage_ms)
            self._report_failed_outputs(status)
        if self.runner.phase != self._phase:
            self._phase_changed()
        self.people.update_people(self._people)
        self.face_panel.show_person(self._people, self.people.selected_id)
        elapsed = self.outputs.elapsed()
        if elapsed is not None:
            self.record_panel.elapsed.setText(f"{int(elapsed // 60):02d}:{elapsed % 60:04.1f}")
        for name, row in self.stream_panel.rows.items():
            row.set_light(*self.outputs.stream_light(name))
        self._show_refining()

    def _show_refining(self) -> None:
        """The take being refined, a message for each one done, and the close waiting for them."""
        refiner = self.outputs.refiner
        self.record_panel.show_refining(*refiner.current())
        for job in refiner.finished():
            self.show_message(job.message(), {"done": "ok", "failed": "error"}.get(job.stage, "info"))
        if self._closing and not refiner.busy:
            self.close()

    def grab_picture(self) -> QtGui.QImage:
        """The whole window as an image, 3D view included."""
        image = self.grab().toImage()
        self.skeletons.grab_into(image, self)
        return image

    def _report_failed_outputs(self, status) -> None:
        """An output that failed (an unwritable recording folder, a full disk) stops alone; say so, once."""
        for sink in status.sinks:
            if sink.error and (sink.name, sink.error) not in self._reported:
                self._reported.add((sink.name, sink.error))
                self.show_message(f"{sink.name} output stopped: {sink.error}", "error")
                if sink.name == "bvh" and self.outputs.recorder is not None:
                    self.outputs.stop_recording()
                    self.record_panel.set_recording(False)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        """Waits for the takes being refined (a recording stopped by closing is refined too); closed again, it
        cancels them: their live takes are kept."""
        refiner = self.outputs.refiner
        if not self._closing:
            self._closing = True
            try:
                self.save_settings()
            except OSError as exc:
                log.warning("settings not saved: %s", exc)
            self.runner.stop()
            self.outputs.engine_stopped()
            if refiner.busy:
                event.ignore()
                self.show_message("closing once the take is refined: close again to quit now, keeping it live", "info")
                return
        refiner.cancel()
        self.display_timer.stop()
        self.status_timer.stop()
        super().closeEvent(event)
