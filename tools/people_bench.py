"""People benchmarks: are all visible people found, followed under one id, and drawn from one body each?

Pure metric functions (arrays and JSONL-like records in, figures out) come first; the runners below them run the
real models and the real `livecap process` code on the dev media and return rows. A reference pass, run on every
frame with no tracking and the strongest detectors at hand, says who is visible; the tracked people are scored
against it (box IoU), and each record's two skeletons (`coco17`, `landmarks2d`) against each other.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from livecap.models.catalog import ModelCatalog
from evaluation import KeypointDataset, keypoint_ap, outside_ignore_regions, per_keypoint_similarity
from livecap.models.blazepose import BLAZEPOSE33
from livecap.models.movenet import MoveNetMultiPose
from livecap.pose.pipeline import PipelineModels, PosePipeline
from livecap.settings import PipelineSettings
from livecap.types import Frame, PeopleDetections
from livecap.models.runtime import OnnxModel

DEV_SETS = {  # name: (annotations, image root), relative to the shared media folder
    "crowdpose": ("images/crowdpose/test_crowdpose.json", "images/crowdpose"),
    "ochuman": ("images/ochuman/test_ochuman.json", "images/ochuman"),
    "posetrack18": ("images/posetrack18/annotations/test_posetrack18_val.json", "images/posetrack18"),
}
DEV_VIDEOS = ("two_people_1080p.mp4", "basketball_240p.mp4", "armwrestling_truncated.mp4", "vtest.avi")
PRESET_NAMES = ("fast", "balanced", "accurate")
COCO_SHOULDERS_HIPS = np.array([5, 6, 11, 12])
BLAZEPOSE_SHOULDERS_HIPS = np.array([11, 12, 23, 24])
CONFIDENT = 0.3  # keypoint score a reference person's points must reach
MIN_REFERENCE_KEYPOINTS = 8


# ---------------------------------------------------------------- metrics (pure)

def box_iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """N x M IoU of x1, y1, x2, y2 boxes."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(w, 0, None) * np.clip(h, 0, None)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match_boxes(a: np.ndarray, b: np.ndarray, min_iou: float) -> list[tuple[int, int]]:
    """One-to-one pairs (i in a, j in b) of highest total IoU, each pair at least min_iou."""
    iou = box_iou_matrix(a, b)
    if not iou.size:
        return []
    rows, cols = linear_sum_assignment(-iou)
    return [(int(i), int(j)) for i, j in zip(rows, cols) if iou[i, j] >= min_iou]


def chain_identities(boxes_per_frame: list[np.ndarray], min_iou: float = 0.3) -> list[np.ndarray]:
    """Identities for untracked boxes: a box continues the identity of the box it best overlaps in the frame
    before (Hungarian, IoU >= min_iou), else starts a new one."""
    ids, previous, next_id = [], np.zeros((0, 4)), 0
    previous_ids = np.zeros(0, int)
    for boxes in boxes_per_frame:
        boxes = np.asarray(boxes, float).reshape(-1, 4)
        now = np.full(len(boxes), -1)
        for i, j in match_boxes(boxes, previous, min_iou):
            now[i] = previous_ids[j]
        for i in np.flatnonzero(now < 0):
            now[i], next_id = next_id, next_id + 1
        ids.append(now)
        previous, previous_ids = boxes, now
    return ids


def stint_lengths(ids_per_frame: list) -> dict[int, list[int]]:
    """For each id, the lengths of its runs of consecutive frames."""
    runs: dict[int, list[int]] = {}
    last_seen: dict[int, int] = {}
    for index, ids in enumerate(ids_per_frame):
        for i in ids:
            i = int(i)
            if last_seen.get(i) == index - 1:
                runs[i][-1] += 1
            else:
                runs.setdefault(i, []).append(1)
            last_seen[i] = index
    return runs


@dataclass
class RecallFigures:
    reference_person_frames: int
    covered: int  # reference person-frames matched by a tracked person (one-to-one, box IoU >= min_iou)
    id_switches: int  # a reference identity's matched tracked id changing
    reference_identities: int
    tracked_ids: int
    stints: dict[int, list[int]] = field(default_factory=dict)  # tracked id: run lengths in frames
    uncovered_frames: list[int] = field(default_factory=list)  # frame indices with an uncovered reference person

    @property
    def recall(self) -> float:
        return self.covered / self.reference_person_frames if self.reference_person_frames else 1.0


def recall_against_reference(reference: list[np.ndarray], tracked: list[tuple[np.ndarray, np.ndarray]],
                             min_iou: float = 0.5) -> RecallFigures:
    """reference: boxes per frame; tracked: (ids, boxes) per frame, same frames."""
    identities = chain_identities(reference)
    last_track: dict[int, int] = {}
    covered = switches = 0
    uncovered = []
    for index, (boxes, (ids, tracked_boxes)) in enumerate(zip(reference, tracked)):
        pairs = match_boxes(boxes, tracked_boxes, min_iou)
        covered += len(pairs)
        if len(pairs) < len(boxes):
            uncovered.append(index)
        for i, j in pairs:
            identity, track_id = int(identities[index][i]), int(ids[j])
            switches += identity in last_track and last_track[identity] != track_id
            last_track[identity] = track_id
    stints = stint_lengths([ids for ids, _ in tracked])
    return RecallFigures(int(sum(len(b) for b in reference)), covered, int(switches),
                         len({int(i) for ids in identities for i in ids}), len(stints), stints, uncovered)


def records_consistent(people: list[dict], tolerance: float = 0.15) -> np.ndarray:
    """Per person record: do coco17's and landmarks2d's shoulders and hips lie within tolerance x box height?"""
    verdicts = []
    for person in people:
        coco = np.asarray(person["coco17"], float)[COCO_SHOULDERS_HIPS, :2]
        blaze = np.asarray(person["landmarks2d"], float)[BLAZEPOSE_SHOULDERS_HIPS, :2]
        height = max(float(person["bbox"][3] - person["bbox"][1]), 1.0)
        verdicts.append(bool(np.linalg.norm(coco - blaze, axis=1).max() <= tolerance * height))
    return np.array(verdicts, bool)


def tracked_boxes(frames: list[dict]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(ids, boxes) per frame from JSONL frame records."""
    return [(np.array([p["id"] for p in f["people"]], int),
             np.array([p["bbox"] for p in f["people"]], float).reshape(-1, 4)) for f in frames]


def confident_count(keypoints: np.ndarray, threshold: float = CONFIDENT) -> np.ndarray:
    return (np.asarray(keypoints)[..., 2] >= threshold).sum(axis=-1)


def merge_passes(detections: list[PeopleDetections], min_iou: float = 0.5) -> PeopleDetections:
    """Union of several detector passes: best score first, a person already found (box IoU) is dropped."""
    boxes = np.concatenate([d.boxes for d in detections]).reshape(-1, 4)
    scores = np.concatenate([d.scores for d in detections])
    keypoints = np.concatenate([d.keypoints for d in detections]).reshape(-1, 17, 3)
    kept: list[int] = []
    for i in np.argsort(-scores):
        if not kept or box_iou_matrix(boxes[i], boxes[kept]).max() < min_iou:
            kept.append(int(i))
    return PeopleDetections(boxes[kept], scores[kept], keypoints[kept])


# ---------------------------------------------------------------- still images: keypoint AP

def _blazepose17(coco17: np.ndarray, landmarks2d: np.ndarray) -> np.ndarray:
    return BLAZEPOSE33.coco17_of(landmarks2d)


def _blazepose_body(coco17: np.ndarray, landmarks2d: np.ndarray) -> np.ndarray:
    """Face points (0-4) from the detector, body points from the landmark model."""
    mixed = BLAZEPOSE33.coco17_of(landmarks2d)
    mixed[:5] = coco17[:5]
    return mixed


def _confidence_weighted(coco17: np.ndarray, landmarks2d: np.ndarray) -> np.ndarray:
    blaze = BLAZEPOSE33.coco17_of(landmarks2d)
    w_detector, w_blaze = coco17[:, 2:3] + 1e-3, blaze[:, 2:3] + 1e-3
    fused = coco17.copy()
    fused[:, :2] = (w_detector * coco17[:, :2] + w_blaze * blaze[:, :2]) / (w_detector + w_blaze)
    return fused


KEYPOINT_SOURCES = {  # what a record's COCO-17 could be made of: (coco17, landmarks2d) -> 17 x 3
    "pipeline coco17": lambda coco17, landmarks2d: coco17,
    "blazepose->coco17": _blazepose17,
    "blazepose body + detector face": _blazepose_body,
    "confidence-weighted": _confidence_weighted,
}


@dataclass
class ApRow:
    dataset: str
    method: str
    ap: float  # every result scored, as COCOeval does
    ap_ignore: float  # people inside the set's ignore regions dropped first (PoseTrack's rule)
    people_per_image: float


def load_dev_set(name: str, media: Path) -> KeypointDataset:
    annotations, root = DEV_SETS[name]
    return replace(KeypointDataset.load(Path(media) / annotations, Path(media) / root), name=name)


def _ap_row(dataset: KeypointDataset, method: str, results: list[dict]) -> ApRow:
    return ApRow(dataset.name, method, round(keypoint_ap(dataset, results), 4),
                 round(keypoint_ap(dataset, outside_ignore_regions(dataset, results)), 4),
                 round(len(results) / max(len(dataset.images), 1), 2))


def movenet_results(dataset: KeypointDataset, detectors: list[MoveNetMultiPose]) -> list[dict]:
    """MoveNet alone; with several input sizes, their people merged."""
    results = []
    for image_id, path in dataset.images.items():
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        found = merge_passes([detector(rgb) for detector in detectors])
        results += [dataset.to_result(image_id, k, s) for k, s in zip(found.keypoints, found.scores)]
    return results


def pipeline_results(dataset: KeypointDataset, pipeline: PosePipeline) -> dict[str, list[dict]]:
    """One stills run per image; per keypoint source, the results it would give."""
    out: dict[str, list[dict]] = {name: [] for name in KEYPOINT_SOURCES}
    for image_id, path in dataset.images.items():
        result = pipeline.process(Frame(0, 0.0, cv2.imread(str(path)), 0.0, name=path.name))
        for person in result.people:
            for name, source in KEYPOINT_SOURCES.items():
                keypoints = source(person.coco17, person.landmarks2d)
                out[name].append(dataset.to_result(image_id, keypoints, person.score))
    return out


def still_image_rows(media: Path, presets=PRESET_NAMES, movenet_sides=(256, 384, 448, 512, (256, 384), (256, 448)),
                     sets=tuple(DEV_SETS), catalog: ModelCatalog | None = None) -> list[ApRow]:
    catalog = catalog or ModelCatalog()
    rows = []
    datasets = [load_dev_set(name, media) for name in sets]
    movenet = OnnxModel(catalog.require("movenet_multipose_lightning").path)
    for sides in movenet_sides:
        sides = sides if isinstance(sides, tuple) else (sides,)
        detectors = [MoveNetMultiPose(movenet, side) for side in sides]
        method = "movenet@" + "+".join(map(str, sides))
        rows += [_ap_row(d, method, movenet_results(d, detectors)) for d in datasets]
    for preset_name in presets:
        settings = PipelineSettings(preset=preset_name)
        models = PipelineModels.load(settings)
        for dataset in datasets:
            by_source = pipeline_results(dataset, PosePipeline(models, settings, stills=True))
            rows += [_ap_row(dataset, f"{preset_name}: {source}", results) for source, results in by_source.items()]
    return rows


def keypoint_source_similarity(media: Path, preset_name: str, sets=tuple(DEV_SETS),
                                catalog: ModelCatalog | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Per dev set and keypoint source, each COCO-17 point's mean OKS term on the same matched people: which
    model places which point better (what to take from each)."""
    settings = PipelineSettings(preset=preset_name)
    models = PipelineModels.load(settings)
    out = {}
    for name in sets:
        dataset = load_dev_set(name, media)
        by_source = pipeline_results(dataset, PosePipeline(models, settings, stills=True))
        first = next(iter(by_source))
        terms = per_keypoint_similarity(dataset, by_source[first], by_source)
        out[name] = {source: terms[source] for source in by_source}
    return out


def dev_means(rows: list[ApRow]) -> dict[str, tuple[float, float]]:
    """method: (mean AP, mean AP with ignore regions) over the dev sets."""
    methods = dict.fromkeys(r.method for r in rows)
    return {m: (round(float(np.mean([r.ap for r in rows if r.method == m])), 4),
                round(float(np.mean([r.ap_ignore for r in rows if r.method == m])), 4)) for m in methods}


# ---------------------------------------------------------------- video: tracked runs scored against a reference

def tracked_run(video: Path, preset: str, max_frames: int | None = None) -> tuple[list[dict], float]:
    """`livecap process` on the video (default settings of the given preset): its JSONL frames and its fps."""
    from livecap.app.process import process  # imported here: it pulls in every sink

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run.jsonl"
        summary = process(str(video), str(out), PipelineSettings(preset=preset), max_frames=max_frames,
                          progress=False)
        lines = out.read_text().splitlines()
        return [json.loads(line) for line in lines[1:]], summary.fps


@dataclass
class VideoRow:
    video: str
    preset: str
    frames: int
    fps: float
    figures: RecallFigures
    recall_loose: float  # the same at box IoU >= 0.3
    records: int
    consistent: float  # share of records whose two skeletons agree (records_consistent)


def video_row(video: Path, preset: str, reference: list[PeopleDetections], frames: list[dict],
              fps: float) -> VideoRow:
    tracked = tracked_boxes(frames)
    boxes = [r.boxes for r in reference]
    people = [p for f in frames for p in f["people"]]
    verdicts = records_consistent(people)
    return VideoRow(Path(video).name, preset, len(frames), round(fps, 1),
                    recall_against_reference(boxes, tracked, 0.5),
                    round(recall_against_reference(boxes, tracked, 0.3).recall, 4), len(people),
                    round(float(verdicts.mean()) if len(verdicts) else 1.0, 4))
