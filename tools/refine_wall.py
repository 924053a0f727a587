"""What refining a take costs in wall time: `livecap process` of each video with --causal (one pass, as live) and
without (two passes, refined), in turn, several times; the median of each and the refined run's extra share.

    python tools/refine_wall.py VIDEO... [--preset balanced] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(video: str, preset: str, causal: bool, out: Path) -> float:
    command = [sys.executable, "-m", "livecap", "process", video, "--out", str(out), "--preset", preset,
               "--no-progress", *(["--causal"] if causal else [])]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", nargs="+")
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("video | causal s (median) | refined s (median) | extra")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out.jsonl"
        for video in args.videos:
            timed(video, args.preset, True, out)  # the solver's cache and the file in the page cache
            runs = {True: [], False: []}
            for _ in range(args.repeats):
                for causal in (True, False):
                    runs[causal].append(timed(video, args.preset, causal, out))
            live, refined = statistics.median(runs[True]), statistics.median(runs[False])
            print(f"{Path(video).name} | {live:.2f} | {refined:.2f} | {refined / live - 1:+.1%}", flush=True)


if __name__ == "__main__":
    main()
