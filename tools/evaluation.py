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

from livecap.pose.tracking import COCO_SIGMAS

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
