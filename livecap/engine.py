"""The real-time engine: capture, inference and every sink on threads of their own, joined by slots and queues
that cannot grow. One start / pause / resume / stop / status API, shared by `livecap run`, `livecap process`,
`livecap bench` and the desktop app.

- Capture keeps only the newest frame: a frame inference has not taken when the next arrives is dropped and
  counted. A file processed as fast as it goes (not paced) drops nothing: capture and sinks wait instead.
- Each sink has a bounded queue (livecap.workers): a slow sink drops (and counts) results, never slows inference
  or capture; a sink that fails is reported and stopped, the others go on; a required sink's failure fails the run.
- A live source that fails is reported and reopened with back-off; a file's end stops the engine cleanly.
- Where the cores pay for it (PipelineSettings.detect_ahead), the next frame's scheduled detector run is made on a
  thread of its own beside this frame's landmarks (livecap.pose.detection), with the same results.
- Threads the engine starts never receive SIGINT or SIGTERM: the main thread handles them and calls stop().
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from livecap.errors import LivecapError
from livecap.pose.pipeline import PipelineModels, PosePipeline, build_pipeline
from livecap.settings import PipelineSettings
from livecap.sinks import Sink
from livecap.solver_cache import compile_notice
from livecap.sources import CaptureRequest, FrameSource, open_source
from livecap.types import Frame, FrameResult, StreamInfo
from livecap.workers import LatestSlot, NextFrameWork, SinkStatus, SinkWorker

log = logging.getLogger("livecap")

RECENT = 120  # frames the fps, latency and stage figures are taken over
SourceFactory = Callable[[], FrameSource]


@dataclass
class EngineConfig:
    source: str  # camera index, file, folder or URL
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)
    paced: bool = False  # play a file as a camera: at its frame rate, dropping what inference cannot take
    loop: bool = False  # play a file again from the start when it ends
    stills: bool = False  # a folder's images are unrelated stills
    request: CaptureRequest = field(default_factory=CaptureRequest)
    sink_queue: int = 64  # results waiting per sink before that sink drops the oldest
    max_frames: int | None = None
    reconnect_max_s: float = 5.0
    perception_only: bool = False  # people neither smoothed nor fitted: the first pass of a refined take


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
    people_seen: int = 0  # different people (ids) since the start
    expected: int | None = None  # frames a file holds (up to max_frames), when known
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

    @property
    def failed_outputs(self) -> list[SinkStatus]:
        return [sink for sink in self.sinks if sink.error]


def models_key(settings: PipelineSettings) -> tuple:
    """What a set of loaded models depends on: settings with the same key share them."""
    return (settings.preset, settings.model_dir, settings.providers, settings.hands_on, settings.face_on,
            settings.landmark_model, settings.refine, settings.gpu_precision, settings.detect_ahead)


def _without_signals(start: Callable[[], None]) -> None:
    """Threads inherit the signal mask of the thread that creates them: with SIGINT and SIGTERM blocked while the
    engine creates its threads (and ONNX Runtime its thread pools), those signals reach only the main thread.
    Delivered to a native worker thread instead, Ctrl-C aborted the process at exit."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        start()  # Windows has no signal masks (nor such delivery); other threads get no signals anyway
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class Engine:
    """Usage: engine = Engine(config, sinks); engine.start(); ... engine.status() ...; engine.stop().
    start() opens the source, loads the models (once per engine and preset) and starts the sinks, raising
    LivecapError when any of these fails."""

    def __init__(self, config: EngineConfig, sinks: list[Sink] | None = None,
                 source_factory: SourceFactory | None = None, models: PipelineModels | None = None):
        self.config = config
        self.sinks = list(sinks or [])
        self._stop = threading.Event()
        self._open_source = source_factory or (lambda: open_source(config.source, config.paced, config.loop,
                                                                   config.request, config.stills, self._stop))
        self.models = models
        self._models_key = models_key(config.pipeline) if models is not None else None  # what they were loaded for
        self._threads: list[threading.Thread] = []
        self._workers: list[SinkWorker] = []
        self._slot: LatestSlot | None = None  # capture -> inference, while running
        self._finished = threading.Event()  # inference has ended
        self._paused = threading.Event()
        self._reset_faces = threading.Event()  # asked from another thread; done by inference between frames
        self._lock = threading.Lock()
        self._status = EngineStatus("idle")
        self._latest: tuple[Frame, FrameResult] | None = None
        self._capture_ms = 0.0  # mean time to read (and decode) a frame
        self._info: StreamInfo | None = None
        self._lossless = False
        self._people_seen: set[int] = set()

    # ---- control
    def start(self) -> None:
        if self._threads:
            raise LivecapError("the engine is already running: stop it first")
        self._stop.clear()
        self._finished.clear()
        self._paused.clear()
        self._people_seen = set()
        source = self._open_source()
        try:
            pipeline = self._pipeline(source)
            self._lossless = not source.live and not self.config.paced
            self._info = pipeline.stream_info(source.description, source.mode.width, source.mode.height,
                                              source.mode.fps)
            expected = min(filter(None, (source.frame_count, self.config.max_frames)), default=None)
            self._status = EngineStatus("running", providers=self.models.providers, mode=str(source.mode),
                                        expected=expected)
            self._workers = [SinkWorker(sink, self.config.sink_queue, self._lossless) for sink in self.sinks]
            for worker in self._workers:
                worker.start(self._info)
        except BaseException:
            source.close()
            for worker in self._workers:
                worker.stop()
            raise
        slot = self._slot = LatestSlot()
        self._threads = [threading.Thread(target=self._capture, args=(source, slot), name="livecap-capture",
                                          daemon=True),
                         threading.Thread(target=self._infer, args=(pipeline, slot), name="livecap-inference",
                                          daemon=True)]
        _without_signals(lambda: [thread.start() for thread in self._threads])

    def _pipeline(self, source: FrameSource) -> PosePipeline:
        settings = self.config.pipeline
        models = self.models if self._models_key == models_key(settings) else None  # loaded again for another preset
        pipeline = build_pipeline(settings, source.mode.width, source.mode.height, source.stills, models,
                                  fit=not self.config.perception_only)
        self.models, self._models_key = pipeline.models, models_key(settings)
        notice = compile_notice(settings.hands_on)
        if notice:  # the warm-up compiles the skeleton solver on a first run: half a minute of silence otherwise
            log.info(notice)
        pipeline.warm_up(source.mode.width, source.mode.height)
        return pipeline

    def add_sink(self, sink: Sink) -> None:
        """Attach an output while running (the GUI's record and stream buttons); it starts with the next frame."""
        worker = SinkWorker(sink, self.config.sink_queue, self._lossless)
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

    def reset_neutral_faces(self) -> None:
        """Every person's neutral face is learned again from the next frame on (PosePipeline.reset_neutral_faces,
        on the inference thread, which owns the pipeline)."""
        self._reset_faces.set()

    def pause(self) -> None:
        self._paused.set()
        self._set(state="paused")

    def resume(self) -> None:
        self._paused.clear()
        self._set(state="running")

    def release_models(self) -> None:
        """Lets the models go once stopped (what comes next needs none: a refined take's second pass); a start
        after it loads them again."""
        self.models, self._models_key = None, None

    def stop(self) -> EngineStatus:
        """Stops capture and inference, lets every sink write what it was given, closes everything. Every wait
        between the threads ends at once (the slot closed, the sinks' queues released): what remains is the frame
        inference is on and the sinks' flush, well within a second."""
        self._stop.set()
        if self._slot is not None:
            self._slot.close()
        for worker in self._workers:
            worker.release()
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
    def _capture(self, source: FrameSource | None, slot: LatestSlot) -> None:
        live, captured, backoff = source.live, 0, 0.5
        started = time.monotonic()
        read_ms: deque[float] = deque(maxlen=RECENT)
        try:
            while not self._stop.is_set():
                if source is None:
                    source = self._reopen(backoff)
                    backoff = min(backoff * 2, self.config.reconnect_max_s)
                    if source is None:
                        continue
                    backoff = 0.5
                    self._set(state="running", message="", mode=str(source.mode))
                tick = time.monotonic()
                try:
                    frame = source.read()
                except (LivecapError, OSError, RuntimeError) as exc:
                    self._lost(source, exc, live)
                    source = None
                    if not live:
                        break
                    continue
                if frame is None:
                    break  # the end of a file
                read_ms.append((time.monotonic() - tick - source.waited) * 1000.0)  # decoding, not pacing
                if live:  # numbered and timed across reconnections
                    frame.index, frame.time = captured, frame.captured_at - started
                slot.put(frame, wait=self._lossless)
                captured += 1
                self._capture_ms = float(np.mean(read_ms))
                self._set(captured=captured, dropped=slot.dropped)
                if self.config.max_frames is not None and captured >= self.config.max_frames:
                    break
        finally:
            if source is not None:
                source.close()
            slot.close()

    def _reopen(self, backoff: float) -> FrameSource | None:
        if self._stop.wait(backoff):
            return None
        try:
            return self._open_source()
        except LivecapError as exc:
            retry = min(backoff * 2, self.config.reconnect_max_s)
            self._set(state="reconnecting", message=f"{exc}; retrying in {retry:.0f} s")
            return None

    def _lost(self, source: FrameSource, exc: Exception, live: bool) -> None:
        source.close()
        if live:
            log.warning("source lost (%s): reconnecting", exc)
            self._set(state="reconnecting", message=f"source lost ({exc}): reconnecting")
        else:
            log.error("source failed: %s", exc)
            self._set(state="failed", message=f"source failed: {exc}")

    def _infer(self, pipeline: PosePipeline, slot: LatestSlot) -> None:
        ahead = NextFrameWork(slot) if pipeline.models.ahead is not None else None
        try:
            self._infer_frames(pipeline, slot, ahead)
        finally:
            if ahead is not None:
                ahead.close()
        with self._lock:
            if slot.closed and not self._stop.is_set() and self._status.state != "failed":
                self._status.state = "ended"
        self._stop.set()  # capture stops too when inference has ended (a failure)
        slot.close()  # and does not wait for room in a slot that nobody empties any more
        self._finished.set()

    def _infer_frames(self, pipeline: PosePipeline, slot: LatestSlot, ahead: NextFrameWork | None) -> None:
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
            if self._reset_faces.is_set():
                self._reset_faces.clear()
                pipeline.reset_neutral_faces()
            try:
                result = self._process(pipeline, frame, ahead)
            except Exception as exc:  # noqa: BLE001 - reported as the engine's state, not a dead thread
                log.exception("inference failed")
                self._set(state="failed", message=f"inference failed: {exc}")
                break
            tick = time.monotonic()
            for worker in self._workers:
                worker.offer(result)
            if any(w.required and w.error for w in self._workers):
                self._set(state="failed", message=next(w.error for w in self._workers if w.required and w.error))
                break
            now = time.monotonic()
            result.stage_ms["sinks"] = (now - tick) * 1000.0
            self._latest = (frame, result)
            frames += 1
            self._people_seen.update(p.id for p in result.people)
            latencies.append((now - frame.captured_at) * 1000.0)
            done_at.append(now)
            stages.append(result.stage_ms)
            self._record(frames, latencies, done_at, stages, len(result.people))

    @staticmethod
    def _process(pipeline: PosePipeline, frame: Frame, ahead: NextFrameWork | None) -> FrameResult:
        """One frame; with `ahead`, the next frame's scheduled detector run goes on beside this one's landmarks
        (where ONNX Runtime lets the GIL go) and this frame takes its own run from the last frame, waiting for it."""
        if ahead is None:
            return pipeline.process(frame)
        tick = time.perf_counter()
        made = ahead.take(frame)
        waited_ms = (time.perf_counter() - tick) * 1000.0
        begun = pipeline.begin(frame, made)
        ahead.start(pipeline.plan_next(begun), pipeline.detection.run_planned)
        result = pipeline.finish(begun)
        result.stage_ms["detect"] += waited_ms
        return result

    def _record(self, frames, latencies, done_at, stages, people) -> None:
        fps = (len(done_at) - 1) / (done_at[-1] - done_at[0]) if len(done_at) > 1 else 0.0
        names = {name for stage in stages for name in stage}
        means = {name: float(np.mean([s.get(name, 0.0) for s in stages])) for name in names}
        p50, p95 = np.percentile(latencies, [50, 95])
        with self._lock:
            self._status.frames, self._status.fps, self._status.people = frames, fps, people
            self._status.people_seen = len(self._people_seen)
            self._status.latency_p50_ms, self._status.latency_p95_ms = float(p50), float(p95)
            self._status.stage_ms = means
