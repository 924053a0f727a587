"""Throughput of `livecap batch` against `livecap process` run on each input one after another, and what a private
Ray instance costs to start. Prints a table; every figure is a wall-clock time of the real command line.

    python tools/batch_bench.py VIDEO... [--max-frames N] [--workers 2] [--no-ray]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "livecap", *command], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def _frames(out_dir: Path) -> int:
    lines = (out_dir / "batch.json").read_text().splitlines()
    return sum(json.loads(line)["frames"] or 0 for line in lines)


def ray_start_seconds(workers: int) -> tuple[float, float]:
    """A private Ray instance with `workers` actors whose models are loaded: seconds to start, to shut down."""
    from livecap.app.batch_ray import RayOptions, RayPool
    from livecap.app.batch_workers import WorkerSpec
    from livecap.settings import PipelineSettings

    started = time.perf_counter()
    pool = RayPool(WorkerSpec(PipelineSettings()), RayOptions("local", workers), workers)
    ready = time.perf_counter()
    pool.close()
    return ready - started, time.perf_counter() - ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="+")
    parser.add_argument("--max-frames", type=int)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    limit = ["--max-frames", str(args.max_frames)] if args.max_frames else []
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        seconds = sum(_timed(["process", v, "--out", str(folder / f"{i}.jsonl"), "--no-progress", *limit])
                      for i, v in enumerate(args.videos))
        frames = sum(len((folder / f"{i}.jsonl").read_text().splitlines()) - 1 for i in range(len(args.videos)))
        rows.append(("process, one after another", seconds, frames))
        runs = [("batch --workers 1 --threads 2", ["--workers", "1", "--threads", "2"]),
                (f"batch --workers {args.workers}", ["--workers", str(args.workers)])]
        if not args.no_ray:
            runs.append((f"batch --ray local --workers {args.workers}", ["--ray", "local", "--workers",
                                                                           str(args.workers)]))
        for name, flags in runs:
            out = folder / name.replace(" ", "_")
            seconds = _timed(["batch", *args.videos, "--out-dir", str(out), "--no-progress", *limit, *flags])
            rows.append((name, seconds, _frames(out)))
    print(f"{'run':44s} {'seconds':>8s} {'frames':>7s} {'frames/s':>9s} {'speed-up':>9s}")
    for name, seconds, frames in rows:
        print(f"{name:44s} {seconds:8.1f} {frames:7d} {frames / seconds:9.1f} {rows[0][1] / seconds:8.2f}x")
    if not args.no_ray:
        start, stop = ray_start_seconds(args.workers)
        print(f"private Ray with {args.workers} actors, models loaded: {start:.1f} s to start, {stop:.1f} s to stop")


if __name__ == "__main__":
    main()
