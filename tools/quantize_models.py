"""Builds int8 variants of the landmark, hand and detector models (onnxruntime.quantization, static QDQ,
per-channel weights) by each recipe tried, calibrated on person and hand crops of the dev clips cut as the pipeline
cuts them, and checks each against its float model on crops of other clips: point shift, presence change, ms per crop.

    PYTHONPATH=$PWD python tools/quantize_models.py [--models NAME ...] [--out build/int8]

Prints one line per model and recipe, ending "HOLDS" where the variant keeps the bound a shipped int8 model must keep
(`holds`); none did on 2026-12-06, so none ships (figures: docs/benchmarks.md, "Int8 models"). A variant that holds
would be copied from --out into models/ with a catalog entry. Needs `pip install onnx` beside onnxruntime. The
calibration set is deterministic (fixed frames of fixed clips, the float models on one thread): two builds give the
same bytes.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from livecap.models.blazepose import BLAZEPOSE33, BlazePoseLandmarker, cut_crops  # noqa: E402
from livecap.models.crop import roi_from_coco17  # noqa: E402
from livecap.models.hands import cut_crops as cut_hand_crops, hand_roi_from_body  # noqa: E402
from livecap.models.movenet import MoveNetMultiPose, letterboxed  # noqa: E402
from livecap.models.movenet_decode import HEADS  # noqa: E402
from livecap.models.runtime import OnnxModel, RuntimeOptions  # noqa: E402

MODELS = ROOT / "models"
VIDEOS = ROOT / "tests" / "data" / "video"
# calibration: frames of these clips; the check: frames of the others (other people, other scenes)
CALIBRATION_CLIPS = (ROOT / "samples" / "two_people.mp4", VIDEOS / "vtest_300.mp4")
CHECK_CLIPS = (VIDEOS / "basketball_240p.mp4", VIDEOS / "armwrestling_truncated.mp4")
FRAMES_PER_CLIP = 30
DETECTOR_SIDE = 384  # finds the small people of vtest and basketball that 256 misses
MIN_PERSON_SCORE = 0.3
HAND_VISIBLE = 0.5  # a hand is cut where its wrist, pinky and index are this visible
CROP_SIZES = {"people": 256, "hands": 224}
SHIFT_BOUND, PRESENCE_BOUND = 1.5, 0.02


def clip_frames(path: Path, count: int) -> list[np.ndarray]:
    """`count` RGB frames spread evenly over the clip (fixed indices: the same frames on every run)."""
    capture = cv2.VideoCapture(str(path))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for index in np.linspace(0, total - 1, count + 2)[1:-1].astype(int):
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, bgr = capture.read()
        if ok:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    return frames


@dataclass(frozen=True)
class Crops:
    """The crops of a set of clips, as the pipeline cuts them: people (256) and their hands (224)."""
    people: np.ndarray
    hands: np.ndarray


def pipeline_crops(clips: tuple[Path, ...], frames_per_clip: int = FRAMES_PER_CLIP) -> Crops:
    """Crops of every person the float detector finds (one thread: the same crops on every run), and of each of
    their hands the float BlazePose full sees (wrist, pinky and index visible), cut from the body's points."""
    options = RuntimeOptions(["cpu"], 1)
    detector = MoveNetMultiPose(OnnxModel(MODELS / "movenet_multipose_lightning.onnx", options))
    body = BlazePoseLandmarker(OnnxModel(MODELS / "blazepose_pose_landmark_full.onnx", options))
    people, hands = [], []
    for clip in clips:
        for frame in clip_frames(clip, frames_per_clip):
            found = detector.run(frame, DETECTOR_SIDE)
            rois = [roi_from_coco17(found.keypoints[i], found.boxes[i])
                    for i in range(len(found)) if found.scores[i] >= MIN_PERSON_SCORE]
            if not rois:
                continue
            people.append(cut_crops(frame, rois))
            hand_rois = [hand_roi_from_body(*(person.image[BLAZEPOSE33.index(f"{side}_{point}")]
                                              for point in ("wrist", "pinky", "index")))
                         for person in body(frame, rois) if person.presence >= 0.5 for side in ("left", "right")
                         if (person.image[BLAZEPOSE33.indices(f"{side}_wrist", f"{side}_pinky", f"{side}_index"), 2]
                             >= HAND_VISIBLE).all()]
            if hand_rois:
                hands.append(cut_hand_crops(frame, hand_rois))
    return Crops(np.concatenate(people), np.concatenate(hands))


class FeedReader:
    """onnxruntime.quantization's CalibrationDataReader over one input's values, one at a time (the histogram
    calibrators need equal shapes in a run, which batches of one crop give)."""

    def __init__(self, input_name: str, values):
        self.feeds = iter([{input_name: value[None] if value.ndim == 3 else value} for value in values])

    def get_next(self):
        return next(self.feeds, None)

    def __iter__(self):  # onnxruntime.quantization.qdq_loss_debug iterates
        return self.feeds


@dataclass(frozen=True)
class Recipe:
    """How one model is quantized: its calibration method, activation symmetry, the op types quantized (None: all
    it can) and the nodes kept float."""
    method: str = "MinMax"  # MinMax, Percentile, Entropy
    symmetric_activations: bool = False
    op_types: tuple[str, ...] | None = None
    keep_float: tuple[str, ...] = ()


def fold_weight_casts(source: Path, target: Path) -> None:
    """`source` with its float16 weights cast to float32 in the graph (the hand models, BlazePose heavy) stored as
    float32 weights: the quantizer sees a Cast's output as an activation and would quantize those weights per tensor,
    at run time."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(str(source))
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    for node in list(graph.node):
        if node.op_type == "Cast" and node.input[0] in initializers:
            value = numpy_helper.to_array(initializers[node.input[0]]).astype(np.float32)
            graph.initializer.append(numpy_helper.from_array(value, node.output[0]))
            graph.node.remove(node)
    used = {name for node in graph.node for name in node.input}
    for init in [init for init in graph.initializer if init.name not in used]:
        graph.initializer.remove(init)
    onnx.save(model, str(target))


def quantize(source: Path, target: Path, values, recipe: Recipe) -> None:
    """Static QDQ quantization of `source`: per-channel int8 weights, uint8 activations (int8 when symmetric)
    calibrated on `values` of its first input."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    input_name = OnnxModel(source, RuntimeOptions(["cpu"], 1)).input_names[0]
    activations = QuantType.QInt8 if recipe.symmetric_activations else QuantType.QUInt8
    folded = target.with_name(target.stem + "_folded.onnx")
    fold_weight_casts(source, folded)
    quantize_static(str(folded), str(target), FeedReader(input_name, values), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=activations, weight_type=QuantType.QInt8,
                    calibrate_method=getattr(CalibrationMethod, recipe.method),
                    op_types_to_quantize=list(recipe.op_types) if recipe.op_types else None,
                    nodes_to_exclude=list(recipe.keep_float),
                    extra_options={"ActivationSymmetric": recipe.symmetric_activations},
                    calibration_providers=["CPUExecutionProvider"])
    folded.unlink()


@dataclass
class Check:
    shift_mean: float  # point shift, input pixels (crop or detector input), float vs int8, mean over crops and points
    shift_p95: float
    shift_mean_present: float  # the same over the crops where the float model finds a person (presence >= 0.5)
    presence_change: float  # mean |presence int8 - presence float|
    ms_float: float  # per crop, batch 1, median of repetitions
    ms_int8: float

    def line(self) -> str:
        return (f"shift mean {self.shift_mean:.2f} px p95 {self.shift_p95:.2f} px (people only: mean "
                f"{self.shift_mean_present:.2f} px), presence change "
                f"{self.presence_change:.3f}, {self.ms_float:.2f} -> {self.ms_int8:.2f} ms/crop "
                f"({self.ms_float / self.ms_int8:.2f}x)")


@dataclass(frozen=True)
class LandmarkModel:
    """A landmark model as the check reads it: its points' output (x, y first of each `stride` values, crop
    pixels), its presence output, and which crops it takes."""
    file: str
    outputs: tuple[str, str]
    points: int
    stride: int
    crops: str  # "people" or "hands" (a Crops field)


LANDMARK_MODELS = {
    "blazepose_landmark_lite": LandmarkModel("blazepose_pose_landmark_lite.onnx", ("Identity", "Identity_1"), 33, 5,
                                             "people"),
    "blazepose_landmark_full": LandmarkModel("blazepose_pose_landmark_full.onnx", ("Identity", "Identity_1"), 33, 5,
                                             "people"),
    "hand_landmark_lite": LandmarkModel("mediapipe_hand_landmark_lite.onnx", ("Identity", "Identity_1"), 21, 3,
                                        "hands"),
    "hand_landmark_full": LandmarkModel("mediapipe_hand_landmark_full.onnx", ("Identity", "Identity_1"), 21, 3,
                                        "hands"),
}


def landmark_outputs(spec: LandmarkModel, model: OnnxModel, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    raw, presence = model.run(list(spec.outputs), {model.input_names[0]: crops})
    return raw.reshape(len(crops), -1, spec.stride)[:, :spec.points, :2], presence[:, 0]


def ms_per_crop(models: list[OnnxModel], crops: np.ndarray, repetitions: int, output: str) -> list[float]:
    """Per-crop milliseconds of each model, batch 1, the models alternated so that both see the same load."""
    times = [[] for _ in models]
    for _ in range(repetitions):
        for model, spent in zip(models, times):
            start = time.perf_counter()
            for crop in crops:
                model.run([output], {model.input_names[0]: crop[None]})
            spent.append((time.perf_counter() - start) * 1000 / len(crops))
    return [float(np.median(t)) for t in times]


def check(spec: LandmarkModel, int8_path: Path, crops: np.ndarray, repetitions: int = 5, threads: int = 1) -> Check:
    """The int8 model against its float model on `crops`: landmark shift, presence change, and the time of each per
    crop (one thread, batch 1, alternated)."""
    options = RuntimeOptions(["cpu"], threads)
    float_model, int8_model = OnnxModel(MODELS / spec.file, options), OnnxModel(int8_path, options)
    xy_f, pres_f = landmark_outputs(spec, float_model, crops)
    xy_q, pres_q = landmark_outputs(spec, int8_model, crops)
    shift = np.linalg.norm(xy_q - xy_f, axis=-1)
    ms_f, ms_q = ms_per_crop([float_model, int8_model], crops[:16], repetitions, spec.outputs[0])
    present = pres_f >= 0.5
    return Check(float(shift.mean()), float(np.percentile(shift, 95)), float(shift[present].mean()),
                 float(np.abs(pres_q - pres_f).mean()), ms_f, ms_q)


DETECTOR_FILE = "movenet_multipose_lightning.onnx"


def detector_inputs(clips: tuple[Path, ...], frames_per_clip: int = FRAMES_PER_CLIP) -> list[np.ndarray]:
    """The detector's letterboxed int32 inputs (long side DETECTOR_SIDE) of fixed frames of the clips."""
    canvases = []
    for clip in clips:
        canvases += [letterboxed(frame, DETECTOR_SIDE) for frame in clip_frames(clip, frames_per_clip)]
    return canvases


def check_detector(int8_path: Path, canvases: list[np.ndarray], repetitions: int = 3, threads: int = 1) -> Check:
    """Each person the float detector finds (score >= MIN_PERSON_SCORE) against the int8 detector's nearest: the
    shift of their keypoints seen by both (input pixels), the change of their score; ms per frame."""
    options = RuntimeOptions(["cpu"], threads)
    float_detector, int8_detector = (MoveNetMultiPose(OnnxModel(path, options))
                                     for path in (MODELS / DETECTOR_FILE, int8_path))
    shifts, score_changes = [], []
    for canvas in canvases:
        size = np.array(canvas.shape[1:3], np.float64)  # H, W: the outputs are normalised to it (y, x)
        people_f, people_q = float_detector.raw(canvas)[0], int8_detector.raw(canvas)[0]
        for person in people_f[people_f[:, 55] >= MIN_PERSON_SCORE]:
            points_f = person[:51].reshape(17, 3)
            nearest = people_q[np.argmin([np.abs(q[:51].reshape(17, 3)[:, :2] - points_f[:, :2]).sum()
                                          for q in people_q])]
            points_q = nearest[:51].reshape(17, 3)
            seen = (points_f[:, 2] >= MIN_PERSON_SCORE) & (points_q[:, 2] >= MIN_PERSON_SCORE)
            shifts.extend(np.linalg.norm((points_q[seen, :2] - points_f[seen, :2]) * size, axis=1))
            score_changes.append(abs(float(nearest[55]) - float(person[55])))
    times = [[], []]
    for _ in range(repetitions):
        for detector, spent in zip((float_detector, int8_detector), times):
            start = time.perf_counter()
            for canvas in canvases[:16]:
                detector.raw(canvas)
            spent.append((time.perf_counter() - start) * 1000 / min(len(canvases), 16))
    shifts = np.asarray(shifts)
    return Check(float(shifts.mean()), float(np.percentile(shifts, 95)), float(shifts.mean()),
                 float(np.mean(score_changes)), float(np.median(times[0])), float(np.median(times[1])))


def high_gain_nodes(path: Path, limit: float) -> tuple[str, ...]:
    """The convolutions whose weights amplify their input's error most (a channel's summed |weight| above `limit`:
    BlazePose's folded batch norms reach 1240), with the nodes that make their input back to the previous
    convolution: kept float, their input is never rounded to 8 bits."""
    import onnx
    from onnx import numpy_helper
    graph = onnx.load(str(path)).graph
    weights = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    producer = {output: node for node in graph.node for output in node.output}
    for node in graph.node:  # float16 weights cast to float32 in the graph (the hand models)
        if node.op_type == "Cast" and node.input[0] in weights:
            weights[node.output[0]] = weights[node.input[0]].astype(np.float32)
    keep = set()
    for node in graph.node:
        kernel = weights.get(node.input[1]) if node.op_type == "Conv" else None
        if kernel is None or np.abs(kernel).reshape(len(kernel), -1).sum(axis=1).max() <= limit:
            continue
        keep.add(node.name)
        tensor = node.input[0]
        while tensor in producer:
            before = producer[tensor]
            keep.add(before.name)
            if before.op_type in ("Conv", "Add", "Concat", "MaxPool"):
                break
            tensor = before.input[0]
    return tuple(sorted(keep))


def landmark_recipes(path: Path) -> dict[str, Recipe]:
    """What was tried on each landmark model (the check prints each)."""
    return {"minmax": Recipe(), "percentile": Recipe("Percentile"), "minmax-symmetric": Recipe(
        symmetric_activations=True), "minmax-gain100-float": Recipe(keep_float=high_gain_nodes(path, 100.0)),
        "minmax-gain50-float": Recipe(keep_float=high_gain_nodes(path, 50.0))}


def detector_parts(nodes) -> tuple[list, list, list]:
    """MoveNet's graph in its three parts: the input's normalisation (Cast, Mul, Sub), the MobileNetV2-FPN feature
    extractor, its heads (kpt_regress, kpt_offset, kpt_heatmap, box_scale, box_offset, centre; the shipped model
    ends there, an uncut one goes on to decode them)."""
    nodes = list(nodes)
    backbone = next(i for i, node in enumerate(nodes) if "feature_extractor" in node.name)
    heads = next(i for i, node in enumerate(nodes) if any(f"/{head}/" in node.name for head in HEADS))
    return nodes[:backbone], nodes[backbone:heads], nodes[heads:]


def detector_recipes(path: Path) -> dict[str, Recipe]:
    import onnx
    normalisation, _, heads = (tuple(node.name for node in part)
                               for part in detector_parts(onnx.load(str(path)).graph.node))
    return {"minmax": Recipe(), "minmax-conv": Recipe(op_types=("Conv",)),
            "minmax-conv-heads-float": Recipe(op_types=("Conv",), keep_float=heads),
            "minmax-backbone-only": Recipe(keep_float=normalisation + heads)}


def holds(result: Check, crop_size: int) -> bool:
    """The bound a shipped int8 model keeps on held-out crops: mean shift under 1.5 px of a 256 crop (scaled to the
    model's input), presence (person score) change under 0.02, and faster."""
    return (result.shift_mean < SHIFT_BOUND * crop_size / 256 and result.presence_change < PRESENCE_BOUND
            and result.ms_int8 < result.ms_float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=[*LANDMARK_MODELS, "movenet_multipose_lightning"])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "int8", help="where the candidates are written")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    calibration, held_out = pipeline_crops(CALIBRATION_CLIPS), pipeline_crops(CHECK_CLIPS)
    print(f"crops: {len(calibration.people)} people, {len(calibration.hands)} hands to calibrate; "
          f"{len(held_out.people)} people, {len(held_out.hands)} hands held out")
    for name in args.models:
        if name in LANDMARK_MODELS:
            spec = LANDMARK_MODELS[name]
            source, crop_size = MODELS / spec.file, CROP_SIZES[spec.crops]
            recipes, values = landmark_recipes(source), getattr(calibration, spec.crops)
            run_check = lambda target: check(spec, target, getattr(held_out, spec.crops))  # noqa: E731
        else:
            source, crop_size = MODELS / DETECTOR_FILE, DETECTOR_SIDE
            recipes, values = detector_recipes(source), detector_inputs(CALIBRATION_CLIPS)
            held_out_frames = detector_inputs(CHECK_CLIPS)
            run_check = lambda target: check_detector(target, held_out_frames)  # noqa: E731
        for label, recipe in recipes.items():
            target = args.out / f"{source.stem}_int8_{label}.onnx"
            quantize(source, target, values, recipe)
            result = run_check(target)
            verdict = "HOLDS" if holds(result, crop_size) else "fails"
            print(f"{name} {label} ({len(recipe.keep_float)} nodes float): {result.line()}: {verdict}", flush=True)


if __name__ == "__main__":
    main()
