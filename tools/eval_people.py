"""Prints the people benchmarks (people_bench): still-image keypoint AP, and per dev video the recall
against a reference pass, id switches, stints and record consistency; draws tracked people on frames; times
each component; traces the tracker's decisions frame by frame.

    python tools/eval_people.py ap
    python tools/eval_people.py videos [--presets balanced] [--videos vtest.avi] [--vtest-frames 300]
        [--starts 0 8 17 31]  (each video run from several start frames: one run is one draw)
    python tools/eval_people.py draw two_people_1080p.mp4 --frames 0 20 40 --preset balanced
    python tools/eval_people.py speed
    python tools/eval_people.py trace two_people_1080p.mp4 --preset balanced
    python tools/eval_people.py misses [--presets balanced] [--videos vtest.avi]  (why each missed person was missed)
    python tools/eval_people.py ceiling [--videos ...] [--models ...]  (the reference people the models can find at all)

Media: $LIVECAP_MEDIA (default ../shared/media); the reference pass uses ../shared/models/rtmdet_nano_person.onnx
($LIVECAP_SHARED_MODELS) when present. Outputs (PNGs, cached reference passes) go to --out (/tmp/peopleeval).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import people_bench as bp  # noqa: E402
import people_ceiling as pc  # noqa: E402
import people_misses as pm  # noqa: E402
import people_reference as br  # noqa: E402
from timing import median_ms  # noqa: E402
from livecap.models.blazepose import BlazePoseLandmarker  # noqa: E402
from livecap.models.catalog import ModelCatalog  # noqa: E402
from livecap.models.runtime import OnnxModel  # noqa: E402
from livecap.pose.similarity import box_iou  # noqa: E402
from livecap.pose.tracking import PoseTracker  # noqa: E402

MEDIA = Path(os.environ.get("LIVECAP_MEDIA", REPO.parent / "shared" / "media"))
SHARED_MODELS = Path(os.environ.get("LIVECAP_SHARED_MODELS", REPO.parent / "shared" / "models"))
BONES = [(5, 7), (7, 9), (6, 8), (8, 10), (5, 6), (5, 11), (6, 12), (11, 12), (11, 13), (13, 15), (12, 14),
         (14, 16), (0, 1), (0, 2), (1, 3), (2, 4)]
COLORS = [(0, 200, 255), (255, 120, 0), (0, 255, 0), (255, 0, 255), (255, 255, 0), (0, 0, 255), (128, 255, 128)]


def print_ap(args) -> None:
    rows = bp.still_image_rows(MEDIA)
    print("set | method | AP | AP (ignore regions dropped) | people per image")
    for r in rows:
        print(f"{r.dataset} | {r.method} | {r.ap:.3f} | {r.ap_ignore:.3f} | {r.people_per_image}")
    print("\ndev mean | method | AP | AP (ignore regions)")
    for method, (ap, ap_ignore) in bp.dev_means(rows).items():
        print(f"mean | {method} | {ap:.3f} | {ap_ignore:.3f}")
    names = ["nose", "eyes", "ears", "shoulders", "elbows", "wrists", "hips", "knees", "ankles"]
    groups = [[0], [1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]]
    for preset in bp.PRESET_NAMES:
        print(f"\nper keypoint, {preset}: mean OKS term on the same matched people (higher is better)")
        print("set | source | " + " | ".join(names))
        for dataset, sources in bp.keypoint_source_similarity(MEDIA, preset).items():
            for source, terms in sources.items():
                cells = [f"{np.nanmean(terms[g]):.2f}" for g in groups]
                print(f"{dataset} | {source} | " + " | ".join(cells))


def reference_detector() -> br.ReferenceDetector:
    movenet = OnnxModel(ModelCatalog().require("movenet_multipose_lightning").path)
    rtmdet = SHARED_MODELS / "rtmdet_nano_person.onnx"
    return br.ReferenceDetector(movenet, rtmdet if rtmdet.exists() else None)


def print_videos(args) -> None:
    detector = reference_detector()
    print("video | preset | frames | fps | reference person-frames | recall@0.5 | recall@0.3 | id switches | "
          "reference ids | tracked ids | stints (frames) | records | consistent")
    for name in args.videos:
        limit = args.vtest_frames if name == "vtest.avi" else None
        reference = br.reference_pass(MEDIA / "video" / name, detector, limit, args.out / "cache")
        for preset in args.presets:
            if args.starts:
                print_starts(name, preset, reference, limit, args.starts)
                continue
            frames, fps = bp.tracked_run(MEDIA / "video" / name, preset, limit)
            row = bp.video_row(Path(name), preset, reference, frames, fps)
            f = row.figures
            stints = " ".join(f"{i}:{'+'.join(map(str, runs))}" for i, runs in sorted(f.stints.items()))
            print(f"{row.video} | {preset} | {row.frames} | {row.fps} | {f.reference_person_frames} | "
                  f"{f.recall:.3f} | {row.recall_loose:.3f} | {f.id_switches} | {f.reference_identities} | "
                  f"{f.tracked_ids} | {stints} | {row.records} | {row.consistent:.3f}", flush=True)
            if args.worst:
                print(f"  uncovered frames: {f.uncovered_frames[:40]}")


def print_starts(name: str, preset: str, reference: list, limit: int | None, starts: list[int]) -> None:
    """One run is one draw (a change anywhere reorders the detector runs and tracks after it): the same video run
    from several start frames, recall as mean (min-max) and id switches summed."""
    rows = []
    for start in starts:
        frames, _, fps = pm.recorded_run(MEDIA / "video" / name, preset, limit, PoseTracker, start=start)
        rows.append(bp.video_row(Path(name), preset, reference[start:], frames, fps))
    recalls = [row.figures.recall for row in rows]
    print(f"{name} | {preset} | starts {starts} | recall {np.mean(recalls):.3f} ({min(recalls):.3f}-"
          f"{max(recalls):.3f}) | id switches {sum(row.figures.id_switches for row in rows)}", flush=True)


def print_misses(args) -> None:
    detector = reference_detector()
    for name in args.videos:
        limit = args.vtest_frames if name == "vtest.avi" else None
        reference = br.reference_pass(MEDIA / "video" / name, detector, limit, args.out / "cache")
        for preset in args.presets:
            frames, log, fps = pm.recorded_run(MEDIA / "video" / name, preset, limit)
            row = bp.video_row(Path(name), preset, reference, frames, 0.0)
            misses = pm.classify_misses(reference, frames, log)
            runs = sum(entry.detections is not None for entry in log)
            causes = dict(pm.summary(misses).most_common())
            print(f"{name} | {preset} | {fps:.1f} fps | recall {row.figures.recall:.3f} | switches "
                  f"{row.figures.id_switches} | detector runs {runs} | missed {len(misses)}: {causes}")
            if args.list:
                print(f"  id switches (frame, identity, id before, id now): {pm.switches(reference, frames)}")
                for cause in pm.summary(misses):
                    where = [(f, i) for f, i, c in misses if c == cause]
                    print(f"  {cause}: (frame, identity) {where[:60]}")


def print_ceiling(args) -> None:
    detector = reference_detector()
    models = {name: BlazePoseLandmarker(OnnxModel(ModelCatalog().require(f"blazepose_landmark_{name}").path))
              for name in args.models}
    print(f"video | reference person-frames | own crop ({', '.join(args.models)}) | any of {len(pc.SCALES) * 2} "
          f"crops | any crop of any model")
    for name in args.videos:
        limit = args.vtest_frames if name == "vtest.avi" else None
        reference = br.reference_pass(MEDIA / "video" / name, detector, limit, args.out / "cache")
        c = pc.ceiling(br.read_video(MEDIA / "video" / name, limit), reference, models)
        print(f"{name} | {c.person_frames} | {' / '.join(map(str, c.own_crop.values()))} | "
              f"{' / '.join(map(str, c.any_crop.values()))} | {c.any_model}", flush=True)


def draw_people(image: np.ndarray, people: list[dict], reference=None) -> np.ndarray:
    """bbox + id, coco17 (filled dots, thick bones) and landmarks2d (hollow dots, thin bones) per person;
    reference boxes in white."""
    out = image.copy()
    thick = max(1, round(max(image.shape[:2]) / 500))
    if reference is not None:
        for box in reference.boxes:
            cv2.rectangle(out, tuple(map(int, box[:2])), tuple(map(int, box[2:])), (255, 255, 255), thick)
    for person in people:
        color = COLORS[person["id"] % len(COLORS)]
        x1, y1, x2, y2 = map(int, person["bbox"])
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thick)
        cv2.putText(out, f"id {person['id']}", (x1, max(y1 - 6, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * thick,
                    color, thick)
        coco = np.asarray(person["coco17"])
        blaze = bp.BLAZEPOSE33.coco17_of(np.asarray(person["landmarks2d"], np.float32))
        for a, b in BONES:
            cv2.line(out, tuple(map(int, coco[a, :2])), tuple(map(int, coco[b, :2])), color, 2 * thick)
            cv2.line(out, tuple(map(int, blaze[a, :2])), tuple(map(int, blaze[b, :2])), (255, 255, 255), 1)
        for p in coco:
            cv2.circle(out, tuple(map(int, p[:2])), 2 * thick + 1, color, -1)
        for p in blaze:
            cv2.circle(out, tuple(map(int, p[:2])), 2 * thick + 1, (255, 255, 255), 1)
    return out


def draw(args) -> None:
    video = MEDIA / "video" / args.video
    frames, _ = bp.tracked_run(video, args.preset, max(args.frames) + 1)
    images = br.read_video(video, max(args.frames) + 1)
    reference = br.reference_pass(video, reference_detector(), None if args.video != "vtest.avi" else 300,
                                  args.out / "cache")
    args.out.mkdir(parents=True, exist_ok=True)
    for index in args.frames:
        picture = draw_people(images[index], frames[index]["people"], reference[index])
        scale = 960 / max(picture.shape[:2])
        if scale < 1:
            picture = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        path = args.out / f"{Path(args.video).stem}_{args.preset}_{index:04d}.png"
        cv2.imwrite(str(path), picture)
        ok = bp.records_consistent(frames[index]["people"])
        print(path, "people", [p["id"] for p in frames[index]["people"]], "consistent", ok.tolist(),
              "reference", len(reference[index]))


def speed(args) -> None:
    from livecap.models.movenet import MoveNetMultiPose
    from livecap.types import Roi

    catalog = ModelCatalog()
    image = cv2.cvtColor(br.read_video(MEDIA / "video" / "two_people_1080p.mp4", 1)[0], cv2.COLOR_BGR2RGB)
    movenet = OnnxModel(catalog.require("movenet_multipose_lightning").path)
    for side in (256, 384, 448, 512):
        print(f"MoveNet MultiPose @{side} on 1920x1080: {median_ms(lambda: MoveNetMultiPose(movenet, side)(image)):.1f} ms")
    roi = Roi(960, 540, 900, 0.0)
    for name in ("blazepose_landmark_lite", "blazepose_landmark_full"):
        landmarker = BlazePoseLandmarker(OnnxModel(catalog.require(name).path))
        for n in (1, 2, 4):
            print(f"{name} batch {n}: {median_ms(lambda: landmarker(image, [roi] * n)):.1f} ms")
    rtmdet = SHARED_MODELS / "rtmdet_nano_person.onnx"
    if rtmdet.exists():
        for side in (320, 640):
            detector = br.RtmdetPeople(rtmdet, side)
            print(f"RTMDet-nano @{side} (reference only): {median_ms(lambda: detector(image)):.1f} ms")


class TracingTracker(PoseTracker):
    """The real tracker, printing what it decides: detections, their matches, suppressed newcomers, losses."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log: list[str] = []

    def propose(self, detections, crowd=None, local=False):
        candidates = super().propose(detections, crowd, local)
        if detections is None:
            self.log.append("no detector run")
            return candidates
        tracks = list(self.tracks.values())
        for i in range(len(detections)):
            ious = {t.id: round(box_iou(detections.boxes[i], t.bbox), 2) for t in tracks}
            oks = {t.id: round(self._detection_oks(detections, i, t), 2) for t in tracks}
            used = [c.track_id for c in candidates if c.detection_keypoints is detections.keypoints[i]
                    or (c.detection_keypoints is not None and np.array_equal(c.detection_keypoints,
                                                                             detections.keypoints[i]))]
            fate = f"-> track {used[0]}" if used and used[0] is not None else ("-> new" if used else "SUPPRESSED")
            self.log.append(f"det {i} score {detections.scores[i]:.2f} kps>=0.3 "
                            f"{int(bp.confident_count(detections.keypoints[i]))} box {np.round(detections.boxes[i])} "
                            f"iou {ious} oks-to-landmarks {oks} {fate}")
        return candidates

    def update(self, candidates, results, *args):
        for c, r in zip(candidates, results):
            if c.detection_keypoints is None and c.detection_score > 0:
                self.log.append(f"crowd box crop for {c.track_id} roi {c.roi}")
            detected = c.detection_keypoints
            same = "" if detected is None else f" same body as its detection {self._same_body(detected, r)}"
            self.log.append(f"crop for {c.track_id} presence {r.presence:.2f}{same}")
        return super().update(candidates, results, *args)


def trace_tracker(args) -> None:
    def show(index, tracker, record):
        ok = bp.records_consistent(record["people"])
        if args.first <= index:
            print(f"frame {index}: people {[p['id'] for p in record['people']]} consistent {ok.tolist()}")
            for line in tracker.log:
                print("   ", line)
        tracker.log = []

    pm.recorded_run(MEDIA / "video" / args.video, args.preset, args.max_frames, TracingTracker, show)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/peopleeval"))
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("ap").set_defaults(run=print_ap)
    videos = commands.add_parser("videos")
    videos.add_argument("--videos", nargs="+", default=list(bp.DEV_VIDEOS))
    videos.add_argument("--presets", nargs="+", default=["balanced", "fast", "accurate"])
    videos.add_argument("--vtest-frames", type=int, default=300)
    videos.add_argument("--worst", action="store_true", help="list the frames with an uncovered reference person")
    videos.add_argument("--starts", type=int, nargs="+", help="run from each of these frames; recall mean (min-max)")
    videos.set_defaults(run=print_videos)
    drawing = commands.add_parser("draw")
    drawing.add_argument("video")
    drawing.add_argument("--frames", type=int, nargs="+", required=True)
    drawing.add_argument("--preset", default="balanced")
    drawing.set_defaults(run=draw)
    commands.add_parser("speed").set_defaults(run=speed)
    misses = commands.add_parser("misses")
    misses.add_argument("--videos", nargs="+", default=list(bp.DEV_VIDEOS))
    misses.add_argument("--presets", nargs="+", default=["balanced"])
    misses.add_argument("--vtest-frames", type=int, default=300)
    misses.add_argument("--list", action="store_true", help="list the frames of each cause")
    misses.set_defaults(run=print_misses)
    ceiling = commands.add_parser("ceiling")
    ceiling.add_argument("--videos", nargs="+", default=list(bp.DEV_VIDEOS))
    ceiling.add_argument("--models", nargs="+", default=["full", "lite"], help="BlazePose models: lite full heavy")
    ceiling.add_argument("--vtest-frames", type=int, default=300)
    ceiling.set_defaults(run=print_ceiling)
    trace = commands.add_parser("trace")
    trace.add_argument("video")
    trace.add_argument("--preset", default="balanced")
    trace.add_argument("--max-frames", type=int)
    trace.add_argument("--first", type=int, default=0, help="print from this frame on")
    trace.set_defaults(run=trace_tracker)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
