"""`livecap bench`: the real-time engine measured on real video, as a user would run it.

Each source and preset runs twice through the engine with a JSONL sink attached: unpaced (every frame, as fast
as it goes: end-to-end frames per second and per-stage milliseconds) and paced (the file played as a camera at
its own frame rate: latency from capture to result, and frames dropped). Figures are over the last frames of a
run (livecap.engine.RECENT), after the engine's warm-up.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from livecap.engine import Engine, EngineConfig, EngineStatus
from livecap.pose.pipeline import PipelineModels
from livecap.settings import PipelineSettings
from livecap.sinks.jsonl import JsonlSink

STAGES = ("capture", "convert", "detect", "landmarks", "track", "hands", "face", "filter", "fit", "sinks")


@dataclass
class BenchRow:
    source: str
    preset: str
    frames: int
    fps: float  # unpaced, end to end
    stage_ms: dict[str, float]  # mean per frame, unpaced
    people_per_frame: float
    providers: list[str]
    latency_p50_ms: float  # paced
    latency_p95_ms: float
    dropped: int  # paced: captured frames never processed
    paced_frames: int
    peer_fps: dict[str, float] = field(default_factory=dict)  # other programs on the same video, same run


def _run(path: str, settings: PipelineSettings, paced: bool, max_frames: int, models: PipelineModels
         ) -> tuple[EngineStatus, float]:
    with tempfile.TemporaryDirectory() as folder:
        engine = Engine(EngineConfig(path, settings, paced=paced, max_frames=max_frames),
                        [JsonlSink(Path(folder) / "bench.jsonl")], models=models)
        engine.start()
        people, samples = 0.0, 0
        while not engine.wait(0.25):
            people += engine.status().people
            samples += 1
        return engine.stop(), people / samples if samples else float(engine.status().people)


def bench_file(path: str, settings: PipelineSettings, max_frames: int, models: PipelineModels) -> BenchRow:
    unpaced, people = _run(path, settings, False, max_frames, models)
    paced, _ = _run(path, settings, True, max_frames, models)
    stages = {name: round(unpaced.stage_ms.get(name, 0.0), 2) for name in STAGES}
    preset = settings.preset + (" +hands" if settings.hands_on else "") + (" +face" if settings.face_on else "")
    return BenchRow(Path(path).name, preset, unpaced.frames, round(unpaced.fps, 1), stages, round(people, 1),
                    models.providers, round(paced.latency_p50_ms, 1), round(paced.latency_p95_ms, 1), paced.dropped,
                    paced.captured)


_MEDIAPIPE = r"""
import sys, time, cv2, mediapipe as mp
capture = cv2.VideoCapture(sys.argv[1])
limit, frames, started = int(sys.argv[2]), 0, None
with mp.solutions.pose.Pose(model_complexity=1, enable_segmentation=False) as pose:
    while frames < limit + 3:
        ok, image = capture.read()
        if not ok:
            break
        pose.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        frames += 1
        if frames == 3:
            started = time.perf_counter()
print((frames - 3) / (time.perf_counter() - started))
"""


_HOLISTIC = _MEDIAPIPE.replace("mp.solutions.pose.Pose(model_complexity=1, enable_segmentation=False)",
                                "mp.solutions.holistic.Holistic(model_complexity=1, enable_segmentation=False, "
                                "refine_face_landmarks=False)")
PEERS = {False: "MediaPipe Pose 0.10.14", True: "MediaPipe Holistic 0.10.14"}


def mediapipe_fps(python: str, path: str, max_frames: int, holistic: bool = False) -> float:
    """MediaPipe's legacy Pose solution, or with `holistic` its Holistic solution (body, both hands and the face
    mesh of one person), end to end on the same video, in the interpreter that has it installed (it pins its own
    numpy and OpenCV, so it lives in a venv of its own)."""
    done = subprocess.run([python, "-c", _HOLISTIC if holistic else _MEDIAPIPE, path, str(max_frames)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"MediaPipe run failed: {done.stderr.strip().splitlines()[-1:]}")
    return float(done.stdout.strip().splitlines()[-1])


def format_table(rows: list[BenchRow]) -> str:
    head = ["source", "preset", "frames", *STAGES, "people", "fps", "p50 ms", "p95 ms", "dropped", "provider"]
    lines = [" | ".join(head)]
    for r in rows:
        cells = [r.source, r.preset, str(r.frames), *(f"{r.stage_ms.get(n, 0.0):.1f}" for n in STAGES),
                 f"{r.people_per_frame:.1f}", f"{r.fps:.1f}", f"{r.latency_p50_ms:.0f}", f"{r.latency_p95_ms:.0f}",
                 f"{r.dropped}/{r.paced_frames}", r.providers[0].replace("ExecutionProvider", "")]
        lines.append(" | ".join(cells))
        if r.stage_ms.get("face") and r.people_per_frame:
            lines.append(f"  faces on {r.source}: {r.stage_ms['face'] / r.people_per_frame:.1f} ms per person per "
                         f"frame")
        for peer, fps in r.peer_fps.items():
            lines.append(f"  {peer} on {r.source}: {fps:.1f} fps; livecap {r.preset} is {r.fps / fps:.2f}x its rate")
    return "\n".join(lines) + ("\n(stage columns: mean milliseconds per frame, unpaced; fps: unpaced end to end; "
                               "latency and dropped: paced)")


def run_bench(sources: list[str], settings: list[PipelineSettings], max_frames: int, json_out: str | None,
              mediapipe_python: str | None = None) -> list[BenchRow]:
    """Every source with every settings (one per preset), each preset's models loaded once."""
    rows = []
    for setting in settings:
        models = PipelineModels.load(setting)
        rows += [bench_file(source, setting, max_frames, models) for source in sources]
    if mediapipe_python:
        for holistic in sorted({s.hands_on or s.face_on for s in settings}):
            for source in sources:
                fps = mediapipe_fps(mediapipe_python, source, max_frames, holistic)
                for row, setting in zip(rows, [s for s in settings for _ in sources]):
                    if row.source == Path(source).name and (setting.hands_on or setting.face_on) == holistic:
                        row.peer_fps[PEERS[holistic]] = round(fps, 1)
    if json_out:
        Path(json_out).write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return rows
