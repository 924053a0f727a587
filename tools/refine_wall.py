"""What refining a take costs in wall time: `livecap process` of each video with --causal (one pass, as live) and
without (two passes, refined), in turn, several times; the median of each and the refined run's extra share, and
the same of the CPU time the command used (user + system: steadier where other work shares the cores).

    python tools/refine_wall.py VIDEO... [--preset balanced] [--repeats 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(video: str, preset: str, causal: bool, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one run."""
    command = [sys.executable, "-m", "livecap", "process", video, "--out", str(out), "--preset", preset,
               "--no-progress", *(["--causal"] if causal else [])]
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - started, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", nargs="+")
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("video | wall s causal, refined (medians), extra | CPU s causal, refined, extra")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out.jsonl"
        for video in args.videos:
            timed(video, args.preset, True, out)  # the solver's cache and the file in the page cache
            runs = {True: [], False: []}
            for _ in range(args.repeats):
                for causal in (True, False):
                    runs[causal].append(timed(video, args.preset, causal, out))
            figures = []
            for k in (0, 1):
                live, refined = (statistics.median(run[k] for run in runs[causal]) for causal in (True, False))
                figures.append(f"{live:.2f}, {refined:.2f}, {refined / live - 1:+.1%}")
            print(f"{Path(video).name} | {' | '.join(figures)}", flush=True)


if __name__ == "__main__":
    main()
