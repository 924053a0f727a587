"""The left-hand control panels: source, recording and streaming. Widgets and their values only; what the buttons
do is wired in app.py."""

from __future__ import annotations

from pathlib import Path

from PyQt6 import QtCore, QtWidgets

from livecap.sources import CaptureMode
from livecap.gui.settings import GuiSettings, StreamSetting
from livecap.settings import PRESETS
from livecap.sinks.osc.kinds import StreamKind

LIGHTS = {"off": "#555", "waiting": "#d9a400", "ok": "#2fbf4a", "error": "#e0443e"}


class SourcePanel(QtWidgets.QGroupBox):
    def __init__(self, parent=None):
        super().__init__("Source", parent)
        layout = QtWidgets.QFormLayout(self)
        row = QtWidgets.QHBoxLayout()
        self.source = QtWidgets.QComboBox()
        self.source.setEditable(True)  # a file path or an RTSP/HTTP URL can be typed or pasted
        self.source.setInsertPolicy(QtWidgets.QComboBox.InsertPolicy.NoInsert)
        self.source.lineEdit().setPlaceholderText("camera, file or URL")
        self.source.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self.browse = QtWidgets.QPushButton("File…")
        row.addWidget(self.source, 1)
        row.addWidget(self.browse)
        layout.addRow(row)
        self.cameras_note = QtWidgets.QLabel("looking for cameras…")
        self.cameras_note.setStyleSheet("color: #888")
        self.cameras_note.setWordWrap(True)
        layout.addRow(self.cameras_note)
        self.preset = QtWidgets.QComboBox()
        self.preset.addItems(list(PRESETS))
        layout.addRow("Preset", self.preset)
        self.smoothing = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.smoothing.setRange(0, 100)
        self.smoothing.setToolTip("0 off, 50 default, 100 heavy; applies when the engine (re)starts")
        self.smoothing_value = QtWidgets.QLabel()
        self.smoothing.valueChanged.connect(lambda v: self.smoothing_value.setText(f"{v / 100:.2f}"))
        srow = QtWidgets.QHBoxLayout()
        srow.addWidget(self.smoothing, 1)
        srow.addWidget(self.smoothing_value)
        layout.addRow("Smoothing", srow)
        self.hands = QtWidgets.QCheckBox("Hands and fingers")
        self.hands.setToolTip("21 points and the finger bones of each hand of every person (on by default in the "
                              "accurate preset); applies when the engine (re)starts")
        self.face = QtWidgets.QCheckBox("Face")
        self.face.setToolTip("the face mesh, head rotation and expressions of every person, streamed as blendshapes "
                             "(on by default in the accurate preset); applies when the engine (re)starts")
        self.preset.currentTextChanged.connect(lambda name: self.hands.setChecked(PRESETS[name].hands))
        self.preset.currentTextChanged.connect(lambda name: self.face.setChecked(PRESETS[name].face))
        switches = QtWidgets.QHBoxLayout()
        switches.addWidget(self.hands)
        switches.addWidget(self.face)
        layout.addRow(switches)
        self.loop = QtWidgets.QCheckBox("Loop a video file")
        self.loop.setToolTip("play a file again from the start when it ends (demos, rehearsals)")
        layout.addRow(self.loop)
        self.start = QtWidgets.QPushButton("Start  (Space)")
        self.start.setCheckable(True)
        layout.addRow(self.start)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)
        layout.addRow(self.progress)

    def browse_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a video", str(Path.home()),
                                                        "Videos (*.mp4 *.avi *.mov *.mkv *.webm);;All files (*)")
        if path:
            self.set_source(path)

    def set_cameras(self, cameras: list[tuple[int, CaptureMode]], current: str, sample: Path | None = None) -> None:
        """Puts the cameras found first in the list; with none, says so plainly and offers the sample clip (chosen
        when no source was chosen before), so that Start shows what the app does."""
        for index, mode in cameras:
            self.source.insertItem(index, f"{index}", str(index))
            self.source.setItemData(index, f"camera {index}: {mode}", QtCore.Qt.ItemDataRole.ToolTipRole)
        if cameras:
            self.cameras_note.setText(", ".join(f"camera {i}: {m.width}x{m.height}" for i, m in cameras))
            if not current:
                self.source.setCurrentIndex(0)
            return
        if sample is None:
            self.cameras_note.setText("no camera found: choose a file or type a URL")
            return
        self.cameras_note.setText("no camera found: the sample clip is offered; or choose a file or type a URL")
        if current or self.source_text:
            self.set_recent([str(sample)])
        else:
            self.set_source(str(sample))

    def set_recent(self, recent: list[str]) -> None:
        for path in recent:
            if self.source.findText(path) < 0:
                self.source.addItem(path)

    @property
    def source_text(self) -> str:
        return self.source.currentText().strip()

    def set_source(self, text: str) -> None:
        if self.source.findText(text) < 0 and text:
            self.source.addItem(text)
        self.source.setCurrentText(text)

    def load(self, settings: GuiSettings) -> None:
        self.set_recent(settings.recent)
        self.set_source(settings.source)
        self.preset.setCurrentText(settings.preset)
        self.hands.setChecked(PRESETS[self.preset.currentText()].hands if settings.hands is None else settings.hands)
        self.face.setChecked(PRESETS[self.preset.currentText()].face if settings.face is None else settings.face)
        self.smoothing.setValue(round(settings.smoothing * 100))
        self.smoothing_value.setText(f"{settings.smoothing:.2f}")
        self.loop.setChecked(settings.loop)

    def save(self, settings: GuiSettings) -> None:
        settings.remember_source(self.source_text)
        settings.preset = self.preset.currentText()
        settings.hands = self.hands.isChecked()
        settings.face = self.face.isChecked()
        settings.smoothing = self.smoothing.value() / 100
        settings.loop = self.loop.isChecked()


class RecordPanel(QtWidgets.QGroupBox):
    def __init__(self, parent=None):
        super().__init__("Recording (BVH, one file per person)", parent)
        layout = QtWidgets.QFormLayout(self)
        row = QtWidgets.QHBoxLayout()
        self.folder = QtWidgets.QLineEdit()
        self.choose = QtWidgets.QPushButton("…")
        self.choose.setFixedWidth(28)
        row.addWidget(self.folder, 1)
        row.addWidget(self.choose)
        layout.addRow("Folder", row)
        self.record = QtWidgets.QPushButton("● Record  (R)")
        self.record.setCheckable(True)
        self.elapsed = QtWidgets.QLabel("not recording")
        layout.addRow(self.record, self.elapsed)
        self.refine = QtWidgets.QCheckBox("Refine each take when it stops")
        self.refine.setToolTip("when a take stops, it is refined as `livecap process` refines a file (bones from the "
                               "whole take, smoothing forward and backward, short gaps filled) and its BVH files "
                               "replace the live ones; off: the live recording is the take")
        layout.addRow(self.refine)
        self.refining = QtWidgets.QProgressBar()
        self.refining.setTextVisible(True)
        self.refining.setVisible(False)
        layout.addRow(self.refining)

    def set_recording(self, on: bool) -> None:
        self.record.setChecked(on)
        self.record.setStyleSheet("background: #b3261e; color: white" if on else "")
        if not on:
            self.elapsed.setText("not recording")

    def choose_folder(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder for recordings", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def show_refining(self, job, waiting: int) -> None:
        """The take being refined (a livecap.gui.refining.RefineJob; None: none) and how many more wait."""
        self.refining.setVisible(job is not None)
        if job is not None:
            percent, text = job.progress()
            self.refining.setValue(percent)
            self.refining.setFormat(text + (f" ({waiting} more waiting)" if waiting else ""))


class StreamRow:
    def __init__(self, name: str, title: str, grid: QtWidgets.QGridLayout, row: int):
        self.name = name
        self.enabled = QtWidgets.QCheckBox(title)
        self.host = QtWidgets.QLineEdit()
        self.port = QtWidgets.QSpinBox()
        self.port.setRange(1, 65535)
        self.light = QtWidgets.QLabel()
        self.light.setFixedSize(14, 14)
        self.set_light("off", "off")
        for column, widget in enumerate((self.enabled, self.host, self.port, self.light)):
            grid.addWidget(widget, row, column)

    def set_light(self, state: str, tip: str) -> None:
        self.state = state
        self.light.setStyleSheet(f"background: {LIGHTS[state]}; border-radius: 7px")
        self.light.setToolTip(tip)

    def load(self, setting: StreamSetting) -> None:
        self.enabled.setChecked(setting.enabled)
        self.host.setText(setting.host)
        self.port.setValue(setting.port)

    def setting(self) -> StreamSetting:
        return StreamSetting(self.enabled.isChecked(), self.host.text().strip() or "127.0.0.1", self.port.value())


class StreamPanel(QtWidgets.QGroupBox):
    """A row for each stream kind (livecap.sinks.osc.kinds), and who the kinds that follow one person follow."""

    def __init__(self, kinds: tuple[StreamKind, ...], parent=None):
        super().__init__("Streaming (OSC over UDP)", parent)
        self.kinds = {kind.name: kind for kind in kinds}
        grid = QtWidgets.QGridLayout(self)
        for column, text in enumerate(("", "host", "port", "")):
            grid.addWidget(QtWidgets.QLabel(text), 0, column)
        self.rows = {kind.name: StreamRow(kind.name, kind.title, grid, i + 1) for i, kind in enumerate(kinds)}
        self.person = QtWidgets.QLabel()
        self.person.setWordWrap(True)
        self.person.setStyleSheet("color: #888")
        self.person.setVisible(any(kind.follows_person for kind in kinds))
        self.show_followed({kind.name: None for kind in kinds if kind.follows_person})
        grid.addWidget(self.person, len(kinds) + 1, 0, 1, 4)
        grid.setColumnStretch(1, 1)

    def show_followed(self, people: dict[str, object]) -> None:
        """people: kind name -> the person its stream follows (an id, "all", or None: the first one seen)."""
        groups: dict[str, list[str]] = {}
        for name, person in people.items():
            who = ("the first person seen" if person is None else "everyone, one port each" if person == "all"
                   else f"person #{person}")
            groups.setdefault(who, []).append(self.kinds[name].title)
        self.person.setText("; ".join(f"{' / '.join(titles)} follow{'s' if len(titles) == 1 else ''}: {who}"
                                      for who, titles in groups.items()))

    def load(self, settings: GuiSettings) -> None:
        for name, row in self.rows.items():
            row.load(settings.streams.get(name) or StreamSetting(port=self.kinds[name].default_port))

    def save(self, settings: GuiSettings) -> None:
        for name, row in self.rows.items():
            settings.streams[name] = row.setting()
