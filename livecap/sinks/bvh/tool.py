"""`livecap bvh info` and `livecap bvh repair`: text for the command line."""

from __future__ import annotations

import json
from pathlib import Path

from livecap.sinks.bvh.format import guess_units
from livecap.sinks.bvh.reader import read
from livecap.sinks.bvh.repair import repair
from livecap.sinks.bvh.stream import sidecar_path


def info_text(path: str) -> str:
    bvh = read(path)
    orders = sorted({j.rotation_order for j in bvh.joints if j.rotation_order})
    fps = 1.0 / bvh.frame_time if bvh.frame_time > 0 else 0.0
    lines = [f"{path}",
             f"  joints:     {len(bvh.joints)} ({bvh.joints[0].name} root; {sum(j.end_site is not None for j in bvh.joints)}"
             f" End Sites)",
             f"  channels:   {bvh.channel_count} (rotation orders: {', '.join(orders) or 'none'})",
             f"  frames:     {bvh.frames}",
             f"  frame time: {bvh.frame_time:g} s ({fps:.3f} fps)",
             f"  duration:   {bvh.duration:.3f} s",
             f"  units:      {guess_units(bvh)}"]
    side = sidecar_path(Path(path))
    if side.exists():
        try:
            record = json.loads(side.read_text())
            lines.append(f"  livecap:    person {record.get('person')}, units {record.get('units')}, "
                         f"state {record.get('state')}, held gaps {record.get('gaps', [])}")
        except (OSError, ValueError):
            pass
    lines.append("  names:      " + " ".join(bvh.names))
    return "\n".join(lines)


def repair_text(path: str) -> str:
    return repair(path).line()
