"""The viewer benchmark: how fast the window redraws with six skeletons and 1080p video while inference runs,
and what the window costs the engine's own latency.

    python tools/gui_bench.py --source VIDEO [--seconds 12] [--json F]

Three runs on the same looped video (played as a camera, at its frame rate), each after the models are loaded:
  engine   the engine alone, nothing drawing: its latency and fps
  window   the real window polling at 60 Hz (the app's setting): redraws per second and the engine's latency
  capacity the window redrawing everything on every tick, as fast as it can (a new 1080p upload, six 2D
           overlays, six 3D skeletons each time, changed or not): what the viewer could sustain
  viewer   the same with inference paused: the viewer's own ceiling on this machine
The video has two people; four more are made by copying them sideways (ids 101, 102, ...), in 2D and in 3D.
Runs under Xvfb (started here) so it needs no screen; the 3D view renders with Mesa on the CPU."""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from livecap.settings import PipelineSettings
from livecap.sources import open_source
from livecap.types import PersonPose


def multiply_people(count: int, width: int):
    """A function of a frame's people that adds copies of the real people, shifted sideways, up to `count` people."""
    def transform(people: list[PersonPose]) -> list[PersonPose]:
        out = list(people)
        k = 1
        while people and len(out) < count:
            for person in people:
                if len(out) >= count:
                    break
                twin = copy.copy(person)
                twin.id = person.id + 100 * k
                dx = (k * 330) % width - (width // 2 if k % 2 else 0)
                twin.landmarks2d = person.landmarks2d + np.array([dx, 0, 0], np.float32)
                twin.bbox = person.bbox + np.array([dx, 0, dx, 0], np.float32)
                if person.skeleton is not None:
                    twin.skeleton = copy.copy(person.skeleton)
                    shift = np.array([0.9 * k * (1 if k % 2 else -1), 0, 0.4 * k], np.float32)
                    twin.skeleton.joints3d = person.skeleton.joints3d + shift
                    twin.skeleton.root = person.skeleton.root + shift
                out.append(twin)
            k += 1
        return out
    return transform


def _engine_alone(source: str, models, seconds: float) -> dict:
    from livecap.engine import Engine, EngineConfig

    config = EngineConfig(source, PipelineSettings(), paced=True, loop=True)
    engine = Engine(config, models=models.get(config))
    engine.start()
    time.sleep(seconds)
    status = engine.status()
    engine.stop()
    return {"fps": status.fps, "latency_p50_ms": status.latency_p50_ms, "latency_p95_ms": status.latency_p95_ms,
            "dropped_share": status.dropped / max(status.captured, 1)}


class PaintCounter:
    def __init__(self, app, window):
        from PyQt6 import QtCore

        self.video = self.gl = 0
        self.redraw_s = self.gl_s = 0.0
        counter = self

        class Filter(QtCore.QObject):
            def eventFilter(self, obj, event):
                if event.type() == QtCore.QEvent.Type.Paint:
                    counter.video += 1
                return False
        self._filter = Filter()
        window.video.viewport().installEventFilter(self._filter)
        scene = window.skeletons.scene
        paint_gl = scene.paintGL

        def counted_paint_gl(*args, **kwargs):
            counter.gl += 1
            tick = time.perf_counter()
            paint_gl(*args, **kwargs)
            counter.gl_s += time.perf_counter() - tick
        scene.paintGL = counted_paint_gl
        redraw = window.redraw

        def timed_redraw():
            tick = time.perf_counter()
            redraw()
            counter.redraw_s += time.perf_counter() - tick
        window.display_timer.timeout.disconnect()
        window.display_timer.timeout.connect(timed_redraw)
        self.ticks = 0
        window.display_timer.timeout.connect(lambda: setattr(self, "ticks", self.ticks + 1))

    def reset(self) -> None:
        self.video = self.gl = self.ticks = 0
        self.redraw_s = self.gl_s = 0.0


def _window_run(app, window, counter, seconds: float, capacity: bool) -> dict:
    from PyQt6 import QtCore

    window.redraw_unchanged = capacity
    window.display_timer.setInterval(0 if capacity else 16)  # 0: as fast as the event loop turns
    counter.reset()
    started = time.perf_counter()
    cpu = time.process_time()
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    elapsed = time.perf_counter() - started
    status = window.runner.engine.status()
    paused = status.state == "paused"
    return {"video_redraws_per_s": counter.video / elapsed, "view3d_redraws_per_s": counter.gl / elapsed,
            "ticks_per_s": counter.ticks / elapsed, "redraw_ms": 1000 * counter.redraw_s / max(counter.ticks, 1),
            "paint_gl_ms": 1000 * counter.gl_s / max(counter.gl, 1),
            "people_drawn": len(window._people), "fps": 0.0 if paused else status.fps, "latency_p50_ms": status.latency_p50_ms,
            "latency_p95_ms": status.latency_p95_ms, "process_cpu_share": (time.process_time() - cpu) / elapsed}


def run(source: str, seconds: float, people: int) -> dict:
    from livecap.gui.app import MainWindow
    from livecap.gui.launch import make_app, share_gl_contexts
    from livecap.gui.engine_runner import ModelCache
    from xvfb import Xvfb

    Xvfb().start()
    share_gl_contexts()
    app = make_app()
    models = ModelCache()
    results = {"source": source, "seconds": seconds, "people": people}
    results["engine"] = _engine_alone(source, models, seconds)
    with tempfile.TemporaryDirectory() as settings:
        probe = open_source(source)
        results["video"] = f"{probe.mode.width}x{probe.mode.height}"
        transform = multiply_people(people, probe.mode.width)
        probe.close()

        class CrowdedWindow(MainWindow):  # the video's people, copied sideways up to `people`
            def people_to_draw(self, result):
                return transform(result.people)

        window = CrowdedWindow(Path(settings), models=models)
        window.resize(1500, 900)
        window.show()
        window.source_panel.loop.setChecked(True)
        counter = PaintCounter(app, window)
        window.source_panel.set_source(source)
        window.start()
        deadline = time.monotonic() + 120
        while window.runner.phase != "running" or len(window._people) < people:
            app.processEvents()
            time.sleep(0.005)
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: the window never showed {people} people ({window.runner.message})")
        results["window"] = _window_run(app, window, counter, seconds, capacity=False)
        results["capacity"] = _window_run(app, window, counter, seconds, capacity=True)
        window.runner.engine.pause()
        results["viewer"] = _window_run(app, window, counter, seconds, capacity=True)
        results["view_pixels"] = [window.video.width(), window.video.height(), window.skeletons.width(),
                                  window.skeletons.height()]
        window.close()
    return results


def format_results(r: dict) -> str:
    e, w, c = r["engine"], r["window"], r["capacity"]
    lines = [f"viewer benchmark: {r['video']} video, {r['people']} people drawn, {r['seconds']:.0f} s per run",
             f"{'run':10s} {'video/s':>8s} {'3D/s':>6s} {'redraw ms':>9s} {'engine fps':>10s} {'p50 ms':>7s} "
             f"{'p95 ms':>7s}",
             f"{'engine':10s} {'-':>8s} {'-':>6s} {'-':>9s} {e['fps']:10.1f} {e['latency_p50_ms']:7.0f} "
             f"{e['latency_p95_ms']:7.0f}"]
    for name, x in (("window", w), ("capacity", c), ("viewer", r["viewer"])):
        lines.append(f"{name:10s} {x['video_redraws_per_s']:8.1f} {x['view3d_redraws_per_s']:6.1f} "
                     f"{x['redraw_ms']:9.2f} {x['fps']:10.1f} {x['latency_p50_ms']:7.0f} {x['latency_p95_ms']:7.0f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="video file (looped, played as a camera)")
    parser.add_argument("--seconds", type=float, default=12.0, help="length of each run (default 12)")
    parser.add_argument("--people", type=int, default=6, help="people drawn (copies added; default 6)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    results = run(args.source, args.seconds, args.people)
    print(format_results(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
