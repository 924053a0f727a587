#!/usr/bin/env python3
"""PCK of the MediaPipe hand landmark models on COCO-style hand crops (21 points, MediaPipe order).

    python tools/eval_hands.py [--media DIR] [--models NAME ...] [--margins 1.5 2.0] [--draw DIR]

For each set (freihand, onehand10k, rhd under DIR/images/hands) and each model, crops every annotated hand in
three ways: "image" (the whole image padded to a square and resized to 224), "box M" (a square of M x the longer
side of the annotated box, around its centre) and "box M rot" (the same square turned so that the wrist -> middle
finger base points up, as MediaPipe turns its hand crops; the turn comes from the ground truth here, as it would
come from the pose's wrist and hand landmarks at run time). It runs the model, maps the 21 landmarks back to the
image and scores PCK@0.2: the share of labelled points within 0.2 x the longer side of the box from the truth.
Then the crops livecap places at run time (livecap.models.hands): "body" from the wrist, index and pinky points as
BlazePose gives them (emulated from the truth: BlazePose's index and pinky lie between the knuckle and the next
joint) and "own" from the hand's own points, as for the next frame; hands whose points for a crop are unlabelled
are left out.
A maintainer tool: prints numbers, asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import cv2
import numpy as np

from livecap.models.catalog import ModelCatalog
from livecap.models.hands import PALM_POINTS, MediaPipeHandLandmarker, hand_roi_from_body, hand_roi_from_landmarks
from livecap.models.runtime import OnnxModel

CROP_SIZE = 224
SETS = ("freihand", "onehand10k", "rhd")
LANDMARKS, PRESENCE = "Identity", "Identity_1"
WRIST, MIDDLE_BASE = 0, 9
# rhd's annotations list each finger tip first (mmpose's rhd2d order); the others go from the palm out, as
# MediaPipe does. Index i of MediaPipe order = this index of rhd order.
RHD_TO_MEDIAPIPE = np.array([0, 4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 16, 15, 14, 13, 20, 19, 18, 17])


def pck(predicted: np.ndarray, truth: np.ndarray, labelled: np.ndarray, box_size: float,
        threshold: float = 0.2) -> tuple[int, int]:
    """(points within threshold x box_size of the truth, labelled points) for one hand."""
    close = np.linalg.norm(predicted - truth, axis=1) <= threshold * box_size
    return int(np.sum(close & labelled)), int(np.sum(labelled))


def square_region(image_shape: tuple[int, int], box: list[float] | None, margin: float) -> tuple[float, float, float]:
    """(centre x, centre y, side) of the square cut: around the box, or the whole image when box is None."""
    if box is None:
        height, width = image_shape
        return width / 2, height / 2, float(max(width, height))
    x, y, w, h = box
    return x + w / 2, y + h / 2, margin * max(w, h)


def upright_rotation(points: np.ndarray, labelled: np.ndarray) -> float:
    """Radians (clockwise in the image) that the wrist -> middle finger base (MediaPipe 0 -> 9) is turned from up;
    0 when either point is unlabelled."""
    if not (labelled[WRIST] and labelled[MIDDLE_BASE]):
        return 0.0
    dx, dy = points[MIDDLE_BASE] - points[WRIST]
    return float(np.arctan2(dx, -dy))


def crop_hand(image_rgb: np.ndarray, region: tuple[float, float, float],
              rotation: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """224 x 224 x 3 float crop (0..1) of the square region turned by rotation, and the 2 x 3 matrix mapping
    crop -> image pixels."""
    cx, cy, side = region
    k = side / CROP_SIZE
    cos, sin = k * np.cos(rotation), k * np.sin(rotation)
    half = CROP_SIZE / 2
    to_image = np.array([[cos, -sin, cx - cos * half + sin * half], [sin, cos, cy - sin * half - cos * half]])
    crop = cv2.warpAffine(image_rgb, cv2.invertAffineTransform(to_image), (CROP_SIZE, CROP_SIZE),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return crop.astype(np.float32) / 255.0, to_image


def load_set(folder: Path, name: str) -> list[dict]:
    """[{image, box, truth (21 x 2), labelled (21,)}] from test_NAME.json."""
    data = json.loads((folder / f"test_{name}.json").read_text())
    files = {im["id"]: im["file_name"] for im in data["images"]}
    hands = []
    for ann in data["annotations"]:
        points = np.asarray(ann["keypoints"], np.float64).reshape(21, 3)
        if name == "rhd":
            points = points[RHD_TO_MEDIAPIPE]
        hands.append({"image": folder / files[ann["image_id"]], "box": ann["bbox"],
                      "truth": points[:, :2], "labelled": points[:, 2] > 0})
    return hands


def evaluate(model: OnnxModel, hands: list[dict], margin: float | None, upright: bool = False,
             draw: Path | None = None, tag: str = "") -> dict:
    """PCK@0.2 over the hands, with mean presence; margin None crops the whole image, upright turns the crop."""
    hits = total = 0
    presence = []
    for hand in hands:
        image = cv2.cvtColor(cv2.imread(str(hand["image"])), cv2.COLOR_BGR2RGB)
        region = square_region(image.shape[:2], None if margin is None else hand["box"], margin or 1.0)
        crop, to_image = crop_hand(image, region, upright_rotation(hand["truth"], hand["labelled"]) if upright else 0.0)
        raw, present = model.run([LANDMARKS, PRESENCE], {model.input_names[0]: crop[None]})
        crop_xy = raw.reshape(21, 3)[:, :2]
        predicted = crop_xy @ to_image[:, :2].T + to_image[:, 2]
        hit, count = pck(predicted, hand["truth"], hand["labelled"], max(hand["box"][2:]))
        hits, total = hits + hit, total + count
        presence.append(float(present[0, 0]))
        if draw is not None:
            _draw(image, predicted, hand, draw / f"{tag}_{hand['image'].stem}.png")
    return {"pck": hits / max(total, 1), "points": total, "presence": float(np.mean(presence))}


def run_time_crops(hand: dict) -> dict:
    """{"body": Roi, "own": Roi} of the crops livecap would place for this hand, where its labels allow."""
    truth, labelled = hand["truth"], hand["labelled"]
    crops = {}
    if labelled[[0, 5, 6, 17, 18]].all():
        crops["body"] = hand_roi_from_body(truth[0], (truth[17] + truth[18]) / 2, (truth[5] + truth[6]) / 2)
    if labelled[PALM_POINTS].all():
        crops["own"] = hand_roi_from_landmarks(np.column_stack([truth, np.ones(21)]))
    return crops


def evaluate_run_time(model: OnnxModel, hands: list[dict]) -> dict:
    """PCK@0.2 and labelled points per kind of run-time crop."""
    landmarker, hits = MediaPipeHandLandmarker(model), {"body": [0, 0], "own": [0, 0]}
    for hand in hands:
        image = cv2.cvtColor(cv2.imread(str(hand["image"])), cv2.COLOR_BGR2RGB)
        crops = run_time_crops(hand)
        for kind, found in zip(crops, landmarker(image, list(crops.values()))):
            near, labelled = pck(found.image[:, :2], hand["truth"], hand["labelled"], max(hand["box"][2:]))
            hits[kind][0] += near
            hits[kind][1] += labelled
    return {kind: (near / max(labelled, 1), labelled) for kind, (near, labelled) in hits.items()}


def _draw(image_rgb: np.ndarray, predicted: np.ndarray, hand: dict, path: Path) -> None:
    canvas = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)
    for (px, py), (tx, ty), labelled in zip(predicted, hand["truth"], hand["labelled"]):
        if labelled:
            cv2.circle(canvas, (int(tx), int(ty)), 3, (0, 255, 0), -1)  # truth: green
        cv2.circle(canvas, (int(px), int(py)), 3, (0, 0, 255), -1)  # model: red
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), canvas)


def main() -> int:
    default_media = Path(os.environ.get("LIVECAP_MEDIA", Path(__file__).resolve().parents[2] / "shared" / "media"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--media", type=Path, default=default_media, help="media folder (default: %(default)s)")
    parser.add_argument("--models", nargs="+", default=["hand_landmark_lite", "hand_landmark_full"])
    parser.add_argument("--margins", nargs="+", type=float, default=[1.5, 2.0])
    parser.add_argument("--draw", type=Path, help="write PNGs of predictions (red) and truth (green) here")
    args = parser.parse_args()

    catalog = ModelCatalog()
    sets = {name: load_set(args.media / "images" / "hands" / name, name) for name in SETS}
    print(f"{'model':20s} {'crop':13s} " + " ".join(f"{name + ' PCK@0.2':>20s}" for name in SETS)
          + "   (mean presence per set)")
    for model_name in args.models:
        model = OnnxModel(catalog.require(model_name).path)
        crops = [(None, False), *((m, False) for m in args.margins), *((m, True) for m in args.margins)]
        for margin, upright in crops:
            crop = "image" if margin is None else f"box {margin:g}" + (" rot" if upright else "")
            results = [evaluate(model, sets[name], margin, upright, args.draw,
                                f"{model_name}_{crop.replace(' ', '')}_{name}") for name in SETS]
            print(f"{model_name:20s} {crop:13s} "
                  + " ".join(f"{r['pck']:11.3f} ({r['points']:3d} pts)" for r in results)
                  + "   " + " ".join(f"{r['presence']:.2f}" for r in results))
        run_time = [evaluate_run_time(model, sets[name]) for name in SETS]
        for kind in ("body", "own"):
            print(f"{model_name:20s} {'run-time ' + kind:13s} "
                  + " ".join(f"{r[kind][0]:11.3f} ({r[kind][1]:3d} pts)" for r in run_time))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
