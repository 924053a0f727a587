"""The real-time engine: capture, inference and every sink on threads of their own, joined by slots and queues
that cannot grow. One start / pause / resume / stop / status API, shared by `livecap run`, `livecap bench` and
the desktop app.

- Capture keeps only the newest frame: a frame inference has not taken when the next arrives is dropped and
  counted (for an unpaced file nothing is dropped: capture waits instead).
- Each sink has a bounded queue: a slow sink drops (and counts) results, never slows inference or capture; a
  sink that fails is reported and stopped, the others go on.
- A live source that fails is reported and reopened with back-off; a file's end stops the engine cleanly.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from livecap.camera import camera_for
from livecap.capture import CaptureRequest, FrameReader, open_reader
from livecap.models.catalog import ModelCatalog
from livecap.errors import LivecapError
from livecap.pose.filtering import DEFAULT_SMOOTHING, SmoothingSettings
from livecap.pose.fitting import FitSettings
from livecap.pose.pipeline import PipelineModels, PosePipeline
from livecap.presets import get_preset
from livecap.types import Frame, FrameResult, StreamInfo
from livecap.models.runtime import RuntimeOptions
from livecap.sinks import Sink

log = logging.getLogger("livecap")

RECENT = 120  # frames the fps, latency and stage figures are taken over


@dataclass
class EngineConfig:
    source: str  # camera index, file, folder or URL
    paced: bool = False  # play a file as a camera: at its frame rate, dropping what inference cannot take
    loop: bool = False  # play a file again from the start when it ends
    preset: str = "balanced"
    request: CaptureRequest = field(default_factory=CaptureRequest)
    model_dir: str | None = None
    providers: list[str] | None = None
    fov: float | None = None
    calibration: str | None = None
    smoothing: float = DEFAULT_SMOOTHING
    height: float | None = None
    sink_queue: int = 64  # results waiting per sink before that sink drops
    max_frames: int | None = None
    reconnect_max_s: float = 5.0


@dataclass
class SinkStatus:
    name: str
    written: int
    dropped: int
    error: str | None
    running: bool


@dataclass
class EngineStatus:
    state: str  # idle, running, paused, reconnecting, ended, stopped, failed
    message: str = ""
    frames: int = 0  # processed
    captured: int = 0
    dropped: int = 0  # captured frames never processed
    fps: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0
    people: int = 0
    providers: list[str] = field(default_factory=list)
    mode: str = ""  # what the source actually delivers
    stage_ms: dict[str, float] = field(default_factory=dict)  # recent means, with "capture" and "sinks"
    sinks: list[SinkStatus] = field(default_factory=list)

    def line(self) -> str:
        provider = self.providers[0].replace("ExecutionProvider", "") if self.providers else "-"
        text = (f"{self.state} | {self.fps:5.1f} fps | latency {self.latency_p50_ms:.0f}/{self.latency_p95_ms:.0f} ms "
                f"p50/p95 | {self.people} people | dropped {self.dropped} | {provider} | {self.mode}")
        for sink in self.sinks:
            if sink.error:
                text += f" | {sink.name} failed"
            elif sink.dropped:
                text += f" | {sink.name} dropped {sink.dropped}"
        return text + (f" | {self.message}" if self.message else "")


class LatestSlot:
    """Holds one item. put() replaces an untaken item (counting the drop) or, with wait=True, waits for it to be
    taken. close() wakes everyone: get() then returns None once the slot is empty."""

    def __init__(self):
        self._item = None
        self._closed = False
        self._ready = threading.Condition()
        self.dropped = 0

    def put(self, item, wait: bool = False) -> None:
        with self._ready:
            while wait and self._item is not None and not self._closed:
                self._ready.wait(0.1)
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._ready.notify_all()

    def get(self, timeout: float = 0.1):
        with self._ready:
            if self._item is None and not self._closed:
                self._ready.wait(timeout)
            item, self._item = self._item, None
            self._ready.notify_all()
            return item

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed and self._item is None


_STOP = object()


class SinkWorker:
    """One sink on its own thread behind a bounded queue."""

    def __init__(self, sink: Sink, capacity: int):
        self.sink = sink
        self.queue: queue.Queue = queue.Queue(capacity)
        self.written = self.dropped = 0
        self.error: str | None = None
        self.thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self, info: StreamInfo) -> None:
        try:
            self.sink.start(info)
        except Exception as exc:  # noqa: BLE001 - any sink failure is reported, never fatal to the engine
            self._failed(exc)
            self.sink.close()
            return
        self.thread = threading.Thread(target=self._run, name=f"livecap-sink-{self.sink.name}", daemon=True)
        self.thread.start()

    def offer(self, result: FrameResult) -> None:
        if not self.running:
            return
        try:
            self.queue.put_nowait(result)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        try:
            while (item := self.queue.get()) is not _STOP:
                self.sink.write(item)
                self.written += 1
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
        finally:
            self.sink.close()

    def _failed(self, exc: Exception) -> None:
        self.error = str(exc) if isinstance(exc, LivecapError) else f"{type(exc).__name__}: {exc}"
        log.error("%s output stopped: %s", self.sink.name, self.error)

    def stop(self, timeout: float = 10.0) -> None:
        """Lets the sink write what is queued (flush), then closes it."""
        if self.thread is None:
            return
        deadline = time.monotonic() + timeout
        while self.thread.is_alive() and time.monotonic() < deadline:
            try:
                self.queue.put(_STOP, timeout=0.1)
                break
            except queue.Full:
                continue
        self.thread.join(max(deadline - time.monotonic(), 0.1))

    def status(self) -> SinkStatus:
        return SinkStatus(self.sink.name, self.written, self.dropped, self.error,
                          self.running or (self.thread is None and self.error is None))


ReaderFactory = Callable[[], FrameReader]


class Engine:
    """Usage: engine = Engine(config, sinks); engine.start(); ... engine.status() ...; engine.stop().
    start() loads the models (once per engine) and opens the source, raising LivecapError when either fails."""

    def __init__(self, config: EngineConfig, sinks: list[Sink] | None = None,
                 reader_factory: ReaderFactory | None = None, models: PipelineModels | None = None):
        self.config = config
        self.sinks = list(sinks or [])
        self._open_reader = reader_factory or (lambda: open_reader(config.source, config.paced, config.request,
                                                                            config.loop))
        self.models = models
        self._models_preset = config.preset if models is not None else None  # the preset they were loaded for
        self._threads: list[threading.Thread] = []
        self._workers: list[SinkWorker] = []
        self._stop = threading.Event()
        self._finished = threading.Event()  # inference has ended
        self._paused = threading.Event()
        self._lock = threading.Lock()
        self._status = EngineStatus("idle")
        self._latest: tuple[Frame, FrameResult] | None = None
        self._capture_ms = 0.0  # mean time to read (and decode) a frame
        self._info: StreamInfo | None = None

    # ---- control
    def start(self) -> None:
        if self._threads:
            raise LivecapError("the engine is already running: stop it first")
        self._stop.clear()
        self._finished.clear()
        self._paused.clear()
        preset = get_preset(self.config.preset)
        smoothing = SmoothingSettings.from_strength(self.config.smoothing)
        if self.models is None or self._models_preset != preset.name:  # loaded once, again for another preset
            self.models = PipelineModels.load(preset, ModelCatalog(self.config.model_dir),
                                              RuntimeOptions(self.config.providers))
            self._models_preset = preset.name
        reader = self._open_reader()
        try:
            mode = reader.mode
            camera = camera_for(mode.width, mode.height, self.config.fov, self.config.calibration)
        except LivecapError:
            reader.close()
            raise
        pipeline = PosePipeline(self.models, preset, camera=camera, fit=FitSettings(height=self.config.height),
                                smoothing=smoothing)
        pipeline.warm_up(mode.width, mode.height)
        info = StreamInfo(reader.description, mode.width, mode.height, mode.fps, camera, preset.name,
                          self.models.providers, {"smoothing": self.config.smoothing, "height": self.config.height})
        self._info = info
        self._status = EngineStatus("running", providers=self.models.providers, mode=str(mode))
        self._workers = [SinkWorker(sink, self.config.sink_queue) for sink in self.sinks]
        for worker in self._workers:
            worker.start(info)
        slot = LatestSlot()
        self._threads = [threading.Thread(target=self._capture, args=(reader, slot), name="livecap-capture",
                                          daemon=True),
                         threading.Thread(target=self._infer, args=(pipeline, slot), name="livecap-inference",
                                          daemon=True)]
        for thread in self._threads:
            thread.start()

    def add_sink(self, sink: Sink) -> None:
        """Attach an output while running (the GUI's record and stream buttons); it starts with the next frame."""
        worker = SinkWorker(sink, self.config.sink_queue)
        if self._info is not None and self._threads:
            worker.start(self._info)
        self.sinks.append(sink)
        self._workers = [*self._workers, worker]  # a new list: the inference thread may be iterating the old one

    def remove_sink(self, sink: Sink) -> SinkStatus | None:
        """Detach an output while running: it writes what it was given, then closes."""
        worker = next((w for w in self._workers if w.sink is sink), None)
        if sink in self.sinks:
            self.sinks.remove(sink)
        if worker is None:
            return None
        self._workers = [w for w in self._workers if w is not worker]
        worker.stop()
        return worker.status()

    def pause(self) -> None:
        self._paused.set()
        self._set(state="paused")

    def resume(self) -> None:
        self._paused.clear()
        self._set(state="running")

    def stop(self) -> EngineStatus:
        """Stops capture and inference, lets every sink write what it was given, closes everything."""
        self._stop.set()
        for thread in self._threads:
            thread.join(10.0)
        for worker in self._workers:
            worker.stop()
        self._threads = []
        with self._lock:
            if self._status.state not in ("ended", "failed"):
                self._status.state = "stopped"
        return self.status()

    def wait(self, timeout: float | None = None) -> bool:
        """Waits for the source to end (or the engine to stop); True when it has. An Event, not Thread.join:
        a join interrupted by Ctrl-C can leave the thread marked finished while it still runs, and the process
        then aborts at exit with the thread inside ONNX Runtime."""
        return self._finished.wait(timeout) if self._threads else True

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def status(self) -> EngineStatus:
        with self._lock:
            status = EngineStatus(**{k: getattr(self._status, k) for k in self._status.__dataclass_fields__})
        status.sinks = [w.status() for w in self._workers]
        status.stage_ms = {"capture": self._capture_ms, **status.stage_ms}
        return status

    def latest(self) -> tuple[Frame, FrameResult] | None:
        """The newest frame and its result, for a viewer polling at its own rate."""
        return self._latest

    def _set(self, **changes) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._status, key, value)

    # ---- threads
    def _capture(self, reader: FrameReader | None, slot: LatestSlot) -> None:
        live, index, backoff = reader.live, 0, 0.5
        started = time.monotonic()
        fps = reader.mode.fps or 30.0
        read_ms: deque[float] = deque(maxlen=RECENT)
        try:
            while not self._stop.is_set():
                if reader is None:
                    reader = self._reopen(backoff)
                    backoff = min(backoff * 2, self.config.reconnect_max_s)
                    if reader is None:
                        continue
                    backoff = 0.5
                    self._set(state="running", message="", mode=str(reader.mode))
                tick = time.monotonic()
                try:
                    image = reader.read()
                except (LivecapError, OSError, RuntimeError) as exc:
                    self._lost(reader, exc, live)
                    reader = None
                    if not live:
                        break
                    continue
                if image is None:
                    break  # the end of a file
                now = time.monotonic()
                read_ms.append((now - tick - getattr(reader, "waited", 0.0)) * 1000.0)  # decoding, not pacing
                media_time = index / fps if not live else now - started
                # converted here, on the capture thread, so inference does not spend its time on it
                rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
                slot.put(Frame(index, media_time, image, now, rgb=rgb), wait=not (live or self.config.paced))
                index += 1
                self._capture_ms = float(np.mean(read_ms))
                self._set(captured=index, dropped=slot.dropped)
                if self.config.max_frames is not None and index >= self.config.max_frames:
                    break
        finally:
            if reader is not None:
                reader.close()
            slot.close()

    def _reopen(self, backoff: float) -> FrameReader | None:
        if self._stop.wait(backoff):
            return None
        try:
            return self._open_reader()
        except LivecapError as exc:
            retry = min(backoff * 2, self.config.reconnect_max_s)
            self._set(state="reconnecting", message=f"{exc}; retrying in {retry:.0f} s")
            return None

    def _lost(self, reader: FrameReader, exc: Exception, live: bool) -> None:
        reader.close()
        if live:
            log.warning("source lost (%s): reconnecting", exc)
            self._set(state="reconnecting", message=f"source lost ({exc}): reconnecting")
        else:
            log.error("source failed: %s", exc)
            self._set(state="failed", message=f"source failed: {exc}")

    def _infer(self, pipeline: PosePipeline, slot: LatestSlot) -> None:
        latencies: deque[float] = deque(maxlen=RECENT)
        done_at: deque[float] = deque(maxlen=RECENT)
        stages: deque[dict] = deque(maxlen=RECENT)
        frames = 0
        while not self._stop.is_set():
            frame = slot.get()
            if frame is None:
                if slot.closed:
                    break
                continue
            if self._paused.is_set():
                continue
            try:
                result = pipeline.process(frame)
            except Exception as exc:  # noqa: BLE001 - reported as the engine's state, not a dead thread
                log.exception("inference failed")
                self._set(state="failed", message=f"inference failed: {exc}")
                break
            tick = time.monotonic()
            for worker in self._workers:
                worker.offer(result)
            now = time.monotonic()
            result.stage_ms["sinks"] = (now - tick) * 1000.0
            self._latest = (frame, result)
            frames += 1
            latencies.append((now - frame.captured_at) * 1000.0)
            done_at.append(now)
            stages.append(result.stage_ms)
            self._record(frames, latencies, done_at, stages, len(result.people))
        with self._lock:
            if slot.closed and not self._stop.is_set() and self._status.state != "failed":
                self._status.state = "ended"
        self._finished.set()

    def _record(self, frames, latencies, done_at, stages, people) -> None:
        fps = (len(done_at) - 1) / (done_at[-1] - done_at[0]) if len(done_at) > 1 else 0.0
        names = {name for stage in stages for name in stage}
        means = {name: float(np.mean([s.get(name, 0.0) for s in stages])) for name in names}
        p50, p95 = np.percentile(latencies, [50, 95])
        with self._lock:
            self._status.frames, self._status.fps, self._status.people = frames, fps, people
            self._status.latency_p50_ms, self._status.latency_p95_ms = float(p50), float(p95)
            self._status.stage_ms = means
