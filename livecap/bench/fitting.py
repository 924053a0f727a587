"""`livecap bench --fitting`: the skeleton fit's speed, its JIT warm-up, what smoothing does to jitter and lag, and
how still people stand: foot skate and the root's wander over each person's first second.

Jitter is the mean absolute acceleration of the fitted joints (mm/frame^2). Lag is the delay, in frames, that
best lines the smoothed joints up with the raw ones on the fastest tenth of the motion. Foot skate is the mean
horizontal motion (world x, z) of a foot flagged in contact in this frame and the one before (mm/frame), as
published. Root wander is the largest extent (over x, y, z) of each person's published root over their first
second, the worst person (cm).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

from livecap.camera import camera_for
from livecap.pose.fitting import FitState, SkeletonFitter
from livecap.pose.pipeline import PipelineModels, build_pipeline
from livecap.settings import PipelineSettings
from livecap.skeleton import J
from livecap.sources import open_file


@dataclass
class Recording:
    """Per person: frame indices, fitted joints (camera space) and the landmarks the fit was given."""

    frames: dict[int, list[int]] = field(default_factory=dict)
    joints: dict[int, list[np.ndarray]] = field(default_factory=dict)
    inputs: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)  # (id, landmarks2d, world33)
    feet: dict[int, list[np.ndarray]] = field(default_factory=dict)  # world positions of LeftFoot, RightFoot
    contacts: dict[int, list[tuple[bool, bool]]] = field(default_factory=dict)  # left, right
    roots: dict[int, list[np.ndarray]] = field(default_factory=dict)  # published root, camera space
    fps: float = 30.0


def record(path: str, models: PipelineModels, settings: PipelineSettings) -> Recording:
    source = open_file(path)
    pipeline = build_pipeline(settings, source.mode.width, source.mode.height, models=models)
    out = Recording(fps=source.mode.fps)
    try:
        for frame in source:
            for person in pipeline.process(frame).people:
                out.frames.setdefault(person.id, []).append(frame.index)
                out.joints.setdefault(person.id, []).append(person.skeleton.joints3d.astype(np.float64))
                out.inputs.append((person.id, person.landmarks2d, person.world33))
                out.feet.setdefault(person.id, []).append(person.world.positions[_FEET].copy())
                out.roots.setdefault(person.id, []).append(person.skeleton.root.astype(np.float64))
                contacts = person.contacts or {}
                out.contacts.setdefault(person.id, []).append((contacts.get("left", False),
                                                               contacts.get("right", False)))
    finally:
        source.close()
    return out


_FEET = [J["LeftFoot"], J["RightFoot"]]


def foot_skate_mm(recording: Recording) -> tuple[float, float]:
    """Mean horizontal motion of a foot in contact now and in the frame before (mm/frame), and the share of
    person-frames with a foot in contact."""
    moves, in_contact, total = [], 0, 0
    for person_id, frames in recording.frames.items():
        feet, flags = np.array(recording.feet[person_id]), np.array(recording.contacts[person_id])
        in_contact += int(flags.any(axis=1).sum())
        total += len(frames)
        consecutive = np.diff(frames) == 1
        for side in (0, 1):
            held = consecutive & flags[1:, side] & flags[:-1, side]
            step = np.diff(feet[:, side], axis=0)[held]
            moves += list(np.hypot(step[:, 0], step[:, 2]) * 1000.0)
    return (float(np.mean(moves)) if moves else float("nan")), in_contact / max(total, 1)


def root_wander_cm(recording: Recording, seconds: float = 1.0) -> float:
    """The largest extent (x, y or z) of a person's root over the first `seconds` they are seen, worst person."""
    count = max(2, int(round(seconds * recording.fps)))
    extents = [np.ptp(np.array(roots[:count]), axis=0).max() * 100.0 for roots in recording.roots.values()
               if len(roots) >= count]
    return float(max(extents)) if extents else float("nan")


def _runs(recording: Recording, minimum: int = 5):
    """Each person's stretches of consecutive frames, as (T x J x 3) arrays."""
    for person_id, frames in recording.frames.items():
        joints = np.array(recording.joints[person_id])
        breaks = np.nonzero(np.diff(frames) != 1)[0] + 1
        for run in np.split(np.arange(len(frames)), breaks):
            if len(run) >= minimum:
                yield person_id, joints[run]


def jitter_mm(recording: Recording) -> float:
    accelerations = [np.linalg.norm(np.diff(run, 2, axis=0), axis=-1).ravel() for _, run in _runs(recording)]
    return float(np.mean(np.concatenate(accelerations)) * 1000.0) if accelerations else float("nan")


def _delayed(a: np.ndarray, t: np.ndarray, j: np.ndarray, delay: float) -> np.ndarray:
    """a[t - delay, j], linearly interpolated between frames."""
    s = t - delay
    lo = np.floor(s).astype(int)
    w = (s - lo)[:, None]
    return (1 - w) * a[lo, j] + w * a[np.minimum(lo + 1, len(a) - 1), j]


def lag_frames(raw: Recording, smoothed: Recording, max_lag: float = 4.0) -> float:
    """The delay d minimising |smoothed(t) - truth(t - d)| over the fastest 10% of joint motion, where the truth
    is the raw motion smoothed without delay (a centred Gaussian of 1.5 frames): raw frame-to-frame noise would
    otherwise pass for fast motion."""
    pairs = [(gaussian_filter1d(a, 1.5, axis=0, mode="nearest"), b)
             for (pid, a), (qid, b) in zip(_runs(raw), _runs(smoothed)) if pid == qid and a.shape == b.shape]
    start = int(np.ceil(max_lag))
    speeds = [np.linalg.norm(np.diff(a, axis=0), axis=-1)[start - 1:] for a, _ in pairs]  # rows: frames start..
    if not speeds or not sum(s.size for s in speeds):
        return float("nan")
    fast = np.percentile(np.concatenate([s.ravel() for s in speeds]), 90)
    delays = np.arange(0.0, max_lag + 1e-9, 0.1)
    errors = np.zeros(len(delays))
    for (a, b), speed in zip(pairs, speeds):
        t, j = np.nonzero(speed >= fast)
        t = t + start
        for k, delay in enumerate(delays):
            errors[k] += np.linalg.norm(b[t, j] - _delayed(a, t, j, delay), axis=1).sum()
    return float(delays[np.argmin(errors)])


def fit_milliseconds(recording: Recording, camera, repeats: int = 3) -> float:
    """Mean milliseconds per person per frame of SkeletonFitter.fit on recorded inputs, after warm-up."""
    fitter = SkeletonFitter(camera)
    _, image, world = recording.inputs[0]
    fitter.fit(FitState(), image, world)  # JIT / cache load
    started = time.perf_counter()
    for _ in range(repeats):
        people: dict[int, FitState] = {}
        for person_id, image, world in recording.inputs:
            fitter.fit(people.setdefault(person_id, FitState()), image, world)
    return (time.perf_counter() - started) * 1000.0 / (repeats * len(recording.inputs))


_FIRST_FIT = ("import time, numpy as np; t = time.perf_counter(); "
              "from livecap.camera import CameraIntrinsics; from livecap.pose.fitting import FitState, SkeletonFitter; "
              "rng = np.random.default_rng(0); image = np.ones((33, 3), np.float32); "
              "image[:, :2] = rng.uniform(200, 400, (33, 2)); world = rng.normal(0, 0.3, (33, 3)).astype(np.float32); "
              "SkeletonFitter(CameraIntrinsics.from_fov(640, 480)).fit(FitState(), image, world); "
              "print(time.perf_counter() - t)")


def warmup_seconds() -> tuple[float, float]:
    """Seconds from import to the first fit in a fresh process: compiling (empty cache), then from the cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        cold, cached = (float(subprocess.run([sys.executable, "-c", _FIRST_FIT], env=env, check=True,
                                             capture_output=True, text=True).stdout) for _ in range(2))
    return cold, cached


def limbs_and_root(recording: Recording) -> tuple[Recording, Recording]:
    """The joints relative to the root (the body's own motion), and the root alone (its path in the room)."""
    limbs = {pid: [j[1:] - j[:1] for j in joints] for pid, joints in recording.joints.items()}
    root = {pid: [j[:1] for j in joints] for pid, joints in recording.joints.items()}
    return Recording(recording.frames, limbs), Recording(recording.frames, root)


@dataclass
class FittingFigures:
    source: str
    people_frames: int
    fit_ms: float
    jitter_raw_mm: float
    jitter_smoothed_mm: float
    limb_lag_frames: float
    root_lag_frames: float
    foot_skate_mm: float = float("nan")
    contact_share: float = float("nan")
    root_wander_cm: float = float("nan")

    @property
    def jitter_ratio(self) -> float:
        return self.jitter_smoothed_mm / self.jitter_raw_mm


def bench_fitting(sources: list[str], settings: PipelineSettings) -> list[FittingFigures]:
    """Each source fitted raw (no smoothing) and at the settings' smoothing, with the same models."""
    models = PipelineModels.load(settings)
    rows = []
    for path in sources:
        raw = record(path, models, replace(settings, smoothing=0.0))
        smoothed = record(path, models, settings)
        source = open_file(path)
        camera = camera_for(source.mode.width, source.mode.height, settings.fov, settings.calibration)
        source.close()
        (raw_limbs, raw_root), (limbs, root) = limbs_and_root(raw), limbs_and_root(smoothed)
        skate, share = foot_skate_mm(smoothed)
        rows.append(FittingFigures(Path(path).name, len(raw.inputs), fit_milliseconds(raw, camera),
                                   jitter_mm(raw), jitter_mm(smoothed), lag_frames(raw_limbs, limbs),
                                   lag_frames(raw_root, root), skate, share, root_wander_cm(smoothed)))
    return rows


def format_fitting(rows: list[FittingFigures], warmup: tuple[float, float], smoothing: float) -> str:
    lines = [f"fit warm-up: {warmup[0]:.1f} s compiling, {warmup[1]:.2f} s from the cache (first fit in a fresh "
             f"process)", f"smoothing {smoothing}: source | person-frames | fit ms/person | jitter raw mm/f^2 | "
                          f"smoothed | ratio | lag frames: limbs, root | foot skate mm/frame (contact share) | "
                          f"root wander cm over the first second"]
    for r in rows:
        lines.append(f"{r.source} | {r.people_frames} | {r.fit_ms:.2f} | {r.jitter_raw_mm:.1f} | "
                     f"{r.jitter_smoothed_mm:.1f} | {r.jitter_ratio:.2f} | {r.limb_lag_frames:.1f}, "
                     f"{r.root_lag_frames:.1f} | {r.foot_skate_mm:.1f} ({r.contact_share:.0%}) | "
                     f"{r.root_wander_cm:.1f}")
    return "\n".join(lines)
