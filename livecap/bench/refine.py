"""`livecap bench --refine`: what refining a take after capture (livecap.refine) does on real video, against the
live pass of the same perception; and, with `--mocap`, against real motion capture with the landmark noise the
live models produce.

Per video, one pass of the live pipeline gives both the live output and the take (the landmark model's own
output, before the live smoothing: PersonPose.observed), which is then refined, and refined once more without
smoothing (the unsmoothed fit with the whole take's bones: what lag is measured against). Figures:
- agreement: p50 / p95 mm of the fitted joints against BlazePose's world landmarks over the 13 body points,
  similarity-aligned per person-frame (livecap.bench.agreement), over the frames a person was seen;
- pose jitter: mean absolute acceleration of the joints relative to the hips (mm/frame^2), lag in frames against
  the unsmoothed fit, foot skate (mm/frame) and contact share (livecap.bench.fitting);
- short gaps: gaps of at most a second left inside a person's track (the refined take fills them);
- landmark noise: what is left of the raw landmarks after a 2 Hz zero-phase low-pass, per axis, robustly (the
  core: 1.4826 x MAD), the share beyond 3 core sigmas (the tail) and its rms, and the lag-1 autocorrelation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from livecap.bench.agreement import BODY13
from livecap.bench.fitting import Recording, foot_skate_mm, jitter_mm, lag_frames, limbs_and_root
from livecap.bench.mocap import similarity_aligned
from livecap.pose.fitting import model
from livecap.pose.pipeline import PipelineModels, build_pipeline
from livecap.refine import RefineSettings, Take, TakeRecorder, refine
from livecap.refine.gaps import MAX_GAP
from livecap.refine.smooth import SmootherSettings, lowpass
from livecap.refine.stitch import stitch
from livecap.settings import PipelineSettings
from livecap.skeleton import J
from livecap.sources import open_file
from livecap.types import FrameResult

_FEET = [J["LeftFoot"], J["RightFoot"]]
_POINTS13 = [model.J[name] for name in BODY13]
_NOISE_LANDMARKS = [11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]  # shoulders, elbows, wrists, hips, knees, ankles
NOISE_CUTOFF = 2.0  # Hz: what the landmarks keep above this is taken for noise


@dataclass(frozen=True)
class NoiseProfile:
    """Landmark noise per axis: a Gaussian core, and a share of samples from a wider Gaussian tail."""

    name: str
    world_core: float  # metres
    world_tail: float  # metres, rms
    world_tail_share: float
    image_core: float  # share of the body's size (the box's longer side)
    image_tail: float
    image_tail_share: float
    lag1: float = 0.0  # the noise's correlation from one frame to the next (measured, not synthesised)


@dataclass
class Outcome:
    """One pass over a video: the live output and the refined ones, as recordings and agreement inputs."""

    live: Recording
    live_pairs: list[tuple[np.ndarray, np.ndarray]]  # (fitted joints, BlazePose world landmarks) per person-frame
    take: Take
    pass_seconds: float
    published: dict[int, list[int]] = field(default_factory=dict)  # per live id, the frames it is in (predicted too)


def _add(recording: Recording, pairs: list, result: FrameResult, seen_only: bool = True) -> None:
    for person in result.people:
        if seen_only and (person.predicted or person.interpolated) or person.skeleton is None:
            continue
        recording.frames.setdefault(person.id, []).append(result.index)
        recording.joints.setdefault(person.id, []).append(person.skeleton.joints3d.astype(np.float64))
        recording.feet.setdefault(person.id, []).append(person.world.positions[_FEET].copy())
        recording.roots.setdefault(person.id, []).append(person.skeleton.root.astype(np.float64))
        contacts = person.contacts or {}
        recording.contacts.setdefault(person.id, []).append((contacts.get("left", False), contacts.get("right", False)))
        world = person.world33 if person.observed is None else person.observed.world
        pairs.append((person.skeleton.joints3d, world))


def live_pass(path: str, models: PipelineModels, settings: PipelineSettings) -> Outcome:
    source = open_file(path)
    pipeline = build_pipeline(settings, source.mode.width, source.mode.height, models=models)
    recorder = TakeRecorder()
    recorder.start(pipeline.stream_info(path, source.mode.width, source.mode.height, source.mode.fps))
    out = Outcome(Recording(fps=source.mode.fps), [], recorder.take, 0.0)
    started = time.perf_counter()
    try:
        for frame in source:
            result = pipeline.process(frame)
            _add(out.live, out.live_pairs, result)
            recorder.write(result)
            for person in result.people:
                out.published.setdefault(person.id, []).append(len(recorder.take.frames) - 1)
    finally:
        source.close()
    out.pass_seconds = time.perf_counter() - started
    return out


def agreement_mm(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    """p50 and p95 over the 13 body points (livecap.bench.agreement's measure)."""
    fitted = np.array([joints for joints, _ in pairs], np.float64)[:, _POINTS13]
    seen = np.array([model.BLAZEPOSE_BODY.joint_targets(np.asarray(world, np.float64), np.ones(33))[0][_POINTS13]
                     for _, world in pairs])
    distances = np.linalg.norm(similarity_aligned(fitted, seen) - seen, axis=-1) * 1000.0
    return float(np.percentile(distances, 50)), float(np.percentile(distances, 95))


def short_gaps(seen: dict[int, list[int]], frame_times: np.ndarray, max_gap: float = MAX_GAP) -> int:
    """Gaps of at most `max_gap` seconds (from the last frame seen to the next) inside any person's track; `seen`:
    per person, the positions of the frames they are in."""
    count = 0
    for positions in seen.values():
        for a, b in zip(positions[:-1], positions[1:]):
            count += int(b - a > 1 and frame_times[b] - frame_times[a] <= max_gap + 1e-9)
    return count


def people_in(results: list[FrameResult]) -> dict[int, list[int]]:
    """Per person, the positions of the frames they are published in."""
    out: dict[int, list[int]] = {}
    for k, result in enumerate(results):
        for person in result.people:
            out.setdefault(person.id, []).append(k)
    return out


def landmark_noise(take: Take, name: str) -> NoiseProfile:
    """The take's landmark noise (see the module notes), on stretches of at least half a second."""
    times = np.asarray(take.frames.time)
    world, image, lag1 = [], [], []
    for person in stitch(take):
        rows = take.rows(person.rows)
        breaks = np.flatnonzero(np.diff(person.frames) != 1) + 1
        for run in np.split(np.arange(len(rows)), breaks):
            t = times[person.frames[run]]
            if len(run) < 4 or t[-1] - t[0] < 0.5:
                continue
            box = rows["bbox"][run].astype(np.float64)
            size = np.maximum(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1])[:, None, None]
            for points, out in ((rows["world33"][run][:, _NOISE_LANDMARKS].astype(np.float64), world),
                                (rows["image33"][run][:, _NOISE_LANDMARKS, :2] / size, image)):
                flat = points.reshape(len(run), -1)
                residual = flat - lowpass(flat, t, NOISE_CUTOFF)
                out.append(residual.ravel())
                if out is world:
                    lag1.append((residual[1:] * residual[:-1]).sum() / max((residual ** 2).sum(), 1e-12))
    rate = take.info.fps or 30.0
    kept = np.sqrt(max(1.0 - 2.0 * min(NOISE_CUTOFF, 0.2 * rate) / rate, 0.3))  # white noise's share above it
    (wc, wt, ws), (ic, it, is_) = (_core_and_tail(np.concatenate(x) / kept) for x in (world, image))
    return NoiseProfile(name, wc, wt, ws, ic, it, is_, float(np.mean(lag1)))


def _core_and_tail(values: np.ndarray) -> tuple[float, float, float]:
    core = 1.4826 * float(np.median(np.abs(values - np.median(values))))
    tail = np.abs(values) > 3.0 * core
    return core, float(np.sqrt(np.mean(values[tail] ** 2))) if tail.any() else core, float(tail.mean())


@dataclass
class RefineFigures:
    source: str
    frames: int
    people_live: int
    people_refined: int
    agreement_live: tuple[float, float]
    agreement_unsmoothed: tuple[float, float]
    agreement_refined: tuple[float, float]
    jitter_live: float
    jitter_unsmoothed: float
    jitter_refined: float
    limb_lag: float
    root_lag: float
    skate_live: float
    skate_refined: float
    contact_share: float
    short_gaps_live: int
    short_gaps_refined: int
    everyone_everywhere: bool  # every refined person is in every frame (two_people: both in all 72)
    pass_seconds: float
    refine_seconds: float  # refine() and building every frame's results (no sink)
    noise: NoiseProfile

    @property
    def jitter_ratio(self) -> float:
        return self.jitter_refined / self.jitter_live


def bench_video(path: str, models: PipelineModels, settings: PipelineSettings) -> RefineFigures:
    outcome = live_pass(path, models, settings)
    take, base = outcome.take, RefineSettings.for_take(outcome.take)
    started = time.perf_counter()
    refined = refine(take, settings=base)
    results = list(refined.results())
    refine_seconds = time.perf_counter() - started
    unsmoothed = list(refine(take, settings=replace(base, smoother=SmootherSettings(0.0, 0.0))).results())
    rec, pairs, raw, raw_pairs = Recording(fps=take.info.fps), [], Recording(fps=take.info.fps), []
    for result, plain in zip(results, unsmoothed):
        _add(rec, pairs, result)
        _add(raw, raw_pairs, plain)
    (live_limbs, _), (raw_limbs, raw_root), (limbs, root) = (limbs_and_root(r) for r in (outcome.live, raw, rec))
    frame_times = np.asarray(take.frames.time)
    refined_seen = people_in(results)
    everywhere = all(len(frames) == len(results) for frames in refined_seen.values())
    skate, share = foot_skate_mm(rec)
    return RefineFigures(Path(path).name, len(take.frames), len(outcome.live.frames), len(refined.people),
                         agreement_mm(outcome.live_pairs), agreement_mm(raw_pairs), agreement_mm(pairs),
                         jitter_mm(live_limbs), jitter_mm(raw_limbs), jitter_mm(limbs), lag_frames(raw_limbs, limbs),
                         lag_frames(raw_root, root), foot_skate_mm(outcome.live)[0], skate, share,
                         short_gaps(outcome.published, frame_times), short_gaps(refined_seen, frame_times),
                         everywhere, outcome.pass_seconds, refine_seconds,
                         landmark_noise(take, Path(path).stem))


def format_figures(rows: list[RefineFigures]) -> str:
    lines = ["source | frames | people live/refined | agreement p50/p95 mm: live, unsmoothed, refined | pose jitter "
             "mm/f^2: live, unsmoothed, refined (ratio) | lag frames limbs, root | foot skate mm/f live, refined "
             "(contact) | gaps <= 1 s live, refined | everyone in every frame | seconds: pass, refine"]
    for r in rows:
        a = [f"{p50:.1f}/{p95:.1f}" for p50, p95 in (r.agreement_live, r.agreement_unsmoothed, r.agreement_refined)]
        lines.append(f"{r.source} | {r.frames} | {r.people_live}/{r.people_refined} | {', '.join(a)} | "
                     f"{r.jitter_live:.1f}, {r.jitter_unsmoothed:.1f}, {r.jitter_refined:.1f} ({r.jitter_ratio:.2f}) |"
                     f" {r.limb_lag:.1f}, {r.root_lag:.1f} | {r.skate_live:.2f}, {r.skate_refined:.2f} "
                     f"({r.contact_share:.0%}) | {r.short_gaps_live}, {r.short_gaps_refined} | "
                     f"{'yes' if r.everyone_everywhere else 'no'} | {r.pass_seconds:.1f}, {r.refine_seconds:.2f}")
    lines.append("landmark noise per axis: world core mm, tail rms mm (share); image core % of body, tail % "
                 "(share); lag-1 autocorrelation")
    for r in rows:
        n = r.noise
        lines.append(f"{r.source} | {n.world_core * 1000:.1f}, {n.world_tail * 1000:.1f} ({n.world_tail_share:.1%}) | "
                     f"{n.image_core:.2%}, {n.image_tail:.2%} ({n.image_tail_share:.1%}) | {n.lag1:.2f}")
    return "\n".join(lines)


def bench_refine(sources: list[str], settings: PipelineSettings) -> list[RefineFigures]:
    models = PipelineModels.load(settings)
    return [bench_video(path, models, settings) for path in sources]


# --- against real motion capture ----------------------------------------------------------------------------------

# the landmark noise `livecap bench --refine` measured on the dev videos (balanced, BlazePose full, CPU)
PROFILES = {
    "two_people": NoiseProfile("two_people", 0.0086, 0.0496, 0.109, 0.0099, 0.0523, 0.050, 0.18),
    "basketball_240p": NoiseProfile("basketball_240p", 0.0299, 0.1717, 0.114, 0.0589, 0.3096, 0.096, 0.02),
    "armwrestling_truncated": NoiseProfile("armwrestling_truncated", 0.0304, 0.1705, 0.106, 0.0396, 0.1890, 0.078,
                                           -0.05),
    "vtest_300": NoiseProfile("vtest_300", 0.0220, 0.1262, 0.109, 0.0665, 0.4051, 0.078, -0.48),
}


def _noise(rng: np.random.Generator, shape: tuple, core: float, tail: float, share: float) -> np.ndarray:
    return rng.normal(size=shape) * np.where(rng.random(shape) < share, tail, core)


def noisy_inputs(truth: np.ndarray, rng: np.random.Generator, profile: NoiseProfile, camera) -> tuple[np.ndarray,
                                                                                                        np.ndarray]:
    """BlazePose-like inputs (image33, world33) for true camera-space landmarks (frames x 33 x 3) with a
    profile's noise, white in time (the dev videos' lag-1 autocorrelation is -0.05 to 0.18 at 28-30 fps)."""
    from livecap.bench.mocap import project

    hips = truth[:, [23, 24]].mean(axis=1, keepdims=True)
    world = truth - hips + _noise(rng, truth.shape, profile.world_core, profile.world_tail, profile.world_tail_share)
    world -= world[:, [23, 24]].mean(axis=1, keepdims=True)
    pixels = project(truth, camera)
    size = np.ptp(pixels, axis=1).max(axis=1)[:, None, None]
    image = np.empty(truth.shape)
    image[..., :2] = pixels + size * _noise(rng, pixels.shape, profile.image_core, profile.image_tail,
                                            profile.image_tail_share)
    image[..., 2] = rng.uniform(0.8, 1.0, truth.shape[:2])
    return image.astype(np.float32), world.astype(np.float32)


def live_fit(image33: np.ndarray, world33: np.ndarray, fps: float, camera) -> np.ndarray:
    """One person's fitted joints as the live pipeline gives them (livecap.pose.pipeline, PosePipeline._person):
    landmarks through the One-Euro filter, the warm fit with bones frozen after their first frames, feet planted,
    the root through the Kalman filter."""
    from livecap import skeleton
    from livecap.pose.contact import FootContacts, joints_in_contact
    from livecap.pose.filtering import PersonSmoother, SmoothingSettings
    from livecap.pose.fitting import FitState, SkeletonFitter, plant

    smoother, fitter = PersonSmoother(SmoothingSettings.from_strength(0.5)), SkeletonFitter(camera)
    state, contacts = FitState(), FootContacts()
    out = np.empty((len(image33), model.NUM_JOINTS, 3))
    for k in range(len(image33)):
        t = k / fps
        body = float(np.ptp(image33[k, :, :2], axis=0).max())
        image, world = smoother.landmarks(t, image33[k], world33[k], body)
        fit = fitter.fit(state, image, world, temporal=k > 0)
        flags = contacts.update(t, skeleton.world_positions(fit.joints3d))
        plant(state, fit, joints_in_contact(flags))
        out[k] = fit.joints3d + (smoother.root(t, fit.root, any(flags.values())) - fit.root)
    return out


def refined_fit(image33: np.ndarray, world33: np.ndarray, fps: float, camera) -> np.ndarray:
    """One person's fitted joints as a refined take gives them: the same inputs as one take, refined."""
    from livecap.types import PersonPose, StreamInfo

    info = StreamInfo("mocap", int(2 * camera.cx), int(2 * camera.cy), fps, camera, "balanced", [],
                      {"smoothing": 0.5, "height": None})
    take = Take(info)
    for k in range(len(image33)):
        points = image33[k, :, :2]
        box = np.concatenate([points.min(axis=0), points.max(axis=0)])
        take.add(FrameResult(k, k / fps, 0.0, [PersonPose(1, 1.0, box, np.zeros((17, 3), np.float32), image33[k],
                                                          world33[k])]))
    return np.array([r.people[0].skeleton.joints3d for r in refine(take).results()], np.float64)


@dataclass
class MocapComparison:
    take: str
    yaw: int
    noise: str
    live_mpjpe: float
    live_pa: float
    refined_mpjpe: float
    refined_pa: float


def bench_mocap_refined(media: str | Path, profiles: list[NoiseProfile], takes: tuple[str, ...] | None = None,
                        angles: tuple[int, ...] | None = None, max_frames: int = 150, seed: int = 0
                        ) -> list[MocapComparison]:
    """Every take x angle x noise profile: the live fit's and the refined take's errors against the truth."""
    import zlib

    from livecap.bench.mocap import ANGLES, CAMERA, RIGS, camera_view, errors_mm, joints_of, take_landmarks

    rows = []
    for name in takes or tuple(RIGS):
        take = take_landmarks(RIGS[name], Path(media), max_frames)
        for yaw in angles or ANGLES:
            truth = camera_view(take, yaw)
            true_joints = joints_of(truth)
            for profile in profiles:
                rng = np.random.default_rng([seed, zlib.crc32(name.encode()), yaw, zlib.crc32(profile.name.encode())])
                image33, world33 = noisy_inputs(truth, rng, profile, CAMERA)
                live = errors_mm(live_fit(image33, world33, take.fps, CAMERA), true_joints)
                refined = errors_mm(refined_fit(image33, world33, take.fps, CAMERA), true_joints)
                rows.append(MocapComparison(name, yaw, profile.name, float(live[0].mean()), float(live[1].mean()),
                                            float(refined[0].mean()), float(refined[1].mean())))
    return rows


def format_mocap_comparison(rows: list[MocapComparison]) -> str:
    lines = ["take | noise | MPJPE mm live, refined | PA-MPJPE mm live, refined (mean over the angles)"]
    for take in dict.fromkeys(r.take for r in rows):
        for noise in dict.fromkeys(r.noise for r in rows):
            mine = [r for r in rows if r.take == take and r.noise == noise]
            lines.append(f"{take} | {noise} | {np.mean([r.live_mpjpe for r in mine]):.1f}, "
                         f"{np.mean([r.refined_mpjpe for r in mine]):.1f} | {np.mean([r.live_pa for r in mine]):.1f}, "
                         f"{np.mean([r.refined_pa for r in mine]):.1f}")
    return "\n".join(lines)
