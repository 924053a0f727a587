"""`livecap bench --soak SECONDS`: memory, threads and open files over a long paced run (a file looped as a
camera), and across repeated start / stop cycles of one engine."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

from livecap.settings import PipelineSettings
from livecap.engine import Engine, EngineConfig


def rss_mb() -> float:
    """Resident memory of this process (Linux /proc; 0 where there is none)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError):
        return 0.0


def open_files() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


@dataclass
class SoakFigures:
    seconds: float
    frames: int
    dropped: int
    rss_after_warmup_mb: float
    rss_end_mb: float
    rss_samples_mb: list[float]
    cycles: int
    threads_before: int
    threads_after: int
    files_before: int
    files_after: int

    def lines(self) -> list[str]:
        return [f"soak: {self.frames} frames in {self.seconds:.0f} s paced, {self.dropped} dropped",
                f"memory: {self.rss_after_warmup_mb:.1f} MB after the first minute -> {self.rss_end_mb:.1f} MB at the "
                f"end (growth {self.rss_end_mb - self.rss_after_warmup_mb:+.1f} MB); per minute: "
                + ", ".join(f"{m:.0f}" for m in self.rss_samples_mb),
                f"{self.cycles} start/stop cycles: threads {self.threads_before} -> {self.threads_after}, "
                f"open files {self.files_before} -> {self.files_after}"]


def soak(source: str, seconds: float, preset: str = "balanced", cycles: int = 20) -> SoakFigures:
    engine = Engine(EngineConfig(source, PipelineSettings(preset=preset), paced=True, loop=True))
    engine.start()
    started, samples = time.monotonic(), []
    while time.monotonic() - started < seconds:
        engine.wait(min(60.0, seconds))
        samples.append(rss_mb())
    status = engine.stop()
    elapsed = time.monotonic() - started
    threads, files = threading.active_count(), open_files()
    for _ in range(cycles):
        engine.start()
        time.sleep(0.2)
        engine.stop()
    return SoakFigures(elapsed, status.frames, status.dropped, samples[0], samples[-1], samples,
                       cycles, threads, threading.active_count(), files, open_files())
