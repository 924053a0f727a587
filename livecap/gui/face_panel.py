"""The selected person's face: a bar per expression (a pyqtgraph BarGraphItem a column, refreshed with the people
table a few times a second) and the Neutral face button, which learns every person's neutral face again
(livecap.pose.expressions: the expressions are measured from it). With no one selected it shows the lowest id with
a face."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets

from livecap.gui.overlay import colour
from livecap.pose.expressions import NAMES
from livecap.types import PersonPose

COLUMNS = 2  # the expressions' bars side by side: 13 names a column stay readable in a short panel


def shown_face(people: list[PersonPose], selected: int | None) -> PersonPose | None:
    """The person whose expressions are shown: the selected one when their face is seen, else, with no one
    selected, the lowest id whose face is seen."""
    faced = sorted((p for p in people if p.face is not None), key=lambda p: p.id)
    if selected is not None:
        return next((p for p in faced if p.id == selected), None)
    return faced[0] if faced else None


class FacePanel(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QtWidgets.QHBoxLayout()
        self.title = QtWidgets.QLabel("face: none seen")
        self.title.setStyleSheet("color: #888")
        self.neutral = QtWidgets.QPushButton("Neutral face")
        self.neutral.setToolTip("look at the camera with a relaxed face and press: every person's expressions are "
                                "measured from their face of the next two seconds")
        bar.addWidget(self.title, 1)
        bar.addWidget(self.neutral)
        layout.addLayout(bar)
        columns = QtWidgets.QHBoxLayout()
        columns.setSpacing(0)
        self.bars = [self._column(columns, NAMES[i::COLUMNS]) for i in range(COLUMNS)]
        layout.addLayout(columns, 1)
        self.values = np.zeros(len(NAMES))  # the expressions shown, NAMES order
        self.person_id: int | None = None

    def _column(self, columns: QtWidgets.QHBoxLayout, names: tuple[str, ...]) -> pg.BarGraphItem:
        plot = pg.PlotWidget(background="#111")
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        plot.setXRange(0.0, 1.0, padding=0.02)
        plot.setYRange(-0.6, len(names) - 0.4, padding=0)
        plot.invertY(True)
        plot.hideAxis("bottom")
        font = self.font()
        font.setPointSizeF(7.0)
        axis = plot.getAxis("left")
        axis.setTicks([list(enumerate(names))])
        axis.setStyle(tickFont=font)
        bars = pg.BarGraphItem(x0=np.zeros(len(names)), y=np.arange(len(names)), height=0.7,
                               width=np.zeros(len(names)), brush="#888", pen=None)
        plot.addItem(bars)
        columns.addWidget(plot, 1)
        return bars

    def show_person(self, people: list[PersonPose], selected: int | None) -> None:
        person = shown_face(people, selected)
        values = np.array([person.face.expressions.get(n, 0.0) for n in NAMES]) if person else np.zeros(len(NAMES))
        if person is not None and person.id != self.person_id:
            for bars in self.bars:
                bars.setOpts(brush=pg.mkBrush(colour(person.id)))
        self.person_id = None if person is None else person.id
        self.title.setText(f"face of #{person.id}" if person else f"face of #{selected}: not seen" if selected
                           is not None else "face: none seen")
        if not np.array_equal(values, self.values):
            self.values = values
            for i, bars in enumerate(self.bars):
                bars.setOpts(width=values[i::COLUMNS])
