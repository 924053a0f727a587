"""The window's status bar: the engine's state, frame rate, latency, dropped frames, people, provider and mode."""

from __future__ import annotations

from PyQt6 import QtWidgets

from livecap.engine import EngineStatus

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
