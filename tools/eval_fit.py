"""How closely the fitted skeleton follows BlazePose's own metric landmarks on real media: every dev video and,
with --stills, every dev image set (livecap.bench.mocap.video_agreement: 13 body points, similarity-aligned per
person-frame). Prints p50/p95 per set, per joint, by landmark visibility, the worst person-frames, and draws them.

    python tools/eval_fit.py record                  # `livecap process` every set into --out (kept; --force redoes)
    python tools/eval_fit.py report [--worst 8]      # the recorded fit and a refit of its inputs, per set
    python tools/eval_fit.py report --set limit_weight=0 --set reprojection_weight=0   # a refit with other settings
    python tools/eval_fit.py report --alone          # each person-frame refitted as a still (per-frame bones)
    python tools/eval_fit.py report --clip-bones     # bones from each person's whole clip, frozen from the start
    python tools/eval_floor.py --worst 5             # the floor: the least any frozen-bone skeleton can reach
    python tools/eval_fit.py bones two_people_1080p  # per person: frozen bones vs the landmarks' own, frame by frame
    python tools/eval_fit.py draw two_people_1080p --worst 4   # the worst person-frames: landmarks vs fit, 2D and 3D
    python tools/eval_fit.py draw two_people_1080p --recorded --frames 40 1   # person 1's published fit, frame 40

Media: $LIVECAP_MEDIA (default ../shared/media). Results and drawings go to --out (/tmp/fiteval). Each still is
recorded on its own: `livecap process --stills` over a folder keeps the first image's camera for every image.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livecap.bench.agreement import (BODY13, Agreement, VideoInputs, points_visibility,  # noqa: E402
                                     video_agreement)
from livecap.bench.mocap import similarity_aligned  # noqa: E402
from livecap.pose.fitting import FitSettings, model  # noqa: E402
from livecap.refine.bones import whole_take_offsets  # noqa: E402

MEDIA = Path(os.environ.get("LIVECAP_MEDIA", REPO.parent / "shared" / "media"))
VIDEOS = {"two_people_1080p": ("video/two_people_1080p.mp4", None), "vtest": ("video/vtest.avi", 300),
          "basketball_240p": ("video/basketball_240p.mp4", None),
          "armwrestling_truncated": ("video/armwrestling_truncated.mp4", None)}
STILLS = ("crowdpose", "ochuman", "posetrack18")
JOINTS13 = [model.J[name] for name in BODY13]
# the landmarks behind each of the 13 points (livecap.pose.fitting.model.LANDMARKS_OF_JOINT)
LANDMARKS13 = [model.LANDMARKS_OF_JOINT[name] for name in BODY13]
BONES13 = [(0, 1), (0, 2), (1, 2), (1, 3), (3, 5), (2, 4), (4, 6), (1, 7), (2, 8), (7, 8), (7, 9), (9, 11), (8, 10),
           (10, 12)]


def sets() -> list[str]:
    return list(VIDEOS) + [f"stills_{name}" for name in STILLS]


def still_images(name: str) -> list[Path]:
    """An image set's images: posetrack18 has one frame per sequence folder."""
    folder = MEDIA / "images" / name
    return sorted(folder.glob("images/val/*/*.jpg") if name == "posetrack18" else folder.glob("*.jpg"))


def results_paths(name: str, out: Path) -> list[Path]:
    """A video's results file, or one per image of a still set: each image its own run, so that each gets the
    camera of its own size (one run over a folder keeps the first image's camera for all)."""
    if not name.startswith("stills_"):
        return [out / f"{name}.jsonl"]
    return [out / name / f"{image.parent.name}_{image.stem}.jsonl" for image in still_images(name[7:])]


def record(args) -> None:
    for name in sets():
        if name.startswith("stills_"):
            runs = [[str(image)] for image in still_images(name[7:])]
        else:
            video, limit = VIDEOS[name]
            runs = [[str(MEDIA / video)] + (["--max-frames", str(limit)] if limit else [])]
        for command, path in zip(runs, results_paths(name, args.out)):
            if path.exists() and not args.force:
                continue
            print("recording", name, path.stem, flush=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, "-m", "livecap", "process", *command, "--out", str(path),
                            "--no-progress", *args.process_args], check=True)


def read_results(path: Path) -> tuple[dict, list[dict]]:
    if not path.exists():
        raise SystemExit(f"eval_fit: {path} is missing: run `python tools/eval_fit.py record --out {path.parent}`")
    lines = path.read_text().splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def recorded_agreement(frames: list[dict]) -> Agreement:
    """The pipeline's own fit (as published, contacts and all) against the landmarks, where a person was seen."""
    people = [person for frame in frames for person in frame["people"] if not person.get("interpolated")]
    joints = np.array([person["joints3d"] for person in people]).reshape(-1, 21, 3)
    seen = np.array([model.BLAZEPOSE_BODY.joint_targets(np.array(person["world33"]), np.ones(33))[0][JOINTS13]
                     for person in people]).reshape(-1, 13, 3)
    visibility = np.array([points_visibility(np.array(person["landmarks2d"])) for person in people]).reshape(-1, 13)
    aligned = similarity_aligned(joints[:, JOINTS13], seen)
    return Agreement(aligned, seen, np.linalg.norm(aligned - seen, axis=-1) * 1000.0, float("nan"), joints,
                     visibility)


def settings_from(pairs: list[str]) -> FitSettings:
    kinds = {f.name: f for f in fields(FitSettings)}
    values = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in kinds:
            raise SystemExit(f"eval_fit: --set {pair}: FitSettings has no {key} (it has {', '.join(kinds)})")
        values[key] = None if value == "None" else type(getattr(FitSettings(), key) or 0.0)(value)
    return replace(FitSettings(), **values)


def visibility13(inputs: VideoInputs) -> np.ndarray:
    """Each of the 13 points' visibility (the least of its landmarks'), person-frames x 13."""
    return np.array([points_visibility(image) for image in inputs.image33]).reshape(-1, 13)


@dataclass
class Part:
    """One results file: its inputs, and the agreement of their refit and of the recorded fit."""

    header: dict
    frames: list[dict]
    inputs: VideoInputs
    refit: Agreement
    recorded: Agreement


def refit(name: str, out: Path, settings: FitSettings, alone: bool = False, clip_bones: bool = False) -> list[Part]:
    """Every results file of a set, refitted; alone: every person-frame fitted as a still (cold, bones measured
    from that frame alone); clip_bones: each person's bones measured over all their frames of the clip, frozen from
    the first (what no estimate made as the clip plays can beat)."""
    parts = []
    for path in results_paths(name, out):
        header, frames = read_results(path)
        inputs = VideoInputs.from_results(header, frames, stills=alone or name.startswith("stills_"))
        if inputs.ids:
            bones = whole_clip_bones(inputs, settings) if clip_bones else None
            parts.append(Part(header, frames, inputs, video_agreement(inputs, settings, bones),
                              recorded_agreement(frames)))
    return parts


def whole_clip_bones(inputs: VideoInputs, settings: FitSettings) -> dict[int, np.ndarray]:
    """Per person: rest offsets from the median over all their frames, as a refined take measures them."""
    ids = np.array(inputs.ids)
    return {pid: whole_take_offsets(np.array(inputs.world33)[ids == pid], np.array(inputs.image33)[ids == pid],
                                    settings.height) for pid in np.unique(ids)}


def pooled(parts: list[Part], kind: str = "refit") -> Agreement:
    agreements = [getattr(part, kind) for part in parts]
    fitted, seen, distances, joints, visibility = (np.concatenate([getattr(a, f) for a in agreements])
                                                   for f in ("fitted", "seen", "distances_mm", "joints", "visibility"))
    return Agreement(fitted, seen, distances, float(np.mean([a.fit_ms for a in agreements])), joints, visibility)


def pooled_inputs(parts: list[Part]) -> VideoInputs:
    """The parts' inputs one after the other (a still set's images numbered in turn)."""
    out = VideoInputs(parts[0].inputs.camera, [], [], [], [])
    for k, part in enumerate(parts):
        offset = k if len(parts) > 1 else 0
        out.frames += [frame + offset for frame in part.inputs.frames]
        out.ids += part.inputs.ids
        out.image33 += part.inputs.image33
        out.world33 += part.inputs.world33
    return out


def report(args) -> None:
    settings = settings_from(args.set)
    print("p50/p95 mm over all 13 points (the agreement figure), and over the points BlazePose marks visible "
          "(visibility >= 0.5; same alignment)")
    print("set | person-frames | recorded all | recorded visible | refit all | refit visible | refit ms/person")
    details, stills = [], {}
    for name in args.sets or sets():
        parts = refit(name, args.out, settings, args.alone, args.clip_bones)
        print_row(name, parts)
        details.append((name, pooled_inputs(parts), pooled(parts)))
        if name.startswith("stills_"):
            stills[name] = parts
    if len(stills) > 1:  # the stills' own figure: every image of every set (a few people each)
        print_row("stills (pooled)", [part for parts in stills.values() for part in parts])
    if args.worst:
        for name, inputs, agreement in details:
            print_details(name, inputs, agreement, args.worst)


def print_row(name: str, parts: list[Part]) -> None:
    agreement, recorded = pooled(parts), pooled(parts, "recorded")
    figures = [a.percentiles() for a in (recorded, agreement)] + [a.visible_percentiles() for a in (recorded,
                                                                                                     agreement)]
    all_recorded, all_refit, visible_recorded, visible_refit = (f"{p50:.1f} / {p95:.1f}" for p50, p95 in figures)
    print(f"{name} | {len(agreement.distances_mm)} | {all_recorded} | {visible_recorded} | {all_refit} | "
          f"{visible_refit} | {agreement.fit_ms:.2f}", flush=True)


def print_details(name: str, inputs: VideoInputs, agreement: Agreement, worst: int) -> None:
    d, seen = agreement.distances_mm, visibility13(inputs)
    print(f"\n{name}: per joint p50/p95 mm (mean visibility)")
    print("  " + "  ".join(f"{BODY13[j]} {np.percentile(d[:, j], 50):.0f}/{np.percentile(d[:, j], 95):.0f}"
                           f" ({seen[:, j].mean():.2f})" for j in range(13)))
    bins = [(seen >= lo) & (seen < hi) for lo, hi in ((0, 0.3), (0.3, 0.7), (0.7, 0.9), (0.9, 1.01))]
    print("  by visibility [0,0.3) [0.3,0.7) [0.7,0.9) [0.9,1]: " + "  ".join(
        f"n={b.sum()} p95 {np.percentile(d[b], 95) if b.any() else 0:.0f}" for b in bins))
    above = np.percentile(d, 95)
    share = (d > above).sum(axis=0) / max((d > above).sum(), 1)
    print("  share of the distances above p95, per joint: "
          + " ".join(f"{BODY13[j]} {share[j]:.2f}" for j in np.argsort(-share)[:6]))
    people = np.array(inputs.ids)
    print("  p95 per person: " + " ".join(f"{pid}:{np.percentile(d[people == pid], 95):.0f}(n={np.sum(people == pid)})"
                                          for pid in np.unique(people)))
    order = np.argsort(-d.mean(axis=1))[:worst]
    print("  worst person-frames (mean mm; worst joints mm @ visibility):")
    for k in order:
        joints = np.argsort(-d[k])[:3]
        print(f"    frame {inputs.frames[k]} id {inputs.ids[k]}: mean {d[k].mean():.0f}, "
              + ", ".join(f"{BODY13[j]} {d[k, j]:.0f} @ {seen[k, j]:.2f}" for j in joints))


def bones(args) -> None:
    """Per person: the frozen bone lengths of the refit against the landmarks' own pair lengths over frames."""
    from livecap.pose.fitting import FitState, SkeletonFitter

    header, frames = read_results(args.out / f"{args.set_name}.jsonl")
    inputs = VideoInputs.from_results(header, frames)
    fitter = SkeletonFitter(inputs.camera, settings_from(args.set))
    states: dict[int, FitState] = {}
    measured: dict[int, list[np.ndarray]] = {}
    for pid, image, world in zip(inputs.ids, inputs.image33, inputs.world33):
        fitter.fit(states.setdefault(pid, FitState()), image, world)
        measured.setdefault(pid, []).append(model.BLAZEPOSE_BODY.measure_segments(np.asarray(world, np.float64)))
    names = model.SEGMENT_NAMES
    for pid, state in states.items():
        lengths = np.array(measured[pid])
        frozen = model.segments_from_pairs(np.array(state.measured), np.array(state.reliability))
        everything = np.median(lengths, axis=0)
        print(f"id {pid} ({len(lengths)} frames): segment frozen / median of all frames / p5-p95 of frames (cm)")
        print("  " + "  ".join(f"{n} {100 * f:.0f}/{100 * a:.0f}/{100 * np.percentile(lengths[:, k], 5):.0f}-"
                               f"{100 * np.percentile(lengths[:, k], 95):.0f}"
                               for k, (n, f, a) in enumerate(zip(names, frozen, everything))))


def draw(args) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    parts = refit(args.set_name, args.out, settings_from(args.set))
    kind = "recorded" if args.recorded else "refit"
    everything = pooled(parts, kind).distances_mm.mean(axis=1)
    where = [(part, k) for part in parts for k in range(len(part.inputs.ids))]
    picks = [where[i] for i in np.argsort(-everything)[:args.worst]]
    picks += [(part, k) for part, k in where for frame, pid in zip(args.frames[::2], args.frames[1::2])
              if part.inputs.frames[k] == frame and part.inputs.ids[k] == pid]
    for part, k in picks:
        inputs, agreement = part.inputs, getattr(part, kind)
        image = read_image(part.header, part.frames, inputs.frames[k])
        picture = np.hstack([overlay(image, inputs, k, agreement.joints[k]), side_views(agreement, k)])
        stem = Path(part.header["source"]).stem if args.set_name.startswith("stills_") else args.set_name
        path = args.out / f"{stem}_{kind}_f{inputs.frames[k]:04d}_id{inputs.ids[k]}.png"
        cv2.imwrite(str(path), picture)
        print(path, f"mean {agreement.distances_mm[k].mean():.0f} mm")


def read_image(header: dict, frames: list[dict], index: int) -> np.ndarray:
    record = next(f for f in frames if f["frame"] == index)
    source = Path(header["source"])
    if source.is_dir():
        return cv2.imread(str(source / record["image"]))
    if source.suffix.lower() in (".jpg", ".jpeg", ".png"):
        return cv2.imread(str(source))
    capture = cv2.VideoCapture(str(source))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, image = capture.read()
    capture.release()
    if not ok:
        raise SystemExit(f"eval_fit: frame {index} of {source} could not be read")
    return image


def overlay(image: np.ndarray, inputs: VideoInputs, k: int, joints: np.ndarray) -> np.ndarray:
    """The crop around the person: landmarks (white, visibility as a number), the fit projected (colour)."""
    c = inputs.camera
    points = np.array([inputs.image33[k][list(group), :2].mean(axis=0) for group in LANDMARKS13])
    fitted = joints[JOINTS13]
    projected = np.stack([c.fx * fitted[:, 0] / fitted[:, 2] + c.cx, c.fy * fitted[:, 1] / fitted[:, 2] + c.cy], 1)
    seen = visibility13(VideoInputs(c, [0], [0], [inputs.image33[k]], [inputs.world33[k]]))[0]
    both = np.vstack([points, projected])
    lo, hi = both.min(axis=0), both.max(axis=0)
    margin = 0.15 * (hi - lo).max() + 10
    x0, y0 = np.maximum((lo - margin).astype(int), 0)
    x1, y1 = np.minimum((hi + margin).astype(int), [image.shape[1], image.shape[0]])
    crop = image[y0:y1, x0:x1].copy()
    scale = 480.0 / max(crop.shape[:2])
    crop = cv2.resize(crop, None, fx=scale, fy=scale)
    to_crop = lambda p: tuple(int(v) for v in (p - (x0, y0)) * scale)  # noqa: E731
    for a, b in BONES13:
        cv2.line(crop, to_crop(points[a]), to_crop(points[b]), (255, 255, 255), 1)
        cv2.line(crop, to_crop(projected[a]), to_crop(projected[b]), (0, 200, 255), 2)
    for j in range(13):
        cv2.circle(crop, to_crop(points[j]), 3, (255, 255, 255), -1)
        cv2.putText(crop, f"{seen[j]:.1f}", to_crop(points[j]), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1)
    cv2.putText(crop, f"frame {inputs.frames[k]} id {inputs.ids[k]}", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (0, 255, 0), 1)
    return cv2.copyMakeBorder(crop, 0, 480 - crop.shape[0], 0, 480 - crop.shape[1], cv2.BORDER_CONSTANT)


def side_views(agreement: Agreement, k: int) -> np.ndarray:
    """Front (x, y) and side (z, y) views of the aligned fit (colour) over the landmarks (white), per joint mm."""
    panel = np.zeros((480, 480, 3), np.uint8)
    seen, fitted, d = agreement.seen[k], agreement.fitted[k], agreement.distances_mm[k]
    for offset, axes in ((120, (0, 1)), (360, (2, 1))):
        def at(p):
            return int(offset + 200 * p[axes[0]]), int(240 + 200 * p[axes[1]])
        for a, b in BONES13:
            cv2.line(panel, at(seen[a]), at(seen[b]), (255, 255, 255), 1)
            cv2.line(panel, at(fitted[a]), at(fitted[b]), (0, 200, 255), 2)
    for j in range(13):
        cv2.putText(panel, f"{BODY13[j]} {d[j]:.0f}", (4, 14 + 14 * j), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                    (200, 200, 200), 1)
    cv2.putText(panel, "front (x,y)        side (z,y)", (100, 470), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 0), 1)
    return panel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/fiteval"))
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("record")
    p.add_argument("--force", action="store_true")
    p.add_argument("process_args", nargs="*", help="more `livecap process` options, after --")
    p = sub.add_parser("report")
    p.add_argument("--sets", nargs="*", choices=sets())
    p.add_argument("--worst", type=int, default=0, help="per set, this many worst person-frames and the breakdowns")
    p.add_argument("--alone", action="store_true", help="refit every person-frame as a still, bones from that frame: "
                   "what bones that stretch as BlazePose's do would reach")
    p.add_argument("--clip-bones", action="store_true", help="each person's bones from all their frames, frozen "
                   "from the first: the floor for bones frozen over the first frames")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a FitSettings field")
    p = sub.add_parser("bones")
    p.add_argument("set_name", choices=list(VIDEOS))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p = sub.add_parser("draw")
    p.add_argument("set_name", choices=sets())
    p.add_argument("--worst", type=int, default=4)
    p.add_argument("--frames", type=int, nargs="*", default=[], metavar="FRAME ID", help="pairs: frame, person id")
    p.add_argument("--recorded", action="store_true", help="the pipeline's own fit (contacts and all), not a refit")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    {"record": record, "report": report, "bones": bones, "draw": draw}[args.command](args)


if __name__ == "__main__":
    main()
