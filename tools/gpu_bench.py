"""The GPU path end to end, in one command: for each of float32 / float16 and IO binding off / on, the engine on the
group clips (vtest_300: 4-7 people a frame; two_people; two_people tiled three times: six people in every frame) as
`livecap bench` runs it: fps, p50 / p95 paced latency, per-stage ms, people per frame, and the provider each model
session really runs on (its get_providers()). Then the landmark model per call (batch 1, 2, 6 real person crops): ms
with and without IO binding; and on CUDA the float16 landmark model's shift from the float32 one on the same crops.

    PYTHONPATH=$PWD python tools/gpu_bench.py [--cpu] [--frames N] [--preset balanced] [--json FILE]

Asks for CUDA where this ONNX Runtime has it and exits with status 1, naming the session, if any model then runs on
another provider (CUDA's libraries not found, or a node CUDA does not take). Without CUDA (or with --cpu) it says
so and runs the same measurements on the CPU, so that the script is known to work before a GPU is at hand. The float16
rows need the variants installed (tools/fp16_models.py); where they are not, or CUDA does not run, those rows run
float32 and say so ("precision" per model).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from livecap.bench.engine import bench_file, format_table  # noqa: E402
from livecap.models.runtime import OUTPUT_DEVICES, OnnxModel, import_onnxruntime  # noqa: E402
from livecap.pose.pipeline import PipelineModels  # noqa: E402
from livecap.settings import PipelineSettings  # noqa: E402

SOURCES = (ROOT / "tests" / "data" / "video" / "vtest_300.mp4", ROOT / "samples" / "two_people.mp4")
SIX_PEOPLE = "six_people_tiled.mp4"
BATCHES = (1, 2, 6)
CUDA = "CUDAExecutionProvider"


class WrongProvider(Exception):
    pass


def sessions(models: PipelineModels) -> dict[str, OnnxModel]:
    parts = {"people": models.people, "landmarks": models.landmarker, "second_landmarks": models.second_landmarker,
             "crowd": models.crowd, "refiner": models.refiner, "hands": models.hands, "face": models.face,
             "face_detector": models.face_detector}
    return {role: part.model for role, part in parts.items() if part is not None}


def set_io_binding(models: PipelineModels, on: bool) -> None:
    for model in sessions(models).values():
        model.io_binding = on and model.providers[0] in OUTPUT_DEVICES


def describe(models: PipelineModels, cuda_asked: bool) -> dict[str, dict]:
    """Each model session: its file, precision, IO binding and the providers it really runs on; WrongProvider where
    CUDA was asked and another runs it."""
    described = {}
    for role, model in sessions(models).items():
        described[role] = {"file": model.path.name, "precision": model.precision, "io_binding": model.io_binding,
                           "providers": model.providers}
        print(f"  {role}: {model.path.name} {model.precision}, IO binding {'on' if model.io_binding else 'off'}, "
              f"runs on {', '.join(model.providers)}")
        if cuda_asked and model.providers[0] != CUDA:
            raise WrongProvider(f"CUDA was asked but {role} ({model.path.name}) runs on {model.providers[0]}: "
                                f"see GPU in docs/configuration.md (CUDA / cuDNN libraries)")
    return described


def ms_per_call(model: OnnxModel, crops: np.ndarray, bound: bool, repetitions: int) -> float:
    """Median ms of one call on `crops` (a batch), plain session.run or through IO binding."""
    run = model.run_bound if bound else model.session.run
    feeds = {model.input_names[0]: crops}
    run(None, feeds)  # warm-up: CUDA allocates and tunes on the first call of a shape
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        run(None, feeds)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def person_crops(count: int) -> np.ndarray:
    from quantize_models import pipeline_crops
    crops = pipeline_crops((SOURCES[0],), 4).people
    return np.concatenate([crops] * (count // len(crops) + 1))[:count]


def per_call_table(models: PipelineModels, repetitions: int) -> list[dict]:
    """The landmark model on batches of real person crops, plain and bound alternated per batch."""
    crops, rows = person_crops(max(BATCHES)), []
    model = models.landmarker.model
    for batch in BATCHES:
        plain = [ms_per_call(model, crops[:batch], False, repetitions) for _ in range(3)]
        bound = [ms_per_call(model, crops[:batch], True, repetitions) for _ in range(3)]
        rows.append({"model": model.path.name, "precision": model.precision, "provider": model.providers[0],
                     "batch": batch, "plain_ms": round(min(plain), 2), "bound_ms": round(min(bound), 2)})
        print(f"  {model.path.name} ({model.precision}, {model.providers[0]}) batch {batch}: plain "
              f"{rows[-1]['plain_ms']:.2f} ms, IO binding {rows[-1]['bound_ms']:.2f} ms a call")
    return rows


def float16_shift(float32: OnnxModel, float16: OnnxModel) -> dict:
    """The float16 landmark model against the float32 one on the same real crops, both where they run (CUDA's
    float16 arithmetic rounds more than the CPU check of tools/fp16_models.py saw): crop pixels, presence."""
    from fp16_models import MODELS
    from quantize_models import landmark_outputs
    spec = next(spec for spec in MODELS.values() if spec is not None and spec.file == float32.path.name)
    crops = person_crops(30)
    (xy32, presence32), (xy16, presence16) = (landmark_outputs(spec, model, crops) for model in (float32, float16))
    shift = np.linalg.norm(xy16 - xy32, axis=-1)
    figures = {"model": float32.path.name, "shift_mean_px": round(float(shift.mean()), 3),
               "shift_p95_px": round(float(np.percentile(shift, 95)), 3),
               "presence_change": round(float(np.abs(presence16 - presence32).mean()), 4)}
    print(f"  float16 against float32, {float16.providers[0]}: {figures}")
    return figures


def six_people_clip(folder: Path) -> Path:
    """two_people three times in a 2 x 2 grid (one cell black), 1920 x 1080: six whole people in every frame."""
    import cv2
    capture, path = cv2.VideoCapture(str(SOURCES[1])), folder / SIX_PEOPLE
    fps = capture.get(cv2.CAP_PROP_FPS)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (1920, 1080))
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        cell = cv2.resize(frame, (960, 540), interpolation=cv2.INTER_AREA)
        grid = np.zeros((1080, 1920, 3), np.uint8)
        grid[:540, :960], grid[:540, 960:], grid[540:, 480:1440] = cell, cell, cell
        writer.write(grid)
    writer.release()
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="run on the CPU even where CUDA is available")
    parser.add_argument("--frames", type=int, default=200, help="frames per run (unpaced and paced)")
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--repetitions", type=int, default=20, help="calls per per-call figure")
    parser.add_argument("--json", type=Path, help="write every figure here too")
    args = parser.parse_args()
    available = import_onnxruntime().get_available_providers()
    cuda = CUDA in available and not args.cpu
    print(f"ONNX Runtime providers available: {', '.join(available)}; "
          + ("asking for CUDA" if cuda else "CUDA not available: running on the CPU" if not args.cpu
             else "--cpu: running on the CPU"))
    sources = [*SOURCES, six_people_clip(Path(tempfile.mkdtemp()))]
    base = PipelineSettings(preset=args.preset, providers=("cuda", "cpu") if cuda else ("cpu",))
    rows, report = [], {"cuda": cuda, "runs": [], "per_call": []}
    try:
        if not cuda:
            print("float16 rows left out: livecap runs the float16 variants only where CUDA runs")
        for precision in ("float32", "auto") if cuda else ("float32",):
            settings = replace(base, gpu_precision=precision)
            models = PipelineModels.load(settings)
            for binding in (False, True):
                set_io_binding(models, binding)
                label = f"{'float16 where installed' if precision == 'auto' else 'float32'}, IO binding " \
                        f"{'on' if binding else 'off'}"
                print(f"{label}:")
                described = describe(models, cuda)
                for source in sources:
                    row = bench_file(str(source), settings, args.frames, models)
                    row.preset = f"{args.preset} {label}"
                    rows.append(row)
                    report["runs"].append({"label": label, "models": described, **asdict(row)})
            if precision == "float32":
                reference = models.landmarker.model
            elif models.landmarker.model.precision == "float16":
                report["float16_shift"] = float16_shift(reference, models.landmarker.model)
            report["per_call"] += per_call_table(models, args.repetitions)
    except WrongProvider as exc:
        print(f"FAIL: {exc}")
        return 1
    print(format_table(rows))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
