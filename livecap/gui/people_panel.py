"""The people table: id (in the person's colour), confidence ("lost" while predicted), height and elbow / knee flexion, refreshed a few
times a second (text is costly to lay out; 60 updates a second would be unreadable anyway). Selecting a row picks
the person the 3D view follows and the streams that follow one person send."""

from __future__ import annotations

import math

from PyQt6 import QtCore, QtGui, QtWidgets

from livecap.gui.overlay import ANGLES, colour, height_m, joint_angles
from livecap.types import PersonPose

COLUMNS = ["id", "conf.", "height", *[name for name, *_ in ANGLES]]


def _number(value: float, fmt: str) -> str:
    return "-" if math.isnan(value) else fmt.format(value)


class PeoplePanel(QtWidgets.QTableWidget):
    selected = QtCore.pyqtSignal(object)  # a person id or None; emitted on user clicks only, not per frame

    def __init__(self, streams: str = "", parent=None):
        """streams: the titles of the streams that follow the person chosen here."""
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setToolTip("Flexion in degrees (0 = straight). Select a person to follow them in the 3D view"
                        + (f" and to stream them over {streams}." if streams else "."))
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        header.setMinimumSectionSize(54)
        self._icons: dict[tuple, QtGui.QIcon] = {}
        self.ids: list[int] = []  # the ids shown, row order
        self.selected_id: int | None = None
        self._updating = False
        self.itemSelectionChanged.connect(self._on_selection)

    def update_people(self, people: list[PersonPose]) -> None:
        people = sorted(people, key=lambda p: p.id)
        self._updating = True  # rebuilding rows must not look like a user's selection
        try:
            self.setRowCount(len(people))
            self.ids = [p.id for p in people]
            for row, person in enumerate(people):
                angles = joint_angles(person)
                # lost for a moment: shown where their motion takes them (dashed on the video), not seen
                texts = [f"#{person.id}", "lost" if person.predicted else f"{person.score:.2f}", _number(height_m(person), "{:.2f} m"),
                         *[_number(angles[name], "{:.0f}°") for name, *_ in ANGLES]]
                for column, text in enumerate(texts):
                    item = self.item(row, column)
                    if item is None:
                        item = QtWidgets.QTableWidgetItem()
                        item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                        self.setItem(row, column, item)
                    if item.text() != text:
                        item.setText(text)
                self.item(row, 0).setIcon(self._icon(colour(person.id)))
            if self.selected_id in self.ids:
                row = self.ids.index(self.selected_id)
                if self.currentRow() != row:
                    self.selectRow(row)
            else:
                self.clearSelection()
        finally:
            self._updating = False

    def _icon(self, rgb: tuple) -> QtGui.QIcon:
        if rgb not in self._icons:
            pixmap = QtGui.QPixmap(12, 12)
            pixmap.fill(QtGui.QColor(*rgb))
            self._icons[rgb] = QtGui.QIcon(pixmap)
        return self._icons[rgb]

    def _on_selection(self) -> None:
        if self._updating:
            return
        rows = {index.row() for index in self.selectedIndexes()}
        new = self.ids[min(rows)] if rows and min(rows) < len(self.ids) else None
        if new != self.selected_id:
            self.selected_id = new
            self.selected.emit(new)

    def select_id(self, person_id: int | None) -> None:
        """Selects a person as a click would (tests, keyboard)."""
        if person_id in self.ids:
            self.selectRow(self.ids.index(person_id))
        else:
            self.clearSelection()
