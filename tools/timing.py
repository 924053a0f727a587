"""Timing for the maintainer tools: a call's median wall time."""

from __future__ import annotations

import time

import numpy as np


def median_ms(call, repeats: int = 15) -> float:
    """The median of `repeats` timed calls in milliseconds, after one untimed call (first-call set-up)."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000.0)
    return float(np.median(times))
