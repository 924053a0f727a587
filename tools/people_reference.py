"""The reference pass of the people benchmark: who is visible in each frame of a video, found with no tracking
by the strongest detectors at hand (people_bench scores the tracked people against it)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from people_bench import MIN_REFERENCE_KEYPOINTS, box_iou_matrix, confident_count, match_boxes, merge_passes
from livecap.models.movenet import MoveNetMultiPose
from livecap.types import PeopleDetections
from livecap.models.runtime import OnnxModel


class RtmdetPeople:
    """RTMDet-nano person boxes (mmdeploy end2end ONNX, NMS inside). Reference only: its weights come from the
    shared data folder and are never shipped."""

    MEAN, STD = np.array([123.675, 116.28, 103.53], np.float32), np.array([58.395, 57.12, 57.375], np.float32)

    def __init__(self, path: Path, long_side: int = 640, min_score: float = 0.5):
        self.model, self.long_side, self.min_score = OnnxModel(Path(path)), long_side, min_score

    def __call__(self, image_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        height, width = image_rgb.shape[:2]
        scale = self.long_side / max(height, width)
        new_w, new_h = round(width * scale), round(height * scale)
        canvas = np.zeros((int(np.ceil(new_h / 32) * 32), int(np.ceil(new_w / 32) * 32), 3), np.float32)
        canvas[:new_h, :new_w] = (cv2.resize(image_rgb, (new_w, new_h)).astype(np.float32) - self.MEAN) / self.STD
        dets, _ = self.model.run(None, {self.model.input_names[0]: canvas.transpose(2, 0, 1)[None]})
        dets = dets[0][dets[0][:, 4] >= self.min_score]
        return (dets[:, :4] / scale).astype(np.float32), dets[:, 4].astype(np.float32)


class ReferenceDetector:
    """Who is visible in one frame, with no tracking: MoveNet MultiPose at several aspect-correct input sizes,
    merged, plus RTMDet-nano person boxes; a box that no MoveNet pass explains (MoveNet returns at most six
    people, and misses people far from its native scale) gets MoveNet run on its own upscaled crop. People with
    fewer than MIN_REFERENCE_KEYPOINTS confident keypoints are left out. Boxes are RTMDet's where it agrees."""

    def __init__(self, movenet: OnnxModel, rtmdet_path: Path | None, sides=(256, 384, 512)):
        self.passes = [MoveNetMultiPose(movenet, side) for side in sides]
        self.crop_pass = MoveNetMultiPose(movenet, 256)
        self.boxes = RtmdetPeople(rtmdet_path) if rtmdet_path else None

    def __call__(self, image_rgb: np.ndarray) -> PeopleDetections:
        found = merge_passes([p(image_rgb) for p in self.passes])
        found = _keep(found, confident_count(found.keypoints) >= MIN_REFERENCE_KEYPOINTS)
        if self.boxes is None:
            return found
        boxes, scores = self.boxes(image_rgb)
        pairs = match_boxes(found.boxes, boxes, 0.5)
        for i, j in pairs:
            found.boxes[i] = boxes[j]
        extra = [self._from_crop(image_rgb, boxes[j], scores[j])
                 for j in sorted(set(range(len(boxes))) - {j for _, j in pairs})]
        extra = [e for e in extra if e is not None]
        return merge_passes([found, *extra]) if extra else found

    def _from_crop(self, image_rgb: np.ndarray, box: np.ndarray, score: float) -> PeopleDetections | None:
        side = 1.25 * float(max(box[2] - box[0], box[3] - box[1]))
        x0, y0 = (box[0] + box[2]) / 2 - side / 2, (box[1] + box[3]) / 2 - side / 2
        to_crop = np.array([[256 / side, 0, -x0 * 256 / side], [0, 256 / side, -y0 * 256 / side]])
        crop = cv2.warpAffine(image_rgb, to_crop, (256, 256), flags=cv2.INTER_LINEAR)
        found = self.crop_pass(crop)
        if not len(found):
            return None
        found.keypoints[..., :2] = found.keypoints[..., :2] * side / 256 + [x0, y0]
        found.boxes = found.boxes * side / 256 + np.array([x0, y0, x0, y0], np.float32)
        best = int(np.argmax(box_iou_matrix(box, found.boxes)[0]))
        if box_iou_matrix(box, found.boxes[best])[0, 0] < 0.5 or confident_count(
                found.keypoints[best]) < MIN_REFERENCE_KEYPOINTS:
            return None
        return PeopleDetections(box[None].astype(np.float32), np.array([score], np.float32),
                                found.keypoints[best:best + 1])


def _keep(found: PeopleDetections, mask: np.ndarray) -> PeopleDetections:
    return PeopleDetections(found.boxes[mask], found.scores[mask], found.keypoints[mask])


def read_video(path: Path, max_frames: int | None = None) -> list[np.ndarray]:
    capture, frames = cv2.VideoCapture(str(path)), []
    while max_frames is None or len(frames) < max_frames:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames


def reference_pass(video: Path, detector: ReferenceDetector, max_frames: int | None = None,
                   cache: Path | None = None) -> list[PeopleDetections]:
    """The reference people of every frame; cached as .npz when a cache folder is given (it is slow)."""
    file = cache / f"reference_{Path(video).stem}_{max_frames or 'all'}.npz" if cache else None
    if file is not None and file.exists():
        data = np.load(file)
        split = np.cumsum(data["counts"])[:-1]
        return [PeopleDetections(b, s, k) for b, s, k in zip(np.split(data["boxes"], split),
                                                              np.split(data["scores"], split),
                                                              np.split(data["keypoints"], split))]
    found = [detector(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)) for image in read_video(video, max_frames)]
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(file, counts=[len(f) for f in found], boxes=np.concatenate([f.boxes for f in found]),
                 scores=np.concatenate([f.scores for f in found]),
                 keypoints=np.concatenate([f.keypoints for f in found]))
    return found
