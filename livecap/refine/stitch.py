"""Track stitching: the tracker's ids, joined into people over the whole take.

Live, a person lost for longer than the tracker keeps a lost track (TrackerSettings.max_missed) comes back under a
new id. With the whole take at hand, a track that starts after another one ended is the same person when it
starts where that one's motion was taking them (or, backwards, where its own motion comes from), at the same body
size and with the same body proportions (bone lengths over height, from each track's own reliability-weighted
bones). The cheapest such joins are made first; a track joins at most one before it and one after it, so two
tracks seen in one frame are never one person. People are numbered 1, 2, ... in the order they first appear.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from livecap.refine.bones import track_segments
from livecap.refine.take import Take


@dataclass(frozen=True)
class StitchSettings:
    max_gap: float = 4.0  # seconds between the end of one track and the start of the next, at most
    distance: float = 0.5  # body sizes between where a motion leads and where the next track starts, at no gap
    distance_per_second: float = 0.4  # ... and more per second of gap: where someone unseen went is less sure
    # body sizes (the box's longer side) differ by this factor at most: on basketball_240p a player lost at 85 px
    # and another found 1.6 s later 54 px away at 62 px (x1.37) are two people; on vtest and armwrestling the
    # same people found again after 1.8-2.6 s were within x1.1
    size_ratio: float = 1.3
    proportions: float = 0.15  # mean relative difference of the bones over height, at most (BlazePose's own
    # proportions wander: 0.04-0.11 between one person's two tracks on the dev videos)
    motion_seconds: float = 0.5  # each track's end motion is measured over this much of its start or end
    max_speed: float = 2.0  # body sizes per second: a motion measured faster than this is not extrapolated


@dataclass
class Track:
    """One of the tracker's tracks as the take holds it."""

    id: int
    rows: np.ndarray  # the take's rows, in frame order
    frames: np.ndarray  # the take's frame positions of those rows
    times: np.ndarray  # seconds
    centres: np.ndarray  # n x 2: the box centres, pixels
    sizes: np.ndarray  # n: the box's longer side, pixels
    proportions: np.ndarray  # the body's segments over their sum (livecap.pose.fitting.model.SEGMENT_NAMES)
    start: tuple[np.ndarray, np.ndarray, float] | None = None  # where it starts, its velocity there, its size
    end: tuple[np.ndarray, np.ndarray, float] | None = None  # the same where it ends


@dataclass
class Person:
    """One person of the refined take: the tracks joined, their rows in frame order."""

    id: int
    tracks: list[int]
    rows: np.ndarray
    frames: np.ndarray


def by_track(rows: np.ndarray, ids: np.ndarray, frames: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """These rows of the take grouped by their track id (`ids`, `frames`: every row's), each group in frame order,
    the groups by id."""
    order = rows[np.lexsort((frames[rows], ids[rows]))]
    track_ids, firsts = np.unique(ids[order], return_index=True)
    return list(zip(track_ids.tolist(), np.split(order, firsts[1:])))


def tracks_of(take: Take, settings: StitchSettings) -> list[Track]:
    bodies = take.body_rows()  # a face seen alone is no body to stitch (livecap.refine.core publishes it)
    ids, frames = take.column("track"), take.column("frame")
    times = np.asarray(take.frames.time)
    out = []
    for track_id, rows in by_track(bodies, ids, frames):
        data = take.rows(rows, ("bbox", "image33", "world33"))
        box = data["bbox"].astype(np.float64)
        segments = track_segments(data["world33"], data["image33"])
        track = Track(int(track_id), rows, frames[rows], times[frames[rows]], 0.5 * (box[:, :2] + box[:, 2:]),
                      np.maximum(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]),
                      segments / max(float(segments.sum()), 1e-9))
        track.start, track.end = _end_motion(track, False, settings), _end_motion(track, True, settings)
        out.append(track)
    return out


def _end_motion(track: Track, at_end: bool, settings: StitchSettings) -> tuple[np.ndarray, np.ndarray, float]:
    """Where a track starts or ends (box centre), its velocity there (pixels per second) and its body size."""
    span = track.times[-1] - track.times if at_end else track.times - track.times[0]
    near = span <= settings.motion_seconds
    t, centres, size = track.times[near], track.centres[near], float(np.median(track.sizes[near]))
    velocity = np.zeros(2)
    if len(t) >= 3 and np.ptp(t) > 0:
        velocity = np.polyfit(t - t.mean(), centres, 1)[0]
        speed = np.linalg.norm(velocity)
        if speed > settings.max_speed * size:
            velocity *= settings.max_speed * size / speed
    return (centres[-1] if at_end else centres[0]), velocity, size


def join_cost(before: Track, after: Track, settings: StitchSettings) -> float:
    """How unlikely `after` continues `before` (under 1: it may; inf: it cannot), scaled so that each rule
    counts 1 at its limit."""
    gap = after.times[0] - before.times[-1]
    if after.frames[0] <= before.frames[-1] or gap > settings.max_gap:
        return np.inf
    (end, end_velocity, end_size), (start, start_velocity, start_size) = before.end, after.start
    ratio = max(end_size, start_size) / max(min(end_size, start_size), 1e-9)
    size = 0.5 * (end_size + start_size)
    # where the first was heading, where the second came from, or (people stop) neither
    miss = min(np.linalg.norm(end + end_velocity * gap - start), np.linalg.norm(start - start_velocity * gap - end),
               np.linalg.norm(start - end)) / max(size, 1e-9)
    shape = float(np.mean(np.abs(before.proportions - after.proportions)) / np.mean(before.proportions))
    rules = (miss / (settings.distance + settings.distance_per_second * gap), (ratio - 1) / (settings.size_ratio - 1),
             shape / settings.proportions)
    return float(np.inf if max(rules) > 1 else sum(rules) / len(rules))


def stitch(take: Take, settings: StitchSettings | None = None) -> list[Person]:
    """The take's people: its tracks joined, cheapest join first, numbered by first appearance."""
    settings = settings or StitchSettings()
    tracks = tracks_of(take, settings)
    starts = np.array([t.times[0] for t in tracks])
    costs = sorted((join_cost(a, tracks[j], settings), i, j) for i, a in enumerate(tracks)
                   for j in np.flatnonzero((starts > a.times[-1]) & (starts <= a.times[-1] + settings.max_gap)))
    following: dict[int, int] = {}
    preceding: dict[int, int] = {}
    for cost, i, j in costs:
        if not np.isfinite(cost):
            break
        if i not in following and j not in preceding:
            following[i], preceding[j] = j, i
    people = []
    for first in (i for i in range(len(tracks)) if i not in preceding):
        chain = [first]
        while chain[-1] in following:
            chain.append(following[chain[-1]])
        people.append([tracks[i] for i in chain])
    people.sort(key=lambda chain: (chain[0].frames[0], chain[0].id))
    return [Person(k + 1, [t.id for t in chain], np.concatenate([t.rows for t in chain]),
                   np.concatenate([t.frames for t in chain])) for k, chain in enumerate(people)]
