"""What people detection costs per frame and what it finds: per dev video and preset, the pipeline of `livecap
process` run in-process on every frame at the video's own times, with its fps, the `detect` stage's milliseconds a
frame, the MoveNet runs per input size and the box detector's runs, people per frame and recall against the
reference pass (tools/eval_people.py videos; the reference is read from its cache, made there).

    PYTHONPATH=$PWD python tools/detect_cost.py [--videos ...] [--presets ...] [--json out.json]

Run two trees' copies alternately (PYTHONPATH naming each) to compare them on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tools")]

import people_bench as bp  # noqa: E402
import people_reference as br  # noqa: E402
from timing import fastest_ms  # noqa: E402
from livecap.pose.pipeline import build_pipeline  # noqa: E402
from livecap.pose.tracking import PoseTracker  # noqa: E402
from livecap.settings import PipelineSettings  # noqa: E402
from livecap.sinks.jsonl import frame_record  # noqa: E402
from livecap.types import Frame  # noqa: E402

MEDIA = Path(os.environ.get("LIVECAP_MEDIA", REPO.parent / "shared" / "media"))


def counted(calls: Counter, times: Counter, key, call):
    def wrapped(*args, **kwargs):
        started = time.perf_counter()
        out = call(*args, **kwargs)
        label = key(*args) if callable(key) else key
        calls[label] += 1
        times[label] += (time.perf_counter() - started) * 1000
        return out
    return wrapped


def measure(video: Path, preset: str, images: list, reference: list, search_lost_locally: bool = False) -> dict:
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    capture.release()
    pipeline = build_pipeline(PipelineSettings(preset=preset), images[0].shape[1], images[0].shape[0])
    pipeline.warm_up(images[0].shape[1], images[0].shape[0])
    if search_lost_locally:  # off by default (TrackerSettings)
        pipeline.tracker = PoseTracker(replace(pipeline.tracker.settings, search_lost_locally=True),
                                       pipeline.tracker.new_state)
    calls, times = Counter(), Counter()
    models = pipeline.models
    whole = images[0].shape

    def label(image, side):
        return f"movenet@{side}" if image.shape == whole else f"region@{side}"

    models.people.run = counted(calls, times, label, models.people.run)
    if models.crowd is not None:
        crowd = models.crowd
        models.crowd = counted(calls, times, "nanodet", crowd)
    stages: Counter = Counter()
    frames = []
    started = time.perf_counter()
    for index, image in enumerate(images):
        result = pipeline.process(Frame(index, index / fps, image, 0.0))
        stages.update(result.stage_ms)
        frames.append(frame_record(result))
    wall = time.perf_counter() - started
    row = bp.video_row(video, preset, reference, frames, len(images) / wall)
    n = len(images)
    return {"video": video.name, "preset": preset, "frames": n, "fps": round(n / wall, 2),
            "detect_ms": round(stages["detect"] / n, 2), "landmarks_ms": round(stages["landmarks"] / n, 2),
            "frame_ms": round(sum(stages.values()) / n, 2),
            "people_per_frame": round(sum(len(f["people"]) for f in frames) / n, 3),
            "recall": round(row.figures.recall, 4), "recall_loose": row.recall_loose,
            "id_switches": row.figures.id_switches,
            "runs": dict(sorted(calls.items())), "run_ms": {k: round(v / n, 2) for k, v in sorted(times.items())}}


def modelled(rows: list[dict]) -> None:
    """Detect milliseconds a frame from the run counts alone, each run priced by the fastest of 11 calls on that
    input size timed here, one after another: comparable across runs made at different loads of a shared
    machine. A region run (an input side not among the preset's) is priced as a square of its long side."""
    from livecap.models.catalog import ModelCatalog
    from livecap.models.movenet import MoveNetMultiPose, letterbox_shape
    from livecap.models.nanodet import NanoDetPersonDetector
    from livecap.models.runtime import OnnxModel

    catalog = ModelCatalog()
    movenet = MoveNetMultiPose(OnnxModel(catalog.require("movenet_multipose_lightning").path))
    nanodet = NanoDetPersonDetector(OnnxModel(catalog.require("nanodet_g").path))
    sizes = {"vtest.avi": (576, 768), "vtest300.mp4": (576, 768), "vtest_300.mp4": (576, 768),
             "two_people_1080p.mp4": (1080, 1920), "basketball_240p.mp4": (240, 426),
             "armwrestling_truncated.mp4": (256, 340)}
    prices: dict[tuple, float] = {}

    def price(shape: tuple[int, int], side: int) -> float:
        scale, pad_w, pad_h = letterbox_shape(shape[1], shape[0], side)
        if (pad_h, pad_w) not in prices:
            image = np.random.default_rng(0).integers(0, 255, (*shape, 3), np.uint8)
            prices[(pad_h, pad_w)] = fastest_ms(lambda: movenet.run(image, side))
        return prices[(pad_h, pad_w)]

    nanodet_ms = fastest_ms(lambda: nanodet(np.zeros((576, 768, 3), np.uint8)))
    whole = (256, 384, 512, 640)
    for row in rows:
        total = 0.0
        for label, count in row["runs"].items():
            if label == "nanodet":
                total += count * nanodet_ms
                continue
            side = int(label.split("@")[1])
            region = label.startswith("region") or side not in whole  # older rows named every run movenet@
            shape = (side, side) if region else sizes[row["video"]]
            total += count * price(shape, side)
        print(f"{row['label']} | {row['video']} | {row['preset']} | modelled detect {total / row['frames']:.2f} ms a "
              f"frame | recall {row['recall']} | people a frame {row['people_per_frame']}", flush=True)
    print(f"prices (ms a call): nanodet {nanodet_ms:.1f}; movenet " +
          ", ".join(f"{h}x{w} {ms:.1f}" for (h, w), ms in sorted(prices.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", nargs="+", default=list(bp.DEV_VIDEOS))
    parser.add_argument("--presets", nargs="+", default=list(bp.PRESET_NAMES))
    parser.add_argument("--vtest-frames", type=int, default=300)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/peopleeval/cache"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--label", default="")
    parser.add_argument("--search-lost-locally", action="store_true", help="TrackerSettings.search_lost_locally on")
    parser.add_argument("--price", type=Path, nargs="+", help="rows (--json) to price by run counts (modelled)")
    args = parser.parse_args()
    if args.price:
        modelled([row for path in args.price for row in json.loads(path.read_text())])
        return
    rows = []
    for name in args.videos:
        limit = args.vtest_frames if name == "vtest.avi" else None
        video = MEDIA / "video" / name
        reference = br.reference_pass(video, None, limit, args.cache)  # type: ignore[arg-type]
        images = br.read_video(video, limit)
        for preset in args.presets:
            row = {"label": args.label, **measure(video, preset, images, reference, args.search_lost_locally)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
