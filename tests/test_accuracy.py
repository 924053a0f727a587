"""COCO keypoint AP of `livecap process --stills` on the dev images with ground truth (shared/media/images).

Floors are set a little under what was measured (balanced preset, onnxruntime 1.31 CPU): crowdpose 0.802,
ochuman 0.313, posetrack18 0.048; MoveNet MultiPose alone: 0.776, 0.188, 0.068 (mean 0.344 vs 0.388).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import media, read_jsonl, run_livecap
from livecap.models.catalog import ModelCatalog
from evaluation import KeypointDataset, keypoint_ap
from livecap.models.movenet import MoveNetMultiPose
from livecap.models.runtime import OnnxModel

pytest.importorskip("pycocotools")

DATASETS = {  # name: (annotations, image root, AP floor)
    "crowdpose": ("images/crowdpose/test_crowdpose.json", "images/crowdpose", 0.75),
    "ochuman": ("images/ochuman/test_ochuman.json", "images/ochuman", 0.28),
    "posetrack18": ("images/posetrack18/annotations/test_posetrack18_val.json", "images/posetrack18", 0.04),
}


def load(name: str) -> KeypointDataset:
    annotations, root, _ = DATASETS[name]
    return KeypointDataset.load(media(annotations), media(root))


def livecap_results(dataset: KeypointDataset, tmp_path) -> list[dict]:
    """Run the real command on every image folder of the dataset, in --stills mode."""
    results = []
    by_file = {path.resolve(): image_id for image_id, path in dataset.images.items()}
    for folder in sorted({path.parent for path in dataset.images.values()}):
        out = tmp_path / f"{folder.name}.jsonl"
        done = run_livecap("process", str(folder), "--stills", "--out", str(out))
        assert done.returncode == 0, done.stderr
        _, frames = read_jsonl(out)
        for frame in frames:
            image_id = by_file.get((folder / frame["image"]).resolve())
            if image_id is not None:
                results += [dataset.to_result(image_id, np.array(p["coco17"]), p["score"]) for p in frame["people"]]
    return results


def movenet_alone_results(dataset: KeypointDataset) -> list[dict]:
    detector = MoveNetMultiPose(OnnxModel(ModelCatalog().require("movenet_multipose_lightning").path))
    results = []
    for image_id, path in dataset.images.items():
        found = detector(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
        results += [dataset.to_result(image_id, k, s) for k, s in zip(found.keypoints, found.scores)]
    return results


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> dict[str, tuple[float, float]]:
    """name: (livecap AP, MoveNet-alone AP)"""
    out = {}
    for name in DATASETS:
        dataset = load(name)
        tmp = tmp_path_factory.mktemp(name)
        out[name] = (keypoint_ap(dataset, livecap_results(dataset, tmp)),
                     keypoint_ap(dataset, movenet_alone_results(dataset)))
    return out


@pytest.mark.parametrize("name", list(DATASETS))
def test_keypoint_ap_meets_its_floor(scores, name):
    assert scores[name][0] >= DATASETS[name][2], scores


def test_full_pipeline_beats_movenet_alone(scores):
    livecap_mean = np.mean([s[0] for s in scores.values()])
    movenet_mean = np.mean([s[1] for s in scores.values()])
    assert livecap_mean > movenet_mean, scores


def test_the_harness_scores_ground_truth_as_perfect():
    dataset = load("ochuman")
    perfect = []
    for ann in dataset.ground_truth["annotations"]:
        kps = np.zeros((17, 3))
        raw = np.array(ann["keypoints"]).reshape(-1, 3)
        for i, c in enumerate(dataset.coco_index):
            if c is not None:
                kps[c] = raw[i]
        perfect.append(dataset.to_result(ann["image_id"], kps, 1.0))
    assert keypoint_ap(dataset, perfect) == pytest.approx(1.0)
