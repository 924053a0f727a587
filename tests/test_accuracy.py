"""COCO keypoint AP of `livecap process --stills` on the dev images with ground truth (shared/media/images), per
preset, next to MoveNet MultiPose alone at 256 (the detector as it ran before input sizes followed the image).

Measured (onnxruntime CPU), crowdpose / ochuman / posetrack18 (mean):
fast 0.831 / 0.212 / 0.215 (0.419), balanced 0.833 / 0.446 / 0.225 (0.501), accurate 0.833 / 0.446 / 0.243 (0.507);
MoveNet alone 0.776 / 0.188 / 0.068 (0.344). Floors sit a little under; the mean floors of balanced and accurate are
the ones issue 13 asks for (0.45, 0.50).
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

DATASETS = {  # name: (annotations, image root)
    "crowdpose": ("images/crowdpose/test_crowdpose.json", "images/crowdpose"),
    "ochuman": ("images/ochuman/test_ochuman.json", "images/ochuman"),
    "posetrack18": ("images/posetrack18/annotations/test_posetrack18_val.json", "images/posetrack18"),
}
PRESETS = ("fast", "balanced", "accurate")
FLOORS = {  # preset: AP floor per set
    "fast": {"crowdpose": 0.80, "ochuman": 0.20, "posetrack18": 0.19},
    "balanced": {"crowdpose": 0.80, "ochuman": 0.42, "posetrack18": 0.20},
    "accurate": {"crowdpose": 0.80, "ochuman": 0.42, "posetrack18": 0.22},
}
MEAN_FLOORS = {"fast": 0.40, "balanced": 0.45, "accurate": 0.50}


def load(name: str) -> KeypointDataset:
    annotations, root = DATASETS[name]
    return KeypointDataset.load(media(annotations), media(root))


def livecap_results(dataset: KeypointDataset, tmp_path, preset: str) -> list[dict]:
    """Run the real command on every image folder of the dataset, in --stills mode."""
    results = []
    by_file = {path.resolve(): image_id for image_id, path in dataset.images.items()}
    for folder in sorted({path.parent for path in dataset.images.values()}):
        out = tmp_path / f"{folder.name}.jsonl"
        done = run_livecap("process", str(folder), "--stills", "--preset", preset, "--out", str(out))
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
def movenet_alone() -> dict[str, float]:
    return {name: keypoint_ap(load(name), movenet_alone_results(load(name))) for name in DATASETS}


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> dict[str, dict[str, float]]:
    """preset: {set: livecap AP}"""
    out = {}
    for preset in PRESETS:
        out[preset] = {}
        for name in DATASETS:
            dataset = load(name)
            out[preset][name] = keypoint_ap(dataset, livecap_results(dataset, tmp_path_factory.mktemp(name), preset))
    return out


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("name", list(DATASETS))
def test_keypoint_ap_meets_its_floor(scores, preset, name):
    assert scores[preset][name] >= FLOORS[preset][name], scores


@pytest.mark.parametrize("preset", PRESETS)
def test_mean_keypoint_ap_meets_its_floor(scores, preset):
    assert np.mean(list(scores[preset].values())) >= MEAN_FLOORS[preset], scores


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_beats_movenet_alone_on_every_set(scores, movenet_alone, preset):
    ours = scores[preset]
    assert all(ours[name] >= movenet_alone[name] for name in DATASETS), (ours, movenet_alone)
    assert np.mean(list(ours.values())) > np.mean(list(movenet_alone.values()))


def test_presets_are_ordered_on_every_set(scores):
    """accurate >= balanced >= fast - 0.01 on each set."""
    fast, balanced, accurate = (scores[p] for p in PRESETS)
    for name in DATASETS:
        assert balanced[name] >= fast[name] - 0.01, scores
        assert accurate[name] >= balanced[name] - 0.01, scores


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
