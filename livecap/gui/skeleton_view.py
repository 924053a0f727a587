"""Every person's fitted skeleton in the shared camera space, in pyqtgraph's GL view.

pyqtgraph's GLViewWidget is a QOpenGLWidget, and one QOpenGLWidget makes Qt composite the whole window through
OpenGL on every update, video included: on a machine rendering GL in software (Mesa, Xvfb) that halved the
window's redraw rate. The same view as a QOpenGLWindow (pyqtgraph's GLViewMixin) in a window container renders
into its own native surface and leaves the rest of the window on the raster path.

Display axes are Z-up (pyqtgraph's orbit camera): x right, y away from the camera, z up (overlay.world_to_display).
The livecap camera sits at the origin, drawn as a small frustum; the floor grid follows the lowest foot seen. One
GLLinePlotItem per person reused between frames, one scatter item for all joints, drawn opaque (pyqtgraph's default
additive blending brightens them and mixes them with what lies behind: a person's colour must be the same here as
in the video and the table).

The view keeps every fitted skeleton in frame: people stand anywhere from one metre to twenty from the camera and
several metres apart, far more than one fixed view holds. Its centre and distance glide to frame them all, but never
so slowly that anyone is left outside. Orbiting keeps that; zooming or panning hands the view to the user until
`Reset view`."""

from __future__ import annotations

import numpy as np
import pyqtgraph.opengl as gl
from pyqtgraph import Vector
from pyqtgraph.opengl.GLViewWidget import GLViewMixin
from PyQt6 import QtCore, QtGui, QtOpenGL, QtWidgets

from livecap.gui.overlay import colour, floor_level, framing, root_display, segments_3d, sphere_distance
from livecap.types import PersonPose

HOME = {"distance": 4.2, "elevation": 16.0, "azimuth": -90.0}  # behind and above the camera, looking out
HOME_CENTRE = (0.0, 3.0, -0.3)  # a few metres in front of the camera, where people stand
EASE = 0.15  # the share of the way to the new framing taken per result: the view glides, it does not jump
GRID_SIZE = 24.0  # metres: the floor under a street scene's people too


class SkeletonScene(GLViewMixin, QtOpenGL.QOpenGLWindow):
    """The GL view itself: a native window. Keys it does not use (Space, R) go to `on_key` (the main window's
    shortcuts do not see keys typed into a native child window)."""

    def __init__(self):
        self._dirty = True
        super().__init__()
        self.on_key = None
        self.setBackgroundColor((17, 17, 17))
        self.grid = gl.GLGridItem(color=(255, 255, 255, 50))
        self.grid.setSize(GRID_SIZE, GRID_SIZE)
        self.grid.setSpacing(0.5, 0.5)
        self._grid_at = np.array([0.0, GRID_SIZE / 2 - 2, -1.5])  # x, y under the people; z the floor
        self._place_grid()
        self.addItem(self.grid)
        self.addItem(gl.GLLinePlotItem(pos=_frustum(), mode="lines", color=(0.8, 0.8, 0.8, 0.8), width=1))
        self.joints = gl.GLScatterPlotItem(pos=np.zeros((0, 3), np.float32), size=6, pxMode=True,
                                           glOptions="opaque")
        self.addItem(self.joints)
        self.lines: list[gl.GLLinePlotItem] = []
        self.follow_id: int | None = None
        self.auto_frame = True  # the view frames every skeleton until the user zooms or pans
        self._points: np.ndarray | None = None  # the skeletons on screen, display space
        self._framed = False  # False: the next framing jumps rather than glides
        self.reset_view()

    def reset_view(self) -> None:
        """Behind and above the camera, every person in frame (or where people usually stand)."""
        self.auto_frame = True
        self._framed = False
        self.setCameraPosition(pos=Vector(*HOME_CENTRE), **HOME)
        if self._points is not None:
            self._frame(self._points)

    def new_take(self) -> None:
        self._framed = False

    def show_people(self, people: list[PersonPose]) -> None:
        fitted = [(p, seg) for p in people if (seg := segments_3d(p)) is not None]
        for slot, (person, seg) in enumerate(fitted):
            if slot == len(self.lines):
                # no antialiasing: smoothed lines cost a lot in software GL, and 3-pixel lines read well without it
                item = gl.GLLinePlotItem(mode="lines", width=3, antialias=False, glOptions="opaque")
                self.lines.append(item)
                self.addItem(item)
            r, g, b = colour(person.id)
            self.lines[slot].setData(pos=seg, color=(r / 255, g / 255, b / 255, 1.0))
            self.lines[slot].setVisible(True)
        for item in self.lines[len(fitted):]:
            item.setVisible(False)
        if fitted:
            joints = np.concatenate([seg for _, seg in fitted])
            colours = np.concatenate([np.tile([*(c / 255 for c in colour(p.id)), 1.0], (len(seg), 1))
                                      for p, seg in fitted]).astype(np.float32)
            self.joints.setData(pos=joints, color=colours)
            self._points = joints
            if self.auto_frame and self.follow_id is None:
                self._frame(joints)
        else:
            self.joints.setData(pos=np.zeros((0, 3), np.float32))
        self._follow_floor(people)
        self._follow_person(people)

    def _frame(self, points: np.ndarray) -> None:
        """Glides towards the framing of every point, at once as far out as needed to keep them all in view."""
        fov, aspect = self.opts["fov"], max(self.width(), 1) / max(self.height(), 1)
        target, distance = framing(points, fov, aspect)
        if self._framed:
            c = self.opts["center"]
            centre = np.array([c.x(), c.y(), c.z()]) + EASE * (target - np.array([c.x(), c.y(), c.z()]))
            distance = self.opts["distance"] + EASE * (distance - self.opts["distance"])
        else:
            centre, self._framed = target, True
        self.opts["center"] = Vector(*(float(v) for v in centre))
        self.opts["distance"] = max(distance, sphere_distance(points, centre, fov, aspect))
        self._grid_at[:2] = np.round(centre[:2] * 2) / 2  # on the grid's own spacing: the lines do not swim
        self._place_grid()
        self.update()

    def _follow_floor(self, people: list[PersonPose]) -> None:
        level = floor_level(people)
        if level is None:
            return
        self._grid_at[2] += 0.1 * (level - self._grid_at[2])  # eased, so one bad foot does not make the floor jump
        self._place_grid()

    def _place_grid(self) -> None:
        self.grid.resetTransform()
        self.grid.translate(*(float(v) for v in self._grid_at))

    def wheelEvent(self, event: QtGui.QWheelEvent) -> None:
        self.auto_frame = False  # the user zooms: theirs until Reset view
        super().wheelEvent(event)

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        buttons, ctrl = event.buttons(), bool(event.modifiers() & QtCore.Qt.KeyboardModifier.ControlModifier)
        panning = buttons == QtCore.Qt.MouseButton.MiddleButton or (buttons == QtCore.Qt.MouseButton.LeftButton and ctrl)
        if panning:
            self.auto_frame = False  # orbiting (a plain left drag) keeps the framing: it sees everyone from any angle
        super().mouseMoveEvent(event)

    def _follow_person(self, people: list[PersonPose]) -> None:
        if self.follow_id is None:
            return
        person = next((p for p in people if p.id == self.follow_id), None)
        root = root_display(person) if person is not None else None
        if root is None:
            return
        centre = self.opts["center"]
        target = Vector(float(root[0]), float(root[1]), float(root[2]))
        self.opts["center"] = centre + (target - centre) * 0.2  # eased: the camera glides, it does not jitter
        self.update()

    def update(self) -> None:
        """Every change (new skeletons, orbiting, zooming) only marks the view dirty; render_pending() paints it
        on the window's display tick. Qt's own update requests are paced separately from that tick and, under
        load, skipped every other frame."""
        self._dirty = True

    def render_pending(self) -> None:
        if self._dirty and self.isExposed():
            self._dirty = False
            QtCore.QCoreApplication.sendEvent(self, QtCore.QEvent(QtCore.QEvent.Type.UpdateRequest))

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if self.on_key is not None and event.key() in (QtCore.Qt.Key.Key_Space, QtCore.Qt.Key.Key_R):
            self.on_key(event.key())
            return
        super().keyPressEvent(event)


class SkeletonView(QtWidgets.QWidget):
    """The 3D view as a widget: the GL scene in a window container."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.scene = SkeletonScene()
        self.container = QtWidgets.QWidget.createWindowContainer(self.scene, self)
        self.container.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.container)

    @property
    def lines(self) -> list:
        return self.scene.lines

    @property
    def follow_id(self) -> int | None:
        return self.scene.follow_id

    @follow_id.setter
    def follow_id(self, value: int | None) -> None:
        self.scene.follow_id = value

    def show_people(self, people: list[PersonPose]) -> None:
        self.scene.show_people(people)

    def reset_view(self) -> None:
        self.scene.reset_view()

    def new_take(self) -> None:
        self.scene.new_take()

    def render_pending(self) -> None:
        self.scene.render_pending()

    def grab_into(self, image: QtGui.QImage, window: QtWidgets.QWidget) -> None:
        """Paints the GL picture into a grab of `window` (QWidget.grab cannot see a native GL surface)."""
        painter = QtGui.QPainter(image)
        frame = self.scene.grabFramebuffer()
        target = QtCore.QRectF(QtCore.QPointF(self.container.mapTo(window, QtCore.QPoint(0, 0))),
                               QtCore.QSizeF(self.container.size()))
        painter.drawImage(target, frame)
        painter.end()


def _frustum(depth: float = 0.35, half_w: float = 0.2, half_h: float = 0.12) -> np.ndarray:
    """The camera as four edges from its centre to an image rectangle in front of it, plus that rectangle."""
    corners = [(-half_w, depth, half_h), (half_w, depth, half_h), (half_w, depth, -half_h), (-half_w, depth, -half_h)]
    lines = []
    for i, corner in enumerate(corners):
        lines += [(0, 0, 0), corner, corner, corners[(i + 1) % 4]]
    return np.array(lines, np.float32)
