"""Foot contacts of a refined take, decided over the whole of each stretch a person was seen, forward and backward,
on the smoothed fit (livecap.refine.smooth): stretches of frames in which a foot stands on one spot of the floor.

The live detector (livecap.pose.contact) must decide each frame as it comes, from the speed of a foot between two
frames; a fit of monocular landmarks moves a standing foot by centimetres in depth from frame to frame, so, unpinned,
a standing foot reads as moving. Offline, a foot is judged on what it does over a stance's length instead:

- still: over the SPAN around a frame (half a short stance either side), the foot stays within SLIDE of where it is
  then. A stepping foot crosses that in a fraction of the span (a walking swing foot travels at 2-3 times the
  walking speed, 2-4 m/s: 20 cm in 0.1 s), a standing foot's noise, slow after smoothing, does not;
- low: its lowest point (ankle or toes) within `height` of the floor under the person, taken as the lower foot's
  lowest point in that frame (someone stands on one foot at least, unless jumping or running, which moves the feet
  faster than still; the floor of a view whose camera is pitched slopes in the world, where the other foot does not
  mislead) or the person's own floor (their lowest foot over the stretch, a low percentile), whichever is higher;
- a contact lasts at least MIN_STANCE (a running stride's stance, the shortest there is); a break in one shorter
  than MIN_SWING, on the same spot, is noise (a swing takes longer) and is closed.
"""

from __future__ import annotations

import numpy as np

from livecap.pose.contact import FEET
from livecap.skeleton import FLOOR_PERCENTILE, world_positions

SPAN = 0.2  # seconds: a stance's length is judged on this much around each frame (walking stances last ~0.6 s)
SLIDE = 0.05  # metres the foot may wander from a frame's position over the span and be still (< 0.5 m/s on average)
MIN_STANCE = 0.15  # seconds: a contact lasts at least this long (a sprinter's stance is ~0.1 s, a runner's 0.2-0.3)
MIN_SWING = 0.2  # seconds: a foot lifted and put down takes at least this long (a swing is 0.3-0.4 s walking)


def whole_take_contacts(joints: np.ndarray, times: np.ndarray, height: float) -> np.ndarray:
    """One stretch's contacts (frames x 2: left, right) from its smoothed camera-space joints (frames x joints x 3)
    and their times (seconds)."""
    world = world_positions(joints)
    frames = len(world)
    out = np.zeros((frames, 2), bool)
    if frames < 2:
        return out
    step = float(np.median(np.diff(times)))
    span, stance, swing = (max(int(round(seconds / step)), 1) for seconds in (SPAN / 2, MIN_STANCE, MIN_SWING))
    lowest = np.stack([world[:, list(joints_of_foot), 1].min(axis=1) for joints_of_foot in FEET.values()], axis=1)
    floor = np.maximum(lowest.min(axis=1), np.percentile(lowest.min(axis=1), FLOOR_PERCENTILE))
    for k, (ankle, _) in enumerate(FEET.values()):
        ground = world[:, ankle][:, [0, 2]]
        still = _wander(ground, span) < SLIDE
        low = lowest[:, k] - floor < height
        out[:, k] = _intervals(still & low, ground, stance, swing)
    return out


def _wander(ground: np.ndarray, span: int) -> np.ndarray:
    """Per frame: how far the foot (frames x 2, on the floor) gets from where it is then, within `span` frames."""
    out = np.zeros(len(ground))
    for shift in range(1, span + 1):
        apart = np.linalg.norm(ground[shift:] - ground[:-shift], axis=1)
        out[:-shift] = np.maximum(out[:-shift], apart)  # the frame `shift` after
        out[shift:] = np.maximum(out[shift:], apart)  # the frame `shift` before
    return out


def _intervals(flags: np.ndarray, ground: np.ndarray, stance: int, swing: int) -> np.ndarray:
    """Contact runs with short breaks on one spot closed, then runs shorter than `stance` frames dropped."""
    stances = runs(flags)
    merged: list[list[int]] = []
    for first, end in stances:
        if merged and first - merged[-1][1] < swing and \
                np.linalg.norm(ground[first] - ground[merged[-1][1] - 1]) < SLIDE:
            merged[-1][1] = end
        else:
            merged.append([first, end])
    out = np.zeros(len(flags), bool)
    for first, end in (part for run in merged for part in _on_one_spot(ground, *run)):
        if end - first >= stance:
            out[first:end] = True
    return out


def _on_one_spot(ground: np.ndarray, first: int, end: int) -> list[tuple[int, int]]:
    """A run cut where the foot strays over SLIDE from where it stood so far (the mean of the run up to there):
    it was moved, so lifted in between; the frame it strays in starts the next part after a break."""
    parts, start, total = [], first, np.zeros(2)
    for t in range(first, end):
        if t > start and np.linalg.norm(ground[t] - total / (t - start)) > SLIDE:
            parts.append((start, t))
            start, total = t + 1, np.zeros(2)
            continue
        total += ground[t]
    if start < end:
        parts.append((start, end))
    return parts


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(first, end) of every run of True in `flags`."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))
