"""People detection: who is in the frame, with a box and COCO-17 keypoints each (MoveNet MultiPose)."""

from __future__ import annotations

import cv2
import numpy as np

from livecap.models.crop import apply_affine, crop_to_image_matrix, image_to_crop_matrix
from livecap.models.movenet_decode import PEOPLE, decode_heads, head_order
from livecap.models.runtime import OnnxModel
from livecap.types import PeopleDetections, Roi, SearchRegion

MAX_PEOPLE = PEOPLE  # MoveNet MultiPose's fixed output rows: a run that returns this many may have missed others
GRAPH_OUTPUT = "output_0"  # the uncut graph's decoded people (the shipped model ends at its heads)
# A person shorter than this in MoveNet's input is often missed: of the dev videos' reference people, 0.23 were
# found below 32 input pixels, 0.73 at 32-48, 0.87 at 48-64 and 0.88-0.91 above
MIN_PERSON_INPUT = 64
# a person whose box comes this close (a share of the region's long side) to a region's edge inside the image is cut
# by it (MoveNet draws a cut person's box to the cut)
EDGE_MARGIN = 0.02

def letterbox_shape(width: int, height: int, long_side: int, multiple: int = 32) -> tuple[float, int, int]:
    """Scale factor and padded input size (w, h) that keep the aspect ratio, padding bottom/right."""
    scale = long_side / max(width, height)
    pad_w = int(np.ceil(width * scale / multiple) * multiple)
    pad_h = int(np.ceil(height * scale / multiple) * multiple)
    return scale, pad_w, pad_h


def decode_movenet(raw: np.ndarray, scale: float, pad_w: int, pad_h: int, min_score: float) -> PeopleDetections:
    """Raw [1, 6, 56] output to image-pixel people, best first."""
    people = raw.reshape(-1, 56)
    people = people[people[:, 55] >= min_score]
    people = people[np.argsort(-people[:, 55])]
    keypoints = people[:, :51].reshape(-1, 17, 3)
    coco = np.empty_like(keypoints)
    coco[..., 0] = keypoints[..., 1] * pad_w / scale
    coco[..., 1] = keypoints[..., 0] * pad_h / scale
    coco[..., 2] = keypoints[..., 2]
    ymin, xmin, ymax, xmax = people[:, 51], people[:, 52], people[:, 53], people[:, 54]
    boxes = np.stack([xmin * pad_w, ymin * pad_h, xmax * pad_w, ymax * pad_h], axis=1) / scale
    return PeopleDetections(boxes=boxes.astype(np.float32), scores=people[:, 55].astype(np.float32),
                            keypoints=coco.astype(np.float32))


class MoveNetMultiPose:
    """Bottom-up detector of up to six people with COCO-17 keypoints.

    Its usable scale depends on how large people are in its input, so it may run at several input sizes (long
    side in pixels, aspect kept): one per call of a sequence (`pass_index`), or all on a still image (`run` each;
    livecap.pose.similarity.merge_people joins them)."""

    def __init__(self, model: OnnxModel, long_sides: int | tuple[int, ...] = 256, min_score: float = 0.2):
        self.model = model
        self.long_sides = (long_sides,) if isinstance(long_sides, int) else tuple(long_sides)
        self.min_score = min_score

    @property
    def long_side(self) -> int:
        return self.long_sides[0]

    def sides_for(self, width: int, height: int) -> tuple[int, ...]:
        """The input sizes a still image gets all at once: the first always, a larger one only up to the image's own
        long side, so small stills do not pay for every size (the dev images are all 640 pixels or more; a video
        picks its sizes by its people's size instead, see side_for_run)."""
        long_side = max(width, height)
        return self.long_sides[:1] + tuple(side for side in self.long_sides[1:] if side <= long_side)

    def __call__(self, image_rgb: np.ndarray, pass_index: int = 0,
                 smallest: float | None = None) -> PeopleDetections:
        """One run of a sequence, at the input size `side_for_run` picks."""
        height, width = image_rgb.shape[:2]
        return self.run(image_rgb, self.side_for_run(width, height, pass_index, smallest))

    def follow_side(self, width: int, height: int, smallest: float) -> int:
        """The smallest input size that shows a body `smallest` image pixels tall at least MIN_PERSON_INPUT pixels
        tall in an image of this size (the largest when none does)."""
        scale = 1.0 / max(width, height)
        return next((side for side in self.long_sides if smallest * side * scale >= MIN_PERSON_INPUT),
                    self.long_sides[-1])

    def search(self, image_rgb: np.ndarray, region: SearchRegion) -> PeopleDetections:
        """The people in one region of the image, seen at the scale the whole image's run would show its body at
        (follow_side), so at a cost in proportion to the region's area. A person the region's edge cuts (not the
        image's) is dropped: the whole image's runs see them whole."""
        height, width = image_rgb.shape[:2]
        x1, y1 = (max(0, int(np.floor(v))) for v in region.box[:2])
        x2, y2 = min(width, int(np.ceil(region.box[2]))), min(height, int(np.ceil(region.box[3])))
        if x2 - x1 < 2 or y2 - y1 < 2:
            return PeopleDetections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                                    np.zeros((0, 17, 3), np.float32))
        scale = self.follow_side(width, height, region.body_size) / max(width, height)
        found = self.run(image_rgb[y1:y2, x1:x2], max(32, round(max(x2 - x1, y2 - y1) * scale)))
        offset = np.array([x1, y1, x1, y1], np.float32)
        boxes, keypoints = found.boxes + offset, found.keypoints.copy()
        keypoints[..., :2] += offset[:2]
        cut = [x1 > 0, y1 > 0, x2 < width, y2 < height]  # the region's edges that lie inside the image
        margin = EDGE_MARGIN * max(x2 - x1, y2 - y1)
        inside = np.ones(len(boxes), bool)
        for side, (edge, is_cut) in enumerate(zip((x1, y1, x2, y2), cut)):
            if is_cut:
                inside &= (boxes[:, side] - edge >= margin) if side < 2 else (edge - boxes[:, side] >= margin)
        return PeopleDetections(boxes[inside], found.scores[inside], keypoints[inside])

    def side_for_run(self, width: int, height: int, pass_index: int, smallest: float | None) -> int:
        """Every other run, the smallest size that shows the smallest person followed or looked for (`smallest`:
        their height in image pixels) at least MIN_PERSON_INPUT pixels tall (the largest when none does; the first,
        native size when no one is followed); the runs between take the larger sizes in turn, for people smaller
        than anyone followed (a larger input finds large people about as well). Sizes beyond the image's own are
        used too: upsampled, a small person is found where the native size misses them (armwrestling's
        340 x 256 bystanders: 0.29 of them found at 256, 0.90 at 384)."""
        follow = self.long_sides[0] if smallest is None else self.follow_side(width, height, smallest)
        larger = [side for side in self.long_sides if side > follow]
        if pass_index % 2 == 0 or not larger:
            return follow
        return larger[(pass_index // 2) % len(larger)]

    def run(self, image_rgb: np.ndarray, long_side: int) -> PeopleDetections:
        height, width = image_rgb.shape[:2]
        scale, pad_w, pad_h = letterbox_shape(width, height, long_side)
        return decode_movenet(self.raw(letterboxed(image_rgb, long_side)), scale, pad_w, pad_h, self.min_score)

    def raw(self, canvas: np.ndarray) -> np.ndarray:
        """The graph's [1, 6, 56] people for a letterboxed input: decoded from the model's heads (the shipped
        model), or its own output where the model still ends in the graph's decoding."""
        feeds = {self.model.input_names[0]: canvas}
        if GRAPH_OUTPUT in self.model.output_names:
            return self.model.run([GRAPH_OUTPUT], feeds)[0]
        return decode_heads(*self.model.run(head_order(self.model.output_names), feeds))


def letterboxed(image_rgb: np.ndarray, long_side: int) -> np.ndarray:
    """MoveNet's input: the image scaled to `long_side` (aspect kept), padded bottom and right (letterbox_shape)."""
    height, width = image_rgb.shape[:2]
    scale, pad_w, pad_h = letterbox_shape(width, height, long_side)
    new_w, new_h = min(pad_w, round(width * scale)), min(pad_h, round(height * scale))
    canvas = np.zeros((1, pad_h, pad_w, 3), np.int32)
    # area averaging to shrink, bilinear to enlarge (area resampling enlarges by repeating pixels)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    canvas[0, :new_h, :new_w] = cv2.resize(image_rgb, (new_w, new_h), interpolation=interpolation)
    return canvas


class MoveNetSinglePose:
    """Top-down COCO-17 keypoints of one person (MoveNet SinglePose Thunder) on their rotation-aligned crop,
    the same square the landmark model sees: a second opinion on each body, made on that body alone."""

    CROP_SIZE = 256

    def __init__(self, model: OnnxModel):
        self.model = model

    def __call__(self, image_rgb: np.ndarray, rois: list[Roi]) -> list[np.ndarray]:
        """17 x 3 (x, y in image pixels, score) per crop."""
        out = []
        for roi in rois:
            patch = cv2.warpAffine(image_rgb, image_to_crop_matrix(roi, self.CROP_SIZE),
                                   (self.CROP_SIZE, self.CROP_SIZE), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_CONSTANT)
            raw = self.model.run(None, {self.model.input_names[0]: patch[None].astype(np.int32)})[0]
            yx_score = raw.reshape(17, 3)
            points = np.empty((17, 3), np.float32)
            points[:, :2] = apply_affine(crop_to_image_matrix(roi, self.CROP_SIZE),
                                         yx_score[:, [1, 0]].astype(np.float64) * self.CROP_SIZE)
            points[:, 2] = yx_score[:, 2]
            out.append(points)
        return out
