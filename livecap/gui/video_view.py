"""The live video with every person's 2D skeleton and id, in one pyqtgraph ViewBox.

Speed (ecosystem notes 5.1): a row-major ImageItem fed a C-contiguous RGB uint8 image with autoLevels off takes
the direct QImage path; the frame is shrunk to the widget's pixel size first (a 1080p frame in a 900-pixel view
would be painted scaled every redraw anyway) and the ImageItem is stretched back over the full-size rectangle so
the overlays stay in source pixels. One PlotCurveItem per person (connect='pairs') for the body, one for the hands
and one for the face's outlines (thin and faint: a face's 132 segments must not hide it), items reused between
frames, pens set only when a slot's person changes."""

from __future__ import annotations

import cv2
import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore

from livecap.gui.overlay import colour, face_segments_2d, hand_segments_2d, label_position, segments_2d
from livecap.types import PersonPose


class VideoView(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("#111")
        self.view = self.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view.setMouseEnabled(False, False)  # a fixed framing: the whole frame always shows
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.curves: list[pg.PlotCurveItem] = []
        self.hand_curves: list[pg.PlotCurveItem] = []  # each person's hands, thinner than their body
        self.face_curves: list[pg.PlotCurveItem] = []  # each person's face mesh outlines, thinner still
        self.labels: list[pg.TextItem] = []
        self._slot_ids: list[tuple[int, bool] | None] = []  # (id, predicted) each slot is styled for
        self._frame_image: np.ndarray | None = None  # the BGR array last shown, to skip unchanged frames
        self._size: tuple[int, int] | None = None
        self.placeholder = pg.TextItem("no video", color="#888", anchor=(0.5, 0.5))
        self.view.addItem(self.placeholder)
        self.placeholder.setPos(320, 180)
        self.view.setRange(QtCore.QRectF(0, 0, 640, 360), padding=0)

    def show_frame(self, image: np.ndarray | None, people: list[PersonPose], force: bool = False) -> None:
        """Shows a BGR frame (skipped when it is the one already shown, unless forced) and the people on it."""
        if image is not None and (force or image is not self._frame_image):
            self._set_image(image)
        for slot, person in enumerate(people):
            self._draw_person(slot, person)
        for slot in range(len(people), len(self.curves)):
            if self._slot_ids[slot] is not None:
                self.curves[slot].setVisible(False)
                self.hand_curves[slot].setVisible(False)
                self.face_curves[slot].setVisible(False)
                self.labels[slot].setVisible(False)
                self._slot_ids[slot] = None

    def clear(self) -> None:
        self.show_frame(None, [])

    def _set_image(self, image: np.ndarray) -> None:
        self._frame_image = image
        height, width = image.shape[:2]
        pixels = max(int(self.width() * self.devicePixelRatioF()), 320)
        if width > pixels:
            small = cv2.resize(image, (pixels, max(1, round(height * pixels / width))), interpolation=cv2.INTER_LINEAR)
        else:
            small = image
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)  # contiguous: the fast QImage path
        self.image.setImage(rgb, autoLevels=False)
        self.image.setRect(QtCore.QRectF(0, 0, width, height))
        if self._size != (width, height):
            self._size = (width, height)
            self.placeholder.setVisible(False)
            self.view.setRange(QtCore.QRectF(0, 0, width, height), padding=0)

    def _draw_person(self, slot: int, person: PersonPose) -> None:
        if slot == len(self.curves):
            curve = pg.PlotCurveItem(connect="pairs", antialias=False)
            hands = pg.PlotCurveItem(connect="pairs", antialias=False)
            face = pg.PlotCurveItem(connect="pairs", antialias=False)
            label = pg.TextItem(anchor=(0.5, 1.0))
            for item in (curve, hands, face, label):
                self.view.addItem(item)
            self.curves.append(curve)
            self.hand_curves.append(hands)
            self.face_curves.append(face)
            self.labels.append(label)
            self._slot_ids.append(None)
        curve, hands, face, label = self.curves[slot], self.hand_curves[slot], self.face_curves[slot], self.labels[slot]
        if self._slot_ids[slot] != (person.id, person.predicted):
            rgb = colour(person.id)
            # a person lost for a moment is drawn where their motion takes them, dashed: a guess, not a sighting
            style = QtCore.Qt.PenStyle.DashLine if person.predicted else QtCore.Qt.PenStyle.SolidLine
            curve.setPen(pg.mkPen(rgb, width=3, style=style))
            hands.setPen(pg.mkPen(rgb, width=1.5))
            hands.setVisible(True)
            face.setPen(pg.mkPen((*rgb, 170), width=1))
            face.setVisible(True)
            label.setText(f"#{person.id}")
            label.setColor(rgb)
            label.fill = pg.mkBrush(0, 0, 0, 150)
            curve.setVisible(True)
            label.setVisible(True)
            self._slot_ids[slot] = (person.id, person.predicted)
        points = segments_2d(person)
        if len(points):
            curve.setData(points[:, 0], points[:, 1], connect="pairs")
        else:
            curve.setData([], [])
        points = hand_segments_2d(person)
        hands.setData(points[:, 0], points[:, 1], connect="pairs")
        points = face_segments_2d(person)
        face.setData(points[:, 0], points[:, 1], connect="pairs")
        label.setPos(*label_position(person))
