"""A rolling plot of the engine's per-stage milliseconds (status().stage_ms), fed a few times a second."""

from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph as pg

from livecap.gui.overlay import PALETTE

HISTORY = 120  # samples kept: 30 s at the 4 Hz the window feeds it


class LatencyPlot(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("#111")
        self.setLabel("left", "ms")
        self.setLabel("bottom", "seconds ago")
        self.setMouseEnabled(False, False)
        self.setMenuEnabled(False)
        self.addLegend(offset=(5, 5), labelTextSize="7pt", colCount=4)
        self.showGrid(y=True, alpha=0.2)
        self.setTitle("per-stage latency", size="9pt")
        self.times: deque[float] = deque(maxlen=HISTORY)
        self.values: dict[str, deque[float]] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}

    def add(self, now: float, stage_ms: dict[str, float]) -> None:
        self.times.append(now)
        for name in stage_ms:
            if name not in self.values:
                self.values[name] = deque([np.nan] * (len(self.times) - 1), maxlen=HISTORY)
                pen = pg.mkPen(PALETTE[len(self.curves) % len(PALETTE)], width=2)
                self.curves[name] = self.plot([], [], pen=pen, name=name)
        for name, values in self.values.items():
            values.append(stage_ms.get(name, np.nan))
        x = np.asarray(self.times) - now
        for name, curve in self.curves.items():
            curve.setData(x, np.asarray(self.values[name]), connect="finite")

    def clear_history(self) -> None:
        self.times.clear()
        for values in self.values.values():
            values.clear()
