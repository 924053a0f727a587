"""Repair a BVH recording cut off by a crash, kill -9 or power loss: keep every whole frame line, drop a torn
last line, and make the header's frame count match. Also finds unfinished livecap takes in a folder."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from livecap.sinks.bvh.format import BvhFormatError
from livecap.sinks.bvh.reader import parse, read
from livecap.sinks.bvh.stream import sidecar_path, write_sidecar

log = logging.getLogger("livecap")


@dataclass
class RepairReport:
    path: Path
    frames: int  # whole frames kept
    declared: int | None  # the header's count before (None if unreadable)
    dropped_lines: int  # torn or broken lines removed from the end
    changed: bool

    def line(self) -> str:
        if not self.changed:
            return f"{self.path}: already complete, {self.frames} frames"
        return (f"{self.path}: repaired, {self.frames} frames kept (header said {self.declared}), "
                f"{self.dropped_lines} broken line(s) dropped")


def _declared(lines: list[str], motion_at: int) -> tuple[int, int | None]:
    """Index of the 'Frames:' line after MOTION and the count it declares."""
    at = motion_at + 1
    while at < len(lines) and not lines[at].strip():
        at += 1
    value = lines[at].partition(":")[2].strip() if at < len(lines) else ""
    return at, int(value) if value.isdigit() else None


def repair(path: str | os.PathLike) -> RepairReport:
    """Rewrites `path` in place (atomically) when its frames and header disagree; BvhFormatError when even the
    hierarchy is unreadable."""
    path = Path(path)
    bvh = read(path, strict=False)
    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = text.splitlines(keepends=True)
    motion_at = next(i for i, line in enumerate(lines) if line.strip().lower() == "motion")
    frames_at, declared = _declared(lines, motion_at)
    time_at = frames_at + 1
    while not lines[time_at].strip():
        time_at += 1
    body = [line for line in lines[time_at + 1:] if line.strip()]
    kept = body[:bvh.frames]
    # livecap writes a frame and its newline in one call, so in its takes (they have a sidecar) a last line without
    # its newline was cut, maybe mid-number though it parses. Other writers may just omit the final newline: there
    # only a count that disagrees marks the line as cut.
    ours = sidecar_path(path).exists()
    if not text.endswith("\n") and kept and len(kept) == len(body) and (ours or declared != len(body)):
        kept = kept[:-1]
    dropped = len(body) - len(kept)
    frame_time = _sidecar(path).get("frame_time")
    time_line = f"Frame Time: {frame_time:.9f}\n" if isinstance(frame_time, float) else lines[time_at]
    _mark_sidecar(path, len(kept))
    if declared == len(kept) and not dropped and time_line == lines[time_at]:
        return RepairReport(path, len(kept), declared, 0, False)
    lines[frames_at] = f"Frames: {len(kept)}\n"
    lines[time_at] = time_line  # a take cut inside this line gets it back from its sidecar
    fixed = "".join(lines[:time_at + 1]) + "".join(kept)
    parse(fixed, str(path))  # never replace a file with something we cannot read back
    temporary = path.with_name(path.name + ".repair")
    temporary.write_text(fixed)
    os.replace(temporary, path)
    return RepairReport(path, len(kept), declared, dropped, True)


def _sidecar(path: Path) -> dict:
    """A livecap take's sidecar record; {} for other files or an unreadable sidecar."""
    try:
        record = json.loads(sidecar_path(path).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _mark_sidecar(path: Path, frames: int) -> None:
    """A take's sidecar, completed: its recorded gaps are kept, trimmed to the frames kept."""
    record = _sidecar(path)
    if record.get("state") == "recording":
        gaps = [[first, min(last, frames - 1)] for first, last in _gaps(record) if first < frames]
        try:
            write_sidecar(path, dict(record, state="repaired", frames=frames, gaps=gaps))
        except OSError:
            pass


def _gaps(record: dict) -> list[tuple[int, int]]:
    """The sidecar's [first, last] held frames; a damaged entry is left out rather than failing the repair."""
    gaps = record.get("gaps")
    return [(g[0], g[1]) for g in gaps if isinstance(g, list) and len(g) == 2 and all(type(v) is int for v in g)
            ] if isinstance(gaps, list) else []


def _process_alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def unfinished_takes(directory: str | os.PathLike) -> list[Path]:
    """BVH files in `directory` whose sidecar still says "recording" and whose recording process is gone."""
    found = []
    for side in sorted(Path(directory).glob("*.bvh.json")):
        try:
            record = json.loads(side.read_text())
        except (OSError, ValueError):
            continue
        bvh = side.with_name(side.name[:-len(".json")])
        if record.get("state") == "recording" and bvh.exists() and not _process_alive(record.get("pid")):
            found.append(bvh)
    return found


def repair_unfinished(directory: str | os.PathLike) -> list[RepairReport]:
    """Repairs every unfinished take in `directory`, with a one-line notice each (run when a recording starts)."""
    reports = []
    for path in unfinished_takes(directory):
        try:
            report = repair(path)
            reports.append(report)
            log.warning("found an unfinished BVH recording, %s", report.line())
        except (BvhFormatError, OSError) as exc:
            log.warning("found an unfinished BVH recording %s that cannot be repaired: %s", path, exc)
    return reports
