"""How many of a video's reference people the landmark models can find at all, whatever the tracker does: every
reference person-frame is cropped from the reference's own keypoints and box, as the pipeline crops a detection,
at several sizes, and run through each BlazePose model, with no tracking. A crop finds the person when the model's
presence passes the tracker's threshold and the outline the pipeline publishes (`body_outline`) covers the
reference box at the recall rule's IoU (0.5). Where even the union over crops and models stays under a recall
target, no crop policy with these models reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

import people_bench as bp
from livecap.models.blazepose import BlazePoseLandmarker
from livecap.models.crop import box_roi, roi_from_coco17
from livecap.pose.similarity import body_outline
from livecap.settings import TrackerSettings
from livecap.types import PeopleDetections, Roi

SCALES = (0.8, 1.0, 1.25)  # crop sizes around each seed, relative to the pipeline's own


@dataclass
class Ceiling:
    person_frames: int
    own_crop: dict[str, float]  # per model: found with the pipeline's own detection crop
    any_crop: dict[str, float]  # per model: found by at least one of the crops
    any_model: float  # found by at least one crop of at least one model


def seed_crops(keypoints: np.ndarray, box: np.ndarray) -> list[Roi]:
    """The pipeline's detection crop first, then the box's, each at every scale."""
    seeds = [roi_from_coco17(keypoints, box), box_roi(box)]
    return [replace(seed, size=seed.size * scale) for seed in seeds for scale in SCALES]


def found(landmarks, box: np.ndarray, presence_threshold: float) -> bool:
    if landmarks.presence < presence_threshold:
        return False
    outline = body_outline(landmarks.image, landmarks.roi_points)
    return bool(bp.box_iou_matrix(box, outline)[0, 0] >= 0.5)


def ceiling(images: list[np.ndarray], reference: list[PeopleDetections],
            models: dict[str, BlazePoseLandmarker]) -> Ceiling:
    threshold = TrackerSettings().presence_threshold
    own = {name: 0 for name in models}
    best = {name: 0 for name in models}
    union = total = 0
    for image, people in zip(images, reference):
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        for keypoints, box in zip(people.keypoints, people.boxes):
            crops = seed_crops(keypoints, box)
            hits = {name: [found(lm, box, threshold) for lm in model(rgb, crops)] for name, model in models.items()}
            total += 1
            for name, row in hits.items():
                own[name] += row[SCALES.index(1.0)]
                best[name] += any(row)
            union += any(any(row) for row in hits.values())
    def share(count: int) -> float:
        return round(count / max(total, 1), 3)

    return Ceiling(total, {k: share(v) for k, v in own.items()}, {k: share(v) for k, v in best.items()},
                   share(union))
