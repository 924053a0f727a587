"""COCO keypoint AP of livecap's COCO-17 output on keypoint datasets whose point sets differ from COCO's.

Only the points a dataset shares with COCO-17 (by name) are scored, with COCO's OKS sigmas; the rest are
ignored. Needs pycocotools (the `test` extra).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livecap.pose.similarity import COCO_SIGMAS

COCO17_NAMES = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
                "left_knee", "right_knee", "left_ankle", "right_ankle")


@dataclass
class KeypointDataset:
    name: str
    images: dict[int, Path]  # image id -> file
    ground_truth: dict  # COCO-format json, areas filled in and non-COCO points ignored
    coco_index: list[int | None]  # for each of the dataset's keypoints, its COCO-17 index

    @classmethod
    def load(cls, annotations: Path, image_root: Path) -> "KeypointDataset":
        gt = json.loads(Path(annotations).read_text())
        names = gt["categories"][0]["keypoints"]
        coco_index = [COCO17_NAMES.index(n) if n in COCO17_NAMES else None for n in names]
        for ann in gt["annotations"]:
            kps = np.array(ann["keypoints"], float).reshape(-1, 3)
            kps[[i for i, c in enumerate(coco_index) if c is None], 2] = 0
            ann["keypoints"] = kps.ravel().tolist()
            ann["num_keypoints"] = int((kps[:, 2] > 0).sum())
            ann["iscrowd"] = int(bool(ann.get("iscrowd", 0)))
            if not ann.get("area"):  # some sets leave it 0; OKS then uses the box area
                ann["area"] = float(ann["bbox"][2] * ann["bbox"][3])
        images = {img["id"]: Path(image_root) / img["file_name"] for img in gt["images"]}
        return cls(Path(annotations).parent.name, images, gt, coco_index)

    def sigmas(self) -> np.ndarray:
        return np.array([COCO_SIGMAS[c] if c is not None else 0.1 for c in self.coco_index])

    def to_result(self, image_id: int, coco17: np.ndarray, score: float) -> dict:
        kps = np.zeros((len(self.coco_index), 3))
        for i, c in enumerate(self.coco_index):
            if c is not None:
                kps[i] = (coco17[c, 0], coco17[c, 1], 1.0)
        return {"image_id": image_id, "category_id": self.ground_truth["categories"][0]["id"],
                "keypoints": kps.ravel().tolist(), "score": float(score)}


def keypoint_ap(dataset: KeypointDataset, results: list[dict]) -> float:
    """COCO keypoint AP (OKS 0.50:0.95) of results made with dataset.to_result."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if not results:
        return 0.0
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = copy.deepcopy(dataset.ground_truth)
        gt.createIndex()
        dt = gt.loadRes(copy.deepcopy(results))
        evaluator = COCOeval(gt, dt, "keypoints")
        evaluator.params.kpt_oks_sigmas = dataset.sigmas()
        evaluator.params.imgIds = sorted(dataset.images)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return float(max(evaluator.stats[0], 0.0))


def outside_ignore_regions(dataset: KeypointDataset, results: list[dict], share: float = 0.5) -> list[dict]:
    """Results minus the people that lie in an image's ignore regions (PoseTrack marks crowds it did not
    annotate that way): as PoseTrack's own evaluation drops keypoints inside them, a person with more than `share`
    of its keypoints inside is dropped, instead of counting as a false positive."""
    import cv2

    regions = {img["id"]: [np.array(list(zip(xs, ys)), np.float32)
                           for xs, ys in zip(img.get("ignore_regions_x", []), img.get("ignore_regions_y", []))]
               for img in dataset.ground_truth["images"]}
    kept = []
    for result in results:
        polygons = [p for p in regions.get(result["image_id"], []) if len(p) >= 3]
        points = np.array(result["keypoints"], float).reshape(-1, 3)
        points = points[points[:, 2] > 0, :2]
        inside = sum(any(cv2.pointPolygonTest(p, (float(x), float(y)), False) >= 0 for p in polygons)
                     for x, y in points)
        if not len(points) or inside <= share * len(points):
            kept.append(result)
    return kept


def per_keypoint_similarity(dataset: KeypointDataset, results: list[dict], others: dict[str, list[dict]]):
    """Per COCO-17 keypoint, the mean OKS term exp(-d^2 / 2 s^2 k^2) over the ground-truth points of the people
    that `results` finds (each annotated person matched to the result of highest OKS in its image, >= 0.1);
    `others` are results in the same order as `results` (other keypoint sources for the same people), scored
    on the same matches. Returns {name: 17 values, NaN where no point was matched}, 'results' for the first."""
    sigmas = np.zeros(17)
    for i, c in enumerate(dataset.coco_index):
        if c is not None:
            sigmas[c] = dataset.sigmas()[i]
    sources = {"results": results, **others}
    sums = {name: np.zeros(17) for name in sources}
    counts = np.zeros(17)
    for ann in dataset.ground_truth["annotations"]:
        if ann["num_keypoints"] == 0 or ann["iscrowd"]:
            continue
        raw = np.array(ann["keypoints"], float).reshape(-1, 3)
        truth = np.zeros((17, 3))
        for i, c in enumerate(dataset.coco_index):
            if c is not None:
                truth[c] = raw[i]
        seen = truth[:, 2] > 0
        candidates = [i for i, r in enumerate(results) if r["image_id"] == ann["image_id"]]
        if not candidates:
            continue
        terms = {name: [_oks_terms(_as_coco17(dataset, sources[name][i]), truth, ann["area"], sigmas)
                        for i in candidates] for name in sources}
        best = int(np.argmax([t[seen].mean() for t in terms["results"]]))
        if terms["results"][best][seen].mean() < 0.1:
            continue
        counts += seen
        for name in sources:
            sums[name] += np.where(seen, terms[name][best], 0.0)
    with np.errstate(invalid="ignore"):
        return {name: sums[name] / counts for name in sources}


def _as_coco17(dataset: KeypointDataset, result: dict) -> np.ndarray:
    raw = np.array(result["keypoints"], float).reshape(-1, 3)
    out = np.zeros((17, 3))
    for i, c in enumerate(dataset.coco_index):
        if c is not None:
            out[c] = raw[i]
    return out


def _oks_terms(points: np.ndarray, truth: np.ndarray, area: float, sigmas: np.ndarray) -> np.ndarray:
    d2 = ((points[:, :2] - truth[:, :2]) ** 2).sum(axis=1)
    sigmas = np.where(sigmas > 0, sigmas, 1.0)  # points the dataset lacks: never seen, any finite value
    return np.exp(-d2 / (2 * max(area, 1.0) * (2 * sigmas) ** 2))
