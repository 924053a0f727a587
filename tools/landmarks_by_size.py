"""BlazePose lite against full on the crops the tracker really cuts, by person size: does the lighter model find a
small or far person as well as the full one?

Each dev video runs through the balanced pipeline (its tracking decides the crops, as live); every crop it cuts
(each track's, each detection's, masks included) also goes through lite and full on their own. Per crop-size bucket
(the crop's side in source pixels, what the pipeline knows before a model runs): how often each model finds someone
(presence over the tracker's threshold) and finds a reference person (its outline covers a reference box at IoU 0.5,
the recall rule), how far apart the two models put the body's points (mean over the points full sees, in share of
the person's height), beside each model's own frame-to-frame noise on the same tracks (the second difference of
a point over three frames: what motion leaves of it), and each model's milliseconds per crop.

    python tools/landmarks_by_size.py [--videos vtest.avi basketball_240p.mp4] [--vtest-frames 300]

Media and the reference pass (cached) as tools/eval_people.py.

Found (Dec 2026): under ~128 px a side lite finds the reference people about as often as full (vtest 0.951 / 0.949,
basketball 0.922 / 0.917, armwrestling 0.608 / 0.552 at 100-128 px; from 128-160 px less often), in 0.6 of full's
time a crop, but its points lie 1.6-2.1x the models' own crop-placement noise away from full's at every size (1.4x
if the two differed by noise alone): a different estimate, not a noisier one. Balanced with lite leading crops under
128 px (full where lite found no one) cut vtest's landmark stage ~20% and gained armwrestling recall (+0.054), but
lost vtest 0.008 recall in every start and its fit agreement p95 grew 2.6 mm (recorded) / 7.8 mm (refit), over
issue 28's 2 mm bar: not shipped.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import people_bench as bp  # noqa: E402
import people_reference as br  # noqa: E402
from eval_people import MEDIA, reference_detector  # noqa: E402
from livecap.models.catalog import ModelCatalog  # noqa: E402
from livecap.models.landmarker import load_landmarker  # noqa: E402
from livecap.models.runtime import RuntimeOptions  # noqa: E402
from livecap.pose.pipeline import PipelineModels, PosePipeline  # noqa: E402
from livecap.pose.similarity import body_outline  # noqa: E402
from livecap.settings import PipelineSettings, TrackerSettings  # noqa: E402
from livecap.types import Frame  # noqa: E402

BUCKETS = (0, 64, 100, 128, 160, 200, 256, 400, 10**6)  # crop side, source pixels
MODELS = ("lite", "full")
SEEN = 0.5  # a point at least this visible in full's output is compared


@dataclass
class CropRecord:
    frame: int
    track: int | None
    side: float  # the crop's side, source pixels
    found: dict  # model -> presence over the threshold
    hit: dict  # model -> found a reference person
    off: dict  # model -> mean distance of its COCO-17 points to the reference person's confident ones, share of height
    points: dict  # model -> 33 x 3 image points
    height: float  # the person's height (full's outline, else lite's, else the crop's), source pixels
    # model -> its points moved by cutting this frame's crop where the track's last frame's crop was (the change
    # tracking makes to a crop every frame): the model's own noise, no motion in it
    crop_noise: dict


class RecordingPipeline(PosePipeline):
    """The balanced pipeline, also running lite and full on every crop its landmark stage cuts."""

    def __init__(self, *args, models_by_name: dict, reference: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.by_name, self.reference, self.records = models_by_name, reference, []
        self.ms = {name: 0.0 for name in MODELS}
        self.crops, self.frame = 0, 0
        self.rois: dict[tuple, object] = {}  # (frame, track) -> the crop cut


    def _landmarks(self, rgb, candidates, second):
        rois, masks = [c.roi for c in candidates], [c.mask for c in candidates]
        out = {}
        for name in MODELS:
            start = time.perf_counter()
            out[name] = self.by_name[name](rgb, rois, masks) if rois else []
            self.ms[name] += (time.perf_counter() - start) * 1000
        self.crops += len(rois)
        before = [i for i, c in enumerate(candidates) if (self.frame - 1, c.track_id) in self.rois]
        moved = {n: self.by_name[n](rgb, [self.rois[self.frame - 1, candidates[i].track_id] for i in before],
                                    [masks[i] for i in before]) if before else [] for n in MODELS}
        moved = {n: dict(zip(before, moved[n])) for n in MODELS}
        self.rois.update({(self.frame, c.track_id): c.roi for c in candidates if c.track_id is not None})
        boxes = self.reference[self.frame].boxes
        threshold = self.tracker.settings.presence_threshold
        for i, c in enumerate(candidates):
            found = {n: out[n][i].presence >= threshold for n in MODELS}
            outlines = {n: body_outline(out[n][i].image, out[n][i].roi_points) for n in MODELS}
            iou = {n: bp.box_iou_matrix(outlines[n], boxes)[0] if len(boxes) else np.zeros(1) for n in MODELS}
            hit = {n: found[n] and iou[n].max() >= 0.5 for n in MODELS}
            who = next((n for n in ("full", "lite") if found[n]), None)
            height = float(outlines[who][3] - outlines[who][1]) if who else c.roi.size / 1.25
            off = {n: self._off(out[n][i], int(np.argmax(iou[n])), height) if hit[n] else np.nan for n in MODELS}
            crop_noise = {n: distance(out[n][i].image, moved[n][i].image, out[n][i].image[:, 2] >= SEEN, height)
                          if i in moved[n] and found[n] and moved[n][i].presence >= threshold else np.nan
                          for n in MODELS}
            self.records.append(CropRecord(self.frame, c.track_id, c.roi.size, found, hit, off,
                                           {n: out[n][i].image for n in MODELS}, height, crop_noise))
        return super()._landmarks(rgb, candidates, second)

    def _off(self, landmarks, person: int, height: float) -> float:
        reference = self.reference[self.frame].keypoints[person]
        seen = reference[:, 2] >= bp.CONFIDENT
        return distance(landmarks.scheme.coco17_of(landmarks.image), reference, seen, height)


def distance(a: np.ndarray, b: np.ndarray, seen: np.ndarray, height: float) -> float:
    return float(np.linalg.norm(a[seen, :2] - b[seen, :2], axis=1).mean() / max(height, 1.0)) if seen.any() else np.nan


def jitter(records: list[CropRecord], model: str) -> dict[int, float]:
    """Per record index: the model's second difference on that track (frames t-1, t, t+1 all found)."""
    by_key = {(r.frame, r.track): i for i, r in enumerate(records) if r.track is not None}
    out = {}
    for (frame, track), i in by_key.items():
        near = [by_key.get((frame + d, track)) for d in (-1, 1)]
        if None in near or not all(records[j].found[model] for j in (*near, i)):
            continue
        r, (p, n) = records[i], (records[j].points[model] for j in near)
        seen = r.points[model][:, 2] >= SEEN
        out[i] = distance(r.points[model], (p + n) / 2, seen, r.height)
    return out


def table(name: str, records: list[CropRecord], ms: dict, crops: int) -> None:
    noise = {n: jitter(records, n) for n in MODELS}
    print(f"\n{name}: {len(records)} crops; ms per crop lite {ms['lite'] / crops:.2f}, full {ms['full'] / crops:.2f}")
    print("crop side px | crops | median height px | found lite / full | ref hit lite / full | lite-full dist "
          "% height mean (p50) | off ref lite / full % (p50, hit both) | full noise % (p50) | lite noise % (p50) | crop noise full / lite % (p50) | both found / only full / only lite")
    for low, high in zip(BUCKETS, BUCKETS[1:]):
        idx = [i for i, r in enumerate(records) if low <= r.side < high]
        if not idx:
            continue
        rs = [records[i] for i in idx]
        share = lambda f: " / ".join(f"{np.mean([f(r, n) for r in rs]):.3f}" for n in MODELS)  # noqa: E731
        both = [r for r in rs if r.found["lite"] and r.found["full"]]
        apart = [distance(r.points["lite"], r.points["full"], r.points["full"][:, 2] >= SEEN, r.height) for r in both]
        noisy = {n: [noise[n][i] for i in idx if i in noise[n]] for n in MODELS}
        pct = lambda v: f"{100 * np.nanmean(v):.2f} ({100 * np.nanmedian(v):.2f})" if v else "-"  # noqa: E731
        only = lambda n: sum(r.found[n] and not r.found[{"lite": "full", "full": "lite"}[n]] for r in rs)  # noqa: E731
        hits = [r for r in rs if r.hit["lite"] and r.hit["full"]]
        offs = " / ".join(f"{100 * np.nanmedian([r.off[n] for r in hits]):.2f}" for n in MODELS) if hits else "-"
        crop = " / ".join(f"{100 * np.nanmedian([r.crop_noise[n] for r in rs]):.2f}" for n in MODELS)
        print(f"{low}-{high if high < 10**6 else ''} | {len(rs)} | {np.median([r.height for r in rs]):.0f} | "
              f"{share(lambda r, n: r.found[n])} | {share(lambda r, n: r.hit[n])} | {pct(apart)} | {offs} | "
              f"{pct(noisy['full'])} | {pct(noisy['lite'])} | {crop} | {len(both)} / {only('full')} / {only('lite')}",
              flush=True)


def measure(video: str, limit: int | None, out: Path) -> None:
    path = MEDIA / "video" / video
    reference = br.reference_pass(path, reference_detector(), limit, out / "cache")
    images = br.read_video(path, limit)
    settings = PipelineSettings(preset="balanced")
    catalog, options = ModelCatalog(), RuntimeOptions(None, 0)
    models_by_name = {n: load_landmarker(catalog, f"blazepose_landmark_{n}", "landmarks", options) for n in MODELS}
    fps = cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FPS) or 30.0
    pipeline = RecordingPipeline(PipelineModels.load(settings), settings, None, size=images[0].shape[1::-1],
                                 fit=False, models_by_name=models_by_name, reference=reference)
    for index, image in enumerate(images):
        pipeline.frame = index
        pipeline.process(Frame(index, index / fps, image, 0.0))
    table(video, pipeline.records, pipeline.ms, max(pipeline.crops, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", nargs="+", default=list(bp.DEV_VIDEOS))
    parser.add_argument("--vtest-frames", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("/tmp/peopleeval"))
    args = parser.parse_args()
    print(f"presence threshold {TrackerSettings().presence_threshold}; distances over the points full sees "
          f"(visibility >= {SEEN})")
    for video in args.videos:
        measure(video, args.vtest_frames if video == "vtest.avi" else None, args.out)


if __name__ == "__main__":
    main()
