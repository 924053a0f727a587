"""`livecap process`: a video, an image or an image folder through the engine as fast as it goes (nothing
dropped), writing JSONL results and any other outputs asked for."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from tqdm import tqdm

from livecap.app import messages
from livecap.engine import Engine, EngineConfig, EngineStatus
from livecap.errors import LivecapError, OutputError
from livecap.pose.pipeline import PipelineModels
from livecap.refine import RefineSettings, Take, TakeRecorder, refine
from livecap.settings import PipelineSettings
from livecap.sinks import Sink, check_outputs
from livecap.sinks.jsonl import JsonlSink
from livecap.workers import deliver

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
    them once per worker); `on_frames` is told the frames processed so far, a few times a second.
    Every output is checked before the input is opened: one that cannot be written fails at once.
    With settings.refine (not for stills), two passes: perception over the whole take, then the take refined
    (livecap.refine) and written to the outputs; otherwise every frame goes to the outputs as `livecap run` does."""
    results = JsonlSink(out, required=True)
    check_outputs([results, *sinks])
    recorder = TakeRecorder() if settings.refine and not stills else None
    engine = Engine(EngineConfig(input_path, settings, stills=stills, max_frames=max_frames,
                                 perception_only=recorder is not None),
                    [recorder] if recorder is not None else [results, *sinks], models=models)
    engine.start()
    total = engine.status().expected
    show = sys.stderr.isatty() if progress is None else progress
    started = time.perf_counter()
    try:
        refining = _announce(results, recorder.take) if recorder is not None else None
        _follow(engine, total, show, on_frames)
    except BaseException:  # Ctrl-C or SIGTERM: the outputs that failed are named now, the end below is not reached
        _name_failed(engine.stop())
        raise
    status = engine.stop()
    if refining is not None and models is None:
        engine.release_models()  # the second pass needs none (models given are the caller's to keep)
    if refining is not None and status.state != "failed" and not status.failed_outputs:
        status = _refined(recorder.take, refining, [results, *sinks], status, show)
    summary = ProcessSummary(status.frames, status.people_seen, time.perf_counter() - started, status.providers,
                             status)
    failed = status.failed_outputs
    required = [s for s in failed if s.required]
    if required:  # the results file's error, then that of any other output that failed with it
        raise OutputError("; ".join([required[0].error] + [f"the {s.name} output failed too: {s.error}"
                                                           for s in failed if not s.required]))
    if status.state == "failed":  # the input or inference failed: its message ends the command
        _name_failed(status)
        raise LivecapError(status.message)
    return summary


def _follow(engine: Engine, total: int | None, show: bool, on_frames: Callable[[int], None] | None) -> None:
    """The progress bar until the input ends; it names the outputs that stopped (their errors come at the end)."""
    with tqdm(total=total, unit="frame", disable=not show, dynamic_ncols=True) as bar:
        while not engine.wait(0.2):
            status = engine.status()
            bar.update(status.frames - bar.n)
            failed = ",".join(sink.name for sink in status.failed_outputs)
            bar.set_postfix(people=status.people, refresh=False, **({"failed": failed} if failed else {}))
            if on_frames is not None:
                on_frames(status.frames)
        bar.update(engine.status().frames - bar.n)


def _announce(results: JsonlSink, take: Take) -> RefineSettings:
    """How the take will be refined. The results file is written at once with the header it will have (and written
    again, whole, after the second pass): it is there from the start, and valid if the run stops in the first."""
    refining = RefineSettings.for_take(take)
    results.start(replace(take.info, refined=refining.record(take.face)))
    results.close()
    return refining


def _refined(take: Take, refining: RefineSettings, sinks: list[Sink], status: EngineStatus, show: bool
             ) -> EngineStatus:
    """The second pass: the take refined and written to every output; the status then counts its people and
    reports its outputs."""
    with tqdm(unit="person-frame", desc="refining", disable=not show, dynamic_ncols=True) as bar:
        def fitted(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
        refined = refine(take, fitted, refining)
    with tqdm(total=len(take.frames), unit="frame", desc="writing", disable=not show, dynamic_ncols=True) as bar:
        outputs = deliver(refined.info, refined.results(), sinks, lambda: bar.update(1))
    take.close()
    return replace(status, people_seen=refined.people_seen, sinks=outputs)


def _name_failed(status: EngineStatus) -> None:
    """The outputs that failed, named where the command ends with another error (or none): the sink worker's own
    report is not shown (livecap.app.messages)."""
    if status.failed_outputs:
        log.error("%s", messages.failed_outputs(status))
