"""Timing for the maintainer tools: a call's wall time in milliseconds, over repeated calls."""

from __future__ import annotations

import time

import numpy as np


def call_ms(call, repeats: int) -> list[float]:
    """`repeats` timed calls in milliseconds, after one untimed call (first-call set-up)."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def median_ms(call, repeats: int = 15) -> float:
    return float(np.median(call_ms(call, repeats)))


def fastest_ms(call, repeats: int = 11) -> float:
    """The fastest call: the one least disturbed by other work on a shared machine."""
    return float(np.min(call_ms(call, repeats)))
