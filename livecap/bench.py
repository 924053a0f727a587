"""`livecap bench`: per-stage milliseconds and end-to-end frames per second of the pipeline on real video."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from livecap.camera import CameraIntrinsics
from livecap.catalog import ModelCatalog
from livecap.pipeline import PipelineModels, PosePipeline
from livecap.presets import get_preset
from livecap.runtime import RuntimeOptions
from livecap.sources import open_file_source

WARMUP_FRAMES = 3


@dataclass
class BenchRow:
    source: str
    preset: str
    frames: int
    fps: float
    stage_ms: dict[str, float]  # mean per frame
    decode_ms: float
    people_per_frame: float
    providers: list[str]


def bench_file(path: str, preset_name: str, max_frames: int, catalog: ModelCatalog,
               options: RuntimeOptions) -> BenchRow:
    preset = get_preset(preset_name)
    models = PipelineModels.load(preset, catalog, options)
    source = open_file_source(path)
    camera = CameraIntrinsics.from_fov(source.width, source.height)
    pipeline = PosePipeline(models, preset, stills=source.stills, camera=camera)
    stages: dict[str, list[float]] = {}
    decode, people, frames = [], [], 0
    try:
        frames_iter = iter(source)
        started = None
        while frames < max_frames + WARMUP_FRAMES:
            tick = time.perf_counter()
            frame = next(frames_iter, None)
            if frame is None:
                break
            decoded = time.perf_counter()
            result = pipeline.process(frame)
            frames += 1
            if frames == WARMUP_FRAMES:
                started = time.perf_counter()
            if frames > WARMUP_FRAMES:
                decode.append((decoded - tick) * 1000)
                people.append(len(result.people))
                for name, ms in result.stage_ms.items():
                    stages.setdefault(name, []).append(ms)
        measured = max(frames - WARMUP_FRAMES, 0)
        elapsed = time.perf_counter() - started if started else 0.0
    finally:
        source.close()
    return BenchRow(Path(path).name, preset_name, measured, measured / elapsed if elapsed else 0.0,
                    {k: float(np.mean(v)) for k, v in stages.items()}, float(np.mean(decode)) if decode else 0.0,
                    float(np.mean(people)) if people else 0.0, models.providers)


def format_table(rows: list[BenchRow]) -> str:
    stage_names = sorted({name for row in rows for name in row.stage_ms})
    head = ["source", "preset", "frames", "decode"] + stage_names + ["people", "fps", "provider"]
    lines = [" | ".join(head)]
    for r in rows:
        cells = [r.source, r.preset, str(r.frames), f"{r.decode_ms:.1f}"]
        cells += [f"{r.stage_ms.get(n, 0.0):.1f}" for n in stage_names]
        cells += [f"{r.people_per_frame:.1f}", f"{r.fps:.1f}", r.providers[0].replace("ExecutionProvider", "")]
        lines.append(" | ".join(cells))
    return "\n".join(lines) + "\n(stage columns: mean milliseconds per frame)"


def run_bench(sources: list[str], presets: list[str], max_frames: int, json_out: str | None,
              model_dir: str | None = None, providers: list[str] | None = None) -> list[BenchRow]:
    catalog = ModelCatalog(model_dir)
    rows = [bench_file(s, p, max_frames, catalog, RuntimeOptions(providers)) for s in sources for p in presets]
    if json_out:
        Path(json_out).write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return rows
