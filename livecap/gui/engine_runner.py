"""Starting and stopping the engine off the UI thread, and what the UI polls.

Engine.start() is synchronous (model loading, JIT warm-up, opening the source can take seconds), so it runs on a
worker thread; the UI reads `phase` and `message` from its timer and never waits on a lock held for long. No Qt
here: the window polls, nothing is signalled per frame."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from livecap.engine import Engine, EngineConfig, EngineStatus, models_key
from livecap.errors import LivecapError
from livecap.pose.pipeline import PipelineModels
from livecap.sinks import Sink


class ModelCache:
    """Loaded models by preset, model folder and providers: stopping and starting again, or a second window in
    the tests, does not load them again."""

    def __init__(self):
        self._models: dict[tuple, PipelineModels] = {}
        self._lock = threading.Lock()

    def get(self, config: EngineConfig) -> PipelineModels:
        key = models_key(config.pipeline)
        with self._lock:
            if key not in self._models:
                self._models[key] = PipelineModels.load(config.pipeline)
            return self._models[key]


@dataclass
class Progress:
    step: int
    steps: int
    text: str


class EngineRunner:
    """phase: idle -> starting -> running -> (ended | failed | idle after stop). One engine at a time."""

    STEPS = 2

    def __init__(self, cache: ModelCache | None = None):
        self.cache = cache or ModelCache()
        self.engine: Engine | None = None
        self.phase = "idle"
        self.message = ""  # the error of a failed start or run, one line
        self.progress = Progress(0, self.STEPS, "")
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self.phase in ("starting", "running")

    def start(self, config: EngineConfig, sinks: list[Sink]) -> None:
        if self.busy:
            raise LivecapError("already running: stop first")
        # a fresh Event per start: a cancelled start still loading must not be revived by the next one
        self._cancel = cancel = threading.Event()
        self.engine, self.phase, self.message = None, "starting", ""
        self.progress = Progress(0, self.STEPS, "loading models")
        self._thread = threading.Thread(target=self._start, args=(config, list(sinks), cancel),
                                        name="livecap-gui-start", daemon=True)
        self._thread.start()

    def _start(self, config: EngineConfig, sinks: list[Sink], cancel: threading.Event) -> None:
        try:
            models = self.cache.get(config)
            if cancel.is_set():
                return
            self.progress = Progress(1, self.STEPS, "opening the source and warming up (JIT)")
            engine = Engine(config, sinks, models=models)
            engine.start()
        except LivecapError as exc:
            if not cancel.is_set():
                self._failed(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - shown in the window: an unexpected failure must not vanish
            if not cancel.is_set():
                self._failed(f"{type(exc).__name__}: {exc}")
            return
        with self._lock:  # against a stop() between the check and the hand-over
            cancelled = cancel.is_set()
            if not cancelled:
                self.engine = engine
                self.progress = Progress(self.STEPS, self.STEPS, "running")
                self.phase = "running"
        if cancelled:  # Stop was pressed while it was starting
            engine.stop()

    def _failed(self, message: str) -> None:
        self.message = message
        self.phase = "failed"

    def poll(self) -> EngineStatus | None:
        """The engine's status, and notes a source that ended or an engine that failed (it is then stopped, so
        every sink is flushed; the caller sees phase 'ended' or 'failed')."""
        engine = self.engine
        if engine is None or self.phase != "running":
            return None
        status = engine.status()
        if status.state in ("ended", "failed"):
            status = engine.stop()
            self.phase = status.state
            self.message = status.message
        return status

    def stop(self) -> EngineStatus | None:
        """Stops the engine (flushing every sink); while still starting, stops it as soon as it has started."""
        with self._lock:
            if self.phase == "starting":
                self._cancel.set()
                self.phase = "idle"
                return None
        status = self.engine.stop() if self.engine is not None and self.phase == "running" else None
        self.phase = "idle"
        return status

    def latest(self):
        engine = self.engine
        return engine.latest() if engine is not None else None

    def reset_neutral_faces(self) -> None:
        """Every person's neutral face is learned again (the Neutral face button); nothing while not running."""
        if self.engine is not None and self.phase == "running":
            self.engine.reset_neutral_faces()

    def add_sink(self, sink: Sink) -> bool:
        """Attaches an output now if running; False when there is no running engine to attach it to."""
        if self.engine is not None and self.phase == "running":
            self.engine.add_sink(sink)
            return True
        return False

    def remove_sink(self, sink: Sink) -> None:
        if self.engine is not None:
            self.engine.remove_sink(sink)
