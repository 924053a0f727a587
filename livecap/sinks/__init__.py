"""Outputs fed with FrameResults: JSONL results, BVH recordings, OSC streams.

Every sink is a plain synchronous object with the same three calls, so `livecap process` can drive it directly
and the real-time engine can wrap it in a thread of its own (livecap.engine). A sink reports a failure the user
can fix by raising LivecapError (one line naming the thing and the fix) and must keep what it already wrote.
A sink may also have check(), which raises that error before any work starts when its output cannot be written
(check_outputs below): the command line calls it so that a wrong path fails at once, not after the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from livecap.types import FrameResult, StreamInfo


class Sink(Protocol):
    name: str  # short, for status lines: "jsonl", "bvh", "vmc", ...

    def start(self, info: StreamInfo) -> None:
        """Called once before the first frame."""

    def write(self, result: FrameResult) -> None:
        """Called for every frame, in order."""

    def close(self) -> None:
        """Flush and release; called once, also after a failure. Must not raise."""


def check_outputs(sinks: Iterable[Sink]) -> None:
    """Every sink that can check its output does, in order; the first that cannot be written raises."""
    for sink in sinks:
        check = getattr(sink, "check", None)
        if check is not None:
            check()
