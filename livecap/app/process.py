"""`livecap process`: a video, an image or an image folder through the engine as fast as it goes (nothing
dropped), writing JSONL results and any other outputs asked for."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tqdm import tqdm

from livecap.engine import Engine, EngineConfig, EngineStatus
from livecap.errors import LivecapError, OutputError
from livecap.pose.pipeline import PipelineModels
from livecap.settings import PipelineSettings
from livecap.sinks import Sink
from livecap.sinks.jsonl import JsonlSink

log = logging.getLogger("livecap")


@dataclass
class ProcessSummary:
    frames: int = 0
    people: int = 0  # different people seen
    seconds: float = 0.0
    providers: list[str] = field(default_factory=list)
    status: EngineStatus | None = None

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def line(self, out: str, bvh_files: list | None = None) -> str:
        """`bvh_files`: the BVH files written, when recording was asked for."""
        recorded = "" if bvh_files is None else (", " + ", ".join(map(str, bvh_files)) if bvh_files else
                                                 " (no BVH file: nobody was tracked for --bvh-min-seconds)")
        return (f"processed {self.frames} frames, {self.people} people, {self.fps:.1f} fps "
                f"({', '.join(self.providers)}) -> {out}{recorded}")


def process(input_path: str, out: str, settings: PipelineSettings, stills: bool = False,
            max_frames: int | None = None, progress: bool | None = None, sinks: list[Sink] = (),
            models: PipelineModels | None = None, on_frames: Callable[[int], None] | None = None) -> ProcessSummary:
    """The results file is the job: its failure ends the run (OutputError). Another output that fails is
    reported and stopped while the rest go on; its failure is in the summary's status.
    `models` already loaded for these settings are used instead of loading them again (`livecap batch` loads
    them once per worker); `on_frames` is told the frames processed so far, a few times a second."""
    results = JsonlSink(out, required=True)
    engine = Engine(EngineConfig(input_path, settings, stills=stills, max_frames=max_frames), [results, *sinks],
                    models=models)
    engine.start()
    total = engine.status().expected
    show = sys.stderr.isatty() if progress is None else progress
    started = time.perf_counter()
    try:
        with tqdm(total=total, unit="frame", disable=not show, dynamic_ncols=True) as bar:
            while not engine.wait(0.2):
                status = engine.status()
                bar.update(status.frames - bar.n)
                bar.set_postfix(people=status.people, refresh=False)
                if on_frames is not None:
                    on_frames(status.frames)
            bar.update(engine.status().frames - bar.n)
    finally:
        status = engine.stop()
    summary = ProcessSummary(status.frames, status.people_seen, time.perf_counter() - started, status.providers,
                             status)
    required = next((s for s in status.sinks if s.required and s.error), None)
    if required is not None:
        raise OutputError(required.error)
    if status.state == "failed":
        raise LivecapError(status.message)
    return summary
