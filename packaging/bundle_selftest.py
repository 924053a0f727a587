"""`livecap --bundle-selftest [--gl] [--shot FILE] [--seconds S]`: checks that a frozen livecap carries the
pieces the desktop app needs, without depending on the app's own window code.

Always: the bundle paths, NUMBA_CACHE_DIR, the shipped models, ONNX Runtime's providers, PyQt6 with the
platform plugin Qt picks (offscreen when QT_QPA_PLATFORM=offscreen, xcb under X11/Xvfb).
With --gl: a pyqtgraph window with an ImageView and a GLViewWidget (grid + line), shown and drawn, the OpenGL
vendor/renderer/version read from its context and its framebuffer checked for drawn pixels (needs a display
with OpenGL: a desktop, or Xvfb + Mesa). --shot saves that framebuffer as a PNG.
Prints one line per check and returns 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _line(ok: bool, text: str) -> bool:
    print(f"{'ok  ' if ok else 'FAIL'} {text}", flush=True)
    return ok


def _core() -> bool:
    ok = _line(bool(getattr(sys, "frozen", False)), f"frozen={getattr(sys, 'frozen', False)} "
                                                    f"bundle={getattr(sys, '_MEIPASS', '-')}")
    ok &= _line(bool(os.environ.get("NUMBA_CACHE_DIR")), f"NUMBA_CACHE_DIR={os.environ.get('NUMBA_CACHE_DIR')}")
    from numba.core.dispatcher import Dispatcher

    from livecap.pose.fitting import solver

    jitted = [f for f in vars(solver).values() if isinstance(f, Dispatcher) and getattr(f, "_cache", None)]
    for f in jitted[:1]:
        locator = f._cache._impl._locator
        ok &= _line(type(locator).__name__ == "UserProvidedCacheLocator",
                    f"numba cache of {f.__name__}: {type(locator).__name__} -> {locator.get_cache_path()}")
    ok &= _line(bool(jitted), f"{len(jitted)} cached numba functions in {solver.__file__}")
    from livecap.models.catalog import ModelCatalog

    catalog = ModelCatalog()
    states = {name: catalog.status(name).state for name in catalog.names()}
    ok &= _line(bool(states) and all(s == "ok" for s in states.values()),
                f"models in {catalog.shipped_dir}: {states}")
    import onnxruntime

    ok &= _line(True, f"onnxruntime {onnxruntime.__version__}: {onnxruntime.get_available_providers()}")
    return ok


def _qt(gl: bool, shot: str | None, seconds: float) -> bool:
    from PyQt6 import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["livecap"])
    ok = _line(True, f"PyQt6 {QtCore.PYQT_VERSION_STR} / Qt {QtCore.qVersion()} platform={app.platformName()}")
    if not gl:
        return ok

    import numpy as np
    import pyqtgraph as pg
    import pyqtgraph.opengl as gl_items
    from OpenGL import GL

    pg.setConfigOptions(imageAxisOrder="row-major")
    window = QtWidgets.QWidget()
    window.setWindowTitle("livecap bundle self-test")
    layout = QtWidgets.QHBoxLayout(window)
    image = pg.ImageView()
    ramp = np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (240, 1))
    image.setImage(ramp)
    view = gl_items.GLViewWidget()
    view.addItem(gl_items.GLGridItem())
    view.addItem(gl_items.GLLinePlotItem(pos=np.array([[0, 0, 0], [0, 0, 2], [1, 0, 3]], dtype=float),
                                         color=(1, 0.3, 0.1, 1), width=3))
    layout.addWidget(image)
    layout.addWidget(view)
    window.resize(900, 450)
    window.show()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    view.makeCurrent()
    strings = {name: GL.glGetString(getattr(GL, name)) for name in ("GL_VENDOR", "GL_RENDERER", "GL_VERSION")}
    strings = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in strings.items()}
    ok &= _line(bool(strings["GL_VERSION"]), f"OpenGL context: {strings}")
    frame = view.grabFramebuffer()
    ptr = frame.constBits()
    ptr.setsize(frame.sizeInBytes())
    pixels = np.frombuffer(ptr, np.uint8).reshape(frame.height(), frame.bytesPerLine())
    distinct = len(np.unique(pixels[:, : frame.width() * 4].reshape(-1, 4), axis=0))
    ok &= _line(distinct > 2, f"GLViewWidget drew {frame.width()}x{frame.height()} with {distinct} distinct colours")
    if shot:
        ok &= _line(window.grab().save(shot), f"window saved to {shot}")
    # tear down while Qt and Python both still hold the widgets (pyqtgraph's ViewBox menus otherwise complain at
    # interpreter exit that their QComboBox is already deleted)
    window.close()
    window.deleteLater()
    app.processEvents()
    app.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    app.processEvents()
    return ok


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="livecap --bundle-selftest")
    parser.add_argument("--gl", action="store_true", help="open a pyqtgraph OpenGL window (needs a display)")
    parser.add_argument("--shot", help="save the window to this PNG (with --gl)")
    parser.add_argument("--seconds", type=float, default=1.5, help="how long the window stays up (default 1.5)")
    args = parser.parse_args(argv)
    ok = _core()
    try:
        ok &= _qt(args.gl, args.shot, args.seconds)
    except Exception as exc:  # noqa: BLE001 - reported as a failed check
        ok = _line(False, f"Qt/OpenGL: {type(exc).__name__}: {exc}")
    print("bundle self-test:", "passed" if ok else "FAILED", flush=True)
    return 0 if ok else 1
