"""Builds the float16 variants of the models a GPU runs, checks each against its float32 model on person and hand
crops of the dev clips, and installs those that keep their accuracy into the user model folder, where livecap picks
them whenever CUDA really runs (`--gpu-precision float32` or the setting gpu_precision = "float32" keeps float32).

    pip install onnx   # beside livecap's onnxruntime; livecap itself does not need it
    PYTHONPATH=$PWD python tools/fp16_models.py [--out DIR] [--models NAME ...] [--frames N]

Not shipped: every install would carry 54 MB more (the shipped models are 97 MB) for the users with an NVIDIA GPU,
and a few minutes of this script make the same bytes (REFERENCE_SHA256). The float models' float16 weights are
folded into plain initializers first, then onnxruntime.transformers.float16 converts the graph with keep_io_types:
inputs and outputs stay float32 (int32), so the wrappers do not change. --out (default: the user model folder) gets
the files and a catalog.json entry each (SHA256, variant_of, precision), merged into a catalog.json already there.

The check runs on the CPU: ONNX Runtime runs the float16 file there with float32 arithmetic, which shows the weights'
rounding; a float32 copy that also rounds every activation to float16 (emulate_float16) shows what a GPU's float16
storage adds. Both must keep the bound (mean landmark shift, presence change). tools/gpu_bench.py measures the
float16 models against float32 on CUDA itself where a GPU is lent.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from livecap.models.catalog import CATALOG_FILE, ModelCatalog, sha256_of, user_model_dir  # noqa: E402
from quantize_models import (CALIBRATION_CLIPS, CHECK_CLIPS, CROP_SIZES, DETECTOR_SIDE,  # noqa: E402
                             LANDMARK_MODELS, LandmarkModel, check, check_detector, detector_inputs, detector_parts,
                             fold_weight_casts, pipeline_crops)

MODELS = {**LANDMARK_MODELS,
          "blazepose_landmark_heavy": LandmarkModel("blazepose_pose_landmark_heavy.onnx", ("Identity", "Identity_1"),
                                                    33, 5, "people"),
          "movenet_multipose_lightning": None}  # the detector: checked person by person (check_detector)
# the bytes this script made on 2026-12-07 (onnx 1.23.2, onnxruntime 1.32.0): the same versions make the same files;
# another version may write other bytes, which the check then measures anew (the catalog.json written pins them)
REFERENCE_SHA256 = {
    "blazepose_pose_landmark_lite_fp16.onnx": "856f84bf61efca74cc33e161eb5b881c0265651a91bf2f4d587c96766d46f3d0",
    "blazepose_pose_landmark_full_fp16.onnx": "0233e30a8c31fe4a2ff1618e6b371ec999fde6c6b01a8dc0393c583e92ba2e2a",
    "blazepose_pose_landmark_heavy_fp16.onnx": "98e89510d0d43e633b7499ece2e5800723d79e67e738f03ac3d17dea5a7f936e",
    "mediapipe_hand_landmark_lite_fp16.onnx": "4fbe5ebaabaecf3fdc12f23b8d158156cff660385a22b8fb9159ca7bd12de58d",
    "mediapipe_hand_landmark_full_fp16.onnx": "febe28347060d627aca3fd265f5eb9f8027d00209fb31de9437962fd6ee5dd81",
    "movenet_multipose_lightning_fp16.onnx": "79e0dd077a50fe1e71a53f786d94e0e4b721001ae383b7f5915c686a2123babb",
}
# the bound a float16 variant keeps to be installed: mean landmark shift under 0.5 px of a 256 crop (scaled to the
# model's input), presence (person score) change under 0.01
SHIFT_BOUND, PRESENCE_BOUND = 0.5, 0.01


def detector_float_nodes(nodes) -> list[str]:
    """MoveNet's nodes kept float32: its input's normalisation and its heads (and an uncut graph's decoding), whose
    float16 rounding moved its people 12 px (of 384) on average and their scores 0.43; its backbone, most of its
    work, is float16."""
    normalisation, _, heads = detector_parts(nodes)
    return [node.name for node in [*normalisation, *heads]]


def convert(source: Path, target: Path, keep_float: bool) -> None:
    """`source` as float16 weights and arithmetic, float32 (int32) inputs and outputs; with `keep_float`, the
    detector's normalisation, heads and decoding stay float32."""
    import onnx
    from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16
    with tempfile.TemporaryDirectory() as folder:
        folded = Path(folder) / source.name
        fold_weight_casts(source, folded)
        # Resize stays float32: the converter turns its scales into float16, which Resize does not take (MoveNet)
        model = onnx.load(str(folded))
        model = convert_float_to_float16(model, keep_io_types=True, op_block_list=[*DEFAULT_OP_BLOCK_LIST, "Resize"],
                                         node_block_list=detector_float_nodes(model.graph.node) if keep_float else [])
    onnx.save(model, str(target))


def emulate_float16(source: Path, target: Path, keep_float: bool) -> None:
    """A float32 graph that rounds as a GPU's float16 run does, for the check on a CPU: its weights rounded to
    float16 and every float activation rounded to float16 where it is stored (CUDA's kernels accumulate in float32
    but store float16 between nodes). ONNX Runtime runs the float16 file itself on a CPU with float32 arithmetic
    between its float16 weights (measured: the same shift with graph optimisations on and off), so that file alone
    shows the weights' rounding only."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    with tempfile.TemporaryDirectory() as folder:
        folded = Path(folder) / source.name
        fold_weight_casts(source, folded)
        model = onnx.shape_inference.infer_shapes(onnx.load(str(folded)))
    graph = model.graph
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT:
            value = numpy_helper.to_array(init).astype(np.float16).astype(np.float32)
            init.CopyFrom(numpy_helper.from_array(value, init.name))
    floats = {v.name for v in graph.value_info if v.type.tensor_type.elem_type == TensorProto.FLOAT}
    kept = set(detector_float_nodes(graph.node)) if keep_float else set()
    nodes = []
    for node in graph.node:
        nodes.append(node)
        for index, name in enumerate(node.output):
            if name in floats and node.name not in kept:
                node.output[index] = f"{name}_float32"
                nodes += [helper.make_node("Cast", [f"{name}_float32"], [f"{name}_float16"], to=TensorProto.FLOAT16),
                          helper.make_node("Cast", [f"{name}_float16"], [name], to=TensorProto.FLOAT)]
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.save(model, str(target))


def holds(shift_mean: float, presence_change: float, input_size: int) -> bool:
    return shift_mean < SHIFT_BOUND * input_size / 256 and presence_change < PRESENCE_BOUND


def catalog_entry(float_entry, target: Path) -> dict:
    return {"name": f"{float_entry.name}_fp16", "file": target.name, "sha256": sha256_of(target),
            "role": float_entry.role, "format": float_entry.format, "license": float_entry.license,
            "variant_of": float_entry.name, "precision": "float16",
            "origin": f"{float_entry.path.name} (sha256 {float_entry.sha256[:12]}...) converted by "
                      f"tools/fp16_models.py: float16 weights and arithmetic, float32 inputs and outputs"}


def install(out: Path, entries: list[dict]) -> None:
    path = out / CATALOG_FILE
    catalog = json.loads(path.read_text()) if path.is_file() else {"format": 1, "models": []}
    names = {e["name"] for e in entries}
    catalog["models"] = [m for m in catalog["models"] if m["name"] not in names] + entries
    path.write_text(json.dumps(catalog, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--out", type=Path, default=user_model_dir(), help="default: the user model folder")
    parser.add_argument("--frames", type=int, default=15, help="frames per dev clip the check cuts crops from")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    shipped = ModelCatalog(user_dir="/nonexistent")
    clips = CALIBRATION_CLIPS + CHECK_CLIPS
    crops = pipeline_crops(clips, args.frames)
    print(f"check crops: {len(crops.people)} people, {len(crops.hands)} hands from {args.frames} frames of each of "
          f"{', '.join(c.name for c in clips)}")
    installed, figures = [], {}
    for name in args.models:
        entry = shipped.require(name)
        target = args.out / f"{entry.path.stem}_fp16.onnx"
        spec = MODELS[name]
        convert(entry.path, target, keep_float=spec is None)
        same = sha256_of(target) == REFERENCE_SHA256.get(target.name)
        print(f"{target.name}: {'the reference build' if same else 'NOT the reference build'}'s bytes")
        emulated = args.out / f"{entry.path.stem}_fp16_emulated.onnx"
        emulate_float16(entry.path, emulated, keep_float=spec is None)
        if spec is None:
            frames = detector_inputs(clips, args.frames)
            result, gpu_like, size = check_detector(target, frames), check_detector(emulated, frames), DETECTOR_SIDE
        else:
            size, checked = CROP_SIZES[spec.crops], getattr(crops, spec.crops)
            result, gpu_like = check(spec, target, checked), check(spec, emulated, checked)
        emulated.unlink()
        verdict = all(holds(r.shift_mean, r.presence_change, size) for r in (result, gpu_like))
        figures[name] = {"file_on_cpu": asdict(result), "float16_activations": asdict(gpu_like),
                         "mb_float32": entry.path.stat().st_size / 1e6, "mb_float16": target.stat().st_size / 1e6,
                         "installed": verdict}
        print(f"{name}: the float16 file on the CPU: {result.line()}; float16 activations (emulated): "
              f"{gpu_like.line()}; {figures[name]['mb_float32']:.1f} -> {figures[name]['mb_float16']:.1f} MB: "
              f"{'installed' if verdict else 'NOT installed (accuracy bound not kept)'}", flush=True)
        if verdict:
            installed.append(catalog_entry(entry, target))
        else:
            target.unlink()
    install(args.out, installed)
    print(f"{len(installed)} float16 variants in {args.out / CATALOG_FILE}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
