"""Memory and time of refining a long take with many people (livecap.refine): the first pass of a dev video,
looped to MINUTES at its frame rate and its people copied to PEOPLE, refined, every frame's results built and
written as JSONL (to a temporary file), in this process. Prints the take's size, the peak resident memory of the
process (models included: the first pass runs here) and the seconds each step took.

    python tools/refine_memory.py [--video samples/two_people.mp4] [--minutes 10] [--people 6] [--face] [--hands]
        [--preset accurate]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from livecap.bench.refine import live_pass  # noqa: E402
from livecap.pose.pipeline import PipelineModels  # noqa: E402
from livecap.refine import Take, refine  # noqa: E402
from livecap.settings import PipelineSettings  # noqa: E402
from livecap.sinks.jsonl import JsonlSink  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kilobytes on Linux


def looped(take: Take, minutes: float, people: int) -> Take:
    """The take played again and again for `minutes`, its people copied (new ids) until there are `people`."""
    rate = take.info.fps or 30.0
    frames = int(minutes * 60 * rate)
    rows = take.rows()
    ids = np.unique(rows["track"])
    copies = -(-people // len(ids))
    out = Take(take.info, take.hands, face=take.face)
    length = len(take.frames)
    by_frame = np.argsort(rows["frame"], kind="stable")
    rows = rows[by_frame]
    starts = np.searchsorted(rows["frame"], np.arange(length + 1))
    for f in range(frames):
        source = f % length
        out.frames.index.append(f)
        out.frames.time.append(f / rate)
        out.frames.captured_at.append(0.0)
        out.frames.name.append(None)
        chunk = rows[starts[source]:starts[source + 1]]
        for copy in range(copies):
            chosen = chunk[np.isin(chunk["track"], ids[: max(people - copy * len(ids), 0)])].copy()
            chosen["frame"] = f
            chosen["track"] += copy * 1000
            chosen["bbox"][:, [0, 2]] += copy * 5.0  # apart, so that nobody is twice in one place
            out.extend(chosen)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", default="samples/two_people.mp4")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--people", type=int, default=6)
    parser.add_argument("--face", action="store_true", help="faces on: the take keeps every person-frame's face")
    parser.add_argument("--hands", action="store_true", help="hands on")
    parser.add_argument("--preset", default="balanced", help="accurate: faces and hands on, whatever the flags")
    args = parser.parse_args()
    settings = PipelineSettings(args.preset, face=args.face or None, hands=args.hands or None, refine=True)
    started = time.perf_counter()
    take = live_pass(args.video, PipelineModels.load(settings), settings).take
    print(f"first pass of {args.video}: {len(take.frames)} frames, {len(take)} person-frames, "
          f"{time.perf_counter() - started:.1f} s; peak {peak_mb():.0f} MB", flush=True)
    started = time.perf_counter()
    long = looped(take, args.minutes, args.people)
    take.close()
    print(f"looped to {args.minutes:g} min x {args.people} people: {len(long.frames)} frames, {len(long)} "
          f"person-frames, {long.nbytes_in_memory / 2 ** 20:.0f} MB in memory, spilled: {long.spilled}; "
          f"{time.perf_counter() - started:.1f} s; peak {peak_mb():.0f} MB", flush=True)
    started = time.perf_counter()
    refined = refine(long)
    print(f"refined: {len(refined.people)} people, {time.perf_counter() - started:.1f} s; peak {peak_mb():.0f} MB",
          flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        sink = JsonlSink(Path(folder) / "long.jsonl")
        sink.start(refined.info)
        for result in refined.results():
            sink.write(result)
        sink.close()
        size = (Path(folder) / "long.jsonl").stat().st_size
    print(f"written: {size / 2 ** 20:.0f} MB of JSONL, {time.perf_counter() - started:.1f} s; peak {peak_mb():.0f} MB",
          flush=True)


if __name__ == "__main__":
    main()
