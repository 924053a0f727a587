"""The engine's hand-over points between threads: the newest-frame slot between capture and inference, the work on
the next frame begun beside inference, and the worker thread each sink runs on behind a bounded queue (the only
thread a sink needs)."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from livecap.errors import LivecapError
from livecap.sinks import Sink
from livecap.types import FrameResult, StreamInfo

log = logging.getLogger("livecap")
# marks the log record of an output that failed: a command that names every failed output at its end filters it
SINK_FAILURE = "sink_failure"


class LatestSlot:
    """Holds one item. put() replaces an untaken item (counting the drop) or, with wait=True, waits for it to be
    taken. close() wakes everyone and ends every wait: put() then takes nothing more, and get() returns None once
    the slot is empty. The engine closes it to stop, so no thread waits on a slot that nobody will empty."""

    def __init__(self):
        self._item = None
        self._closed = False
        self._ready = threading.Condition()
        self.dropped = 0

    def put(self, item, wait: bool = False) -> None:
        with self._ready:
            while wait and self._item is not None and not self._closed:
                self._ready.wait()
            if self._closed:
                return
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

    def peek(self, abandon: threading.Event):
        """The untaken item, left in the slot: waits for one until the slot closes or `abandon` is set (then None;
        `wake` makes the wait look at `abandon` at once)."""
        with self._ready:
            while self._item is None and not self._closed and not abandon.is_set():
                self._ready.wait()
            return None if abandon.is_set() else self._item

    def wake(self) -> None:
        with self._ready:
            self._ready.notify_all()

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed and self._item is None


class NextFrameWork:
    """Work on the next frame begun while inference finishes this one, on a thread of its own (the engine's
    detector run ahead: livecap.pose.detection). The thread waits for the next frame in the slot without taking it
    (inference takes it as ever), asks `plan` what to do for it (None: nothing) and does it (`run`). `take(frame)`
    waits for that work and returns its result where it was for that very frame (a live run may have put a newer
    one in the slot since), else None; an error in the work is raised there."""

    def __init__(self, slot: LatestSlot):
        self._slot = slot
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="livecap-ahead")
        self._pending: Future | None = None
        self._abandon = threading.Event()  # the frame was taken: no new frame is waited for

    def start(self, plan: Callable[[Any], Any], run: Callable[[Any, Any], Any]) -> None:
        self._abandon.clear()
        self._pending = self._pool.submit(self._work, plan, run)

    def _work(self, plan: Callable[[Any], Any], run: Callable[[Any, Any], Any]):
        frame = self._slot.peek(self._abandon)
        todo = plan(frame) if frame is not None else None
        return None if todo is None else (frame, run(frame, todo))

    def take(self, frame) -> Any:
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        self._abandon.set()
        self._slot.wake()
        done = pending.result()
        return done[1] if done is not None and done[0] is frame else None

    def close(self) -> None:
        """Waits for the work under way (its result, or error, unused) and ends the thread."""
        self._pending = None
        self._abandon.set()
        self._slot.wake()
        self._pool.shutdown(wait=True)


@dataclass
class SinkStatus:
    name: str
    written: int
    dropped: int  # results the sink never got: it fell behind (the oldest waiting result goes first)
    error: str | None
    running: bool
    detail: str = ""  # what the sink says of itself ("streaming to 127.0.0.1:39539", "3 files")
    required: bool = False  # the run's main output: its failure fails the run


class SinkWorker:
    """One sink on its own thread behind a bounded queue. A live run drops the oldest waiting result when the sink
    falls behind (a viewer or a stream wants the newest); a file processed as fast as it goes waits instead, so
    every frame reaches every output (`lossless`)."""

    def __init__(self, sink: Sink, capacity: int, lossless: bool = False):
        self.sink = sink
        self.capacity = getattr(sink, "queue_size", None) or capacity
        self.lossless = lossless
        self._queue: deque = deque()
        self._wake = threading.Condition()
        self._stopping = False
        self._released = False  # the engine is stopping: offer() no longer waits for room
        self._ended = False  # the sink's thread has closed it: nothing more is taken
        self.written = self.dropped = 0
        self.error: str | None = None
        self.thread: threading.Thread | None = None

    @property
    def required(self) -> bool:
        return bool(getattr(self.sink, "required", False))

    @property
    def running(self) -> bool:
        return self.thread is not None and not self._ended

    def start(self, info: StreamInfo) -> None:
        try:
            self.sink.start(info)
        except Exception as exc:  # noqa: BLE001 - any sink failure is reported, never fatal to the engine
            self._failed(exc)
            self._close()
            if self.required:
                raise LivecapError(self.error) from None
            return
        self.thread = threading.Thread(target=self._run, name=f"livecap-sink-{self.sink.name}", daemon=True)
        self.thread.start()

    def offer(self, result: FrameResult) -> None:
        with self._wake:
            while self._must_wait():
                self._wake.wait()
            if not self.running:
                return
            if len(self._queue) >= self.capacity and not (self.lossless and self._released):
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(result)  # once released, a lossless queue goes one over: that result is flushed too
            self._wake.notify_all()

    def _must_wait(self) -> bool:
        return self.lossless and len(self._queue) >= self.capacity and self.running and not self._released

    def release(self) -> None:
        """Ends offer()'s wait for room at once: a stopping engine's inference thread must not wait on a sink."""
        with self._wake:
            self._released = True
            self._wake.notify_all()

    def _next(self):
        with self._wake:
            while not self._queue and not self._stopping:
                self._wake.wait()
            item = self._queue.popleft() if self._queue else None
            self._wake.notify_all()
            return item

    def _run(self) -> None:
        try:
            while (item := self._next()) is not None:
                self.sink.write(item)
                self.written += 1
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
        finally:
            self._close()
            with self._wake:  # wakes an offer() waiting for room that will never come
                self._ended = True
                self._wake.notify_all()

    def _failed(self, exc: Exception) -> None:
        self.error = str(exc) if isinstance(exc, LivecapError) else f"{type(exc).__name__}: {exc}"
        log.error("%s output stopped: %s", self.sink.name, self.error, extra={SINK_FAILURE: True})

    def _close(self) -> None:
        try:
            self.sink.close()
        except Exception as exc:  # noqa: BLE001 - close must not raise; what it did not finish is reported
            self.error = self.error or f"closing failed: {exc}"
            log.error("%s output: closing failed (%s)", self.sink.name, exc, extra={SINK_FAILURE: True})

    def stop(self, timeout: float = 10.0) -> None:
        """Lets the sink write what is queued (flush), then closes it."""
        if self.thread is None:
            return
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        self.thread.join(timeout)

    def status(self) -> SinkStatus:
        detail = getattr(self.sink, "detail", None)
        return SinkStatus(self.sink.name, self.written, self.dropped, self.error,
                          self.running or (self.thread is None and self.error is None),
                          detail() if callable(detail) else "", self.required)


DELIVERY_QUEUE = 64  # results waiting per sink when a finished sequence is delivered


def deliver(info: StreamInfo, results: Iterable[FrameResult], sinks: list[Sink],
            on_frame: Callable[[], None] | None = None) -> list[SinkStatus]:
    """Writes a finished sequence of results (a refined take) to every sink, each on its own worker as the engine
    runs them but lossless, then closes them; returns each sink's status. A failing output is reported and stopped
    while the others go on; a required one's failure ends the writing, and one that cannot start raises its
    LivecapError (the others are closed first)."""
    workers: list[SinkWorker] = []
    try:
        for sink in sinks:
            workers.append(SinkWorker(sink, DELIVERY_QUEUE, lossless=True))
            workers[-1].start(info)
        for result in results:
            for worker in workers:
                worker.offer(result)
            if any(w.required and w.error for w in workers):
                break
            if on_frame is not None:
                on_frame()
    finally:
        for worker in workers:
            worker.stop()
    return [worker.status() for worker in workers]
