"""COCO keypoint AP of `livecap process --stills` on the dev images with ground truth (shared/media/images), per
preset, next to MoveNet MultiPose alone: at 256 (the detector as it ran before input sizes followed the image) and
at the preset's own input sizes, merged as the pipeline merges them (the pipeline's own detector, alone).

Measured (onnxruntime CPU), crowdpose / ochuman / posetrack18 (mean):
fast 0.831 / 0.212 / 0.236 (0.426), balanced 0.833 / 0.446 / 0.245 (0.508), accurate 0.833 / 0.446 / 0.280 (0.519);
MoveNet alone at 256 0.776 / 0.188 / 0.068 (0.344); at fast's and balanced's sizes 0.790 / 0.386 / 0.257 (0.478),
at accurate's (with 640) 0.790 / 0.386 / 0.284 (0.487). Against their own detector alone, balanced and accurate
win on the mean, crowdpose and ochuman and lose on posetrack18 (0.245 against 0.257, 0.280 against 0.284): two
dancers one behind the other, whose second body BlazePose cannot hold apart from the first even with the first
masked. Fast loses on ochuman: BlazePose lite is unsure of its occluded people, and their lower scores rank
unannotated bystanders above them. Floors sit a little under; the mean floors of balanced and accurate are the
ones issue 13 asks for (0.45, 0.50).
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
from livecap.pose.similarity import merge_people
from livecap.settings import PipelineSettings

pytest.importorskip("pycocotools")

DATASETS = {  # name: (annotations, image root)
    "crowdpose": ("images/crowdpose/test_crowdpose.json", "images/crowdpose"),
    "ochuman": ("images/ochuman/test_ochuman.json", "images/ochuman"),
    "posetrack18": ("images/posetrack18/annotations/test_posetrack18_val.json", "images/posetrack18"),
}
PRESETS = ("fast", "balanced", "accurate")
FLOORS = {  # preset: AP floor per set
    "fast": {"crowdpose": 0.80, "ochuman": 0.20, "posetrack18": 0.22},
    "balanced": {"crowdpose": 0.80, "ochuman": 0.42, "posetrack18": 0.23},
    "accurate": {"crowdpose": 0.80, "ochuman": 0.42, "posetrack18": 0.26},
}
MEAN_FLOORS = {"fast": 0.40, "balanced": 0.45, "accurate": 0.50}
OWN_DETECTOR_COMPARED = ("balanced", "accurate")  # fast loses to its own detector on ochuman (see above)


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


def movenet_alone_results(dataset: KeypointDataset, sides: tuple[int, ...] = (256,)) -> list[dict]:
    """MoveNet alone, at each input size a still of that size gets, people merged as the pipeline merges them."""
    detector = MoveNetMultiPose(OnnxModel(ModelCatalog().require("movenet_multipose_lightning").path), sides)
    results = []
    for image_id, path in dataset.images.items():
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        found = merge_people([detector.run(rgb, side) for side in detector.sides_for(rgb.shape[1], rgb.shape[0])])
        results += [dataset.to_result(image_id, k, s) for k, s in zip(found.keypoints, found.scores)]
    return results


@pytest.fixture(scope="module")
def movenet_alone() -> dict[str, float]:
    return {name: keypoint_ap(load(name), movenet_alone_results(load(name))) for name in DATASETS}


@pytest.fixture(scope="module")
def own_detector_alone() -> dict[str, dict[str, float]]:
    """preset: {set: AP of MoveNet alone at that preset's input sizes}, for the presets compared with it"""
    out = {}
    for preset in OWN_DETECTOR_COMPARED:
        sides = PipelineSettings(preset=preset).preset_spec.detector_long_sides
        out[preset] = {name: keypoint_ap(load(name), movenet_alone_results(load(name), sides)) for name in DATASETS}
    return out


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


@pytest.mark.parametrize("preset", OWN_DETECTOR_COMPARED)
def test_the_default_and_accurate_presets_beat_their_own_detector_alone_on_the_dev_mean(scores, own_detector_alone,
                                                                                         preset):
    ours, alone = scores[preset], own_detector_alone[preset]
    assert np.mean(list(ours.values())) > np.mean(list(alone.values())) + 0.01, (ours, alone)
    assert ours["crowdpose"] > alone["crowdpose"] and ours["ochuman"] > alone["ochuman"], (ours, alone)


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
