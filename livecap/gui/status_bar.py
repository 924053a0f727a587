"""The window's status bar (the engine's state, frame rate, latency, dropped frames, people, provider and mode) and
its message bar (one line on what just happened, above the views)."""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets

from livecap.engine import EngineStatus

MESSAGE_STYLE = {"info": "background: #1d3b5c; color: white", "ok": "background: #1f4d2b; color: white",
                 "error": "background: #7a1f1b; color: white"}
NAMES = ("state", "fps", "latency", "dropped", "people", "provider", "mode")


def status_labels(bar: QtWidgets.QStatusBar) -> dict[str, QtWidgets.QLabel]:
    labels = {name: QtWidgets.QLabel() for name in NAMES}
    for label in labels.values():
        bar.addWidget(label)
    labels["state"].setText("idle")
    return labels


def show_status(labels: dict[str, QtWidgets.QLabel], status: EngineStatus) -> None:
    labels["fps"].setText(f"{status.fps:5.1f} fps")
    labels["latency"].setText(f"latency {status.latency_p50_ms:.0f}/{status.latency_p95_ms:.0f} ms p50/p95")
    labels["dropped"].setText(f"dropped {status.dropped}")
    labels["people"].setText(f"{status.people} people")
    labels["provider"].setText(status.providers[0].replace("ExecutionProvider", "") if status.providers else "-")
    labels["mode"].setText(status.mode)


class MessageBar(QtWidgets.QLabel):
    """A message in the window (never a modal box: the video keeps running); click it to dismiss."""

    def __init__(self):
        super().__init__()
        self.setWordWrap(True)
        self.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setContentsMargins(8, 4, 8, 4)
        self.setVisible(False)

    def show_text(self, text: str, level: str) -> None:
        self.setText(text)
        self.setStyleSheet(MESSAGE_STYLE[level])
        self.setVisible(True)

    def mousePressEvent(self, event) -> None:
        self.setVisible(False)
