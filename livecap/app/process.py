"""`livecap process`: run the pipeline over a video, an image or an image folder, writing JSONL results."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field

from tqdm import tqdm

from livecap.camera import camera_for
from livecap.pose.filtering import DEFAULT_SMOOTHING, SmoothingSettings
from livecap.pose.fitting import FitSettings
from livecap.models.catalog import ModelCatalog
from livecap.pose.pipeline import PipelineModels, PosePipeline
from livecap.presets import get_preset
from livecap.models.runtime import RuntimeOptions
from livecap.errors import LivecapError
from livecap.types import FrameResult, StreamInfo
from livecap.sinks import Sink
from livecap.sinks.jsonl import JsonlSink
from livecap.sources import open_file_source

log = logging.getLogger("livecap")


@dataclass
class ProcessSummary:
    frames: int = 0
    people_ids: set[int] = field(default_factory=set)
    seconds: float = 0.0
    providers: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def line(self, out: str) -> str:
        return (f"processed {self.frames} frames, {len(self.people_ids)} people, {self.fps:.1f} fps "
                f"({', '.join(self.providers)}) -> {out}")


@dataclass
class ProcessOptions:
    input: str
    out: str
    preset: str = "balanced"
    stills: bool = False
    max_frames: int | None = None
    model_dir: str | None = None
    providers: list[str] | None = None
    fov: float | None = None
    calibration: str | None = None  # OpenCV camera calibration file; overrides fov
    smoothing: float = DEFAULT_SMOOTHING
    height: float | None = None  # everyone's standing height in metres, when known
    progress: bool | None = None  # None: when stderr is a terminal
    sinks: list[Sink] = field(default_factory=list)  # more outputs besides the JSONL results (BVH, OSC)


def process(options: ProcessOptions) -> ProcessSummary:
    preset = get_preset(options.preset)
    smoothing = SmoothingSettings.from_strength(options.smoothing)
    source = open_file_source(options.input, stills=options.stills)
    results = JsonlSink(options.out)
    extra = list(options.sinks)
    try:
        camera = camera_for(source.width, source.height, options.fov, options.calibration)
        models = PipelineModels.load(preset, ModelCatalog(options.model_dir), RuntimeOptions(options.providers))
        pipeline = PosePipeline(models, preset, stills=source.stills, camera=camera,
                                fit=FitSettings(height=options.height), smoothing=smoothing)
        info = StreamInfo(source.description, source.width, source.height, source.fps, camera, preset.name,
                          models.providers, {"smoothing": options.smoothing, "height": options.height})
        results.start(info)
        extra = _started(extra, info)
        summary = ProcessSummary(providers=models.providers)
        total = source.frame_count
        if options.max_frames is not None:
            total = min(total or options.max_frames, options.max_frames)
        show = sys.stderr.isatty() if options.progress is None else options.progress
        started = time.perf_counter()
        with tqdm(total=total, unit="frame", disable=not show, dynamic_ncols=True) as bar:
            for frame in source:
                if options.max_frames is not None and summary.frames >= options.max_frames:
                    break
                result = pipeline.process(frame)
                results.write(result)  # the results file is the job: its failure ends the run
                extra = _written(extra, result)
                summary.frames += 1
                summary.people_ids.update(p.id for p in result.people)
                bar.update(1)
                bar.set_postfix(people=len(result.people), refresh=False)
        summary.seconds = time.perf_counter() - started
        return summary
    finally:
        for sink in [results, *extra]:
            sink.close()
        source.close()


def _started(sinks: list[Sink], info: StreamInfo) -> list[Sink]:
    return [sink for sink in sinks if _survives(sink, sink.start, info)]


def _written(sinks: list[Sink], result: FrameResult) -> list[Sink]:
    return [sink for sink in sinks if _survives(sink, sink.write, result)]


def _survives(sink: Sink, call, argument) -> bool:
    """A failing extra output is reported and stopped; the results file and the other outputs go on."""
    try:
        call(argument)
        return True
    except LivecapError as exc:
        log.error("%s output stopped: %s", sink.name, exc)
        sink.close()
        return False
