"""A refined take written to its outputs: every sink on its own worker as the engine runs them (livecap.workers),
lossless, so a failing output is reported and stopped while the others go on, and a required one's failure ends
the writing."""

from __future__ import annotations

from collections.abc import Callable

from livecap.refine.core import RefinedTake
from livecap.sinks import Sink
from livecap.workers import SinkStatus, SinkWorker

QUEUE = 64  # results waiting per sink


def deliver(refined: RefinedTake, sinks: list[Sink], on_frame: Callable[[], None] | None = None
            ) -> list[SinkStatus]:
    """Writes every frame of the refined take to every sink, then closes them; returns each sink's status. A
    required sink that cannot start raises its LivecapError (the others are closed first)."""
    workers: list[SinkWorker] = []
    try:
        for sink in sinks:
            workers.append(SinkWorker(sink, QUEUE, lossless=True))
            workers[-1].start(refined.info)
        for result in refined.results():
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
