"""The steps of tools/build_models.py that run inside its build venv (TensorFlow, tf2onnx, onnx, onnxruntime).

    python model_build_steps.py STEP ARGS...

tools/build_models.py runs each step in a child process of the venv's interpreter, so that it needs only the
standard library itself, and so that onnxruntime warnings (printed to stderr from C++) can be caught per step.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from model_graph_edits import step_cut, step_pack_fp16  # tools/model_graph_edits.py, beside this file

BATCH_CHECK = 4
# The converted graph must give the original's numbers up to float32 round-off: the largest difference allowed,
# relative to the largest magnitude of that output (at least 1). Measured: up to 5e-3 px on BlazePose's
# 0..256 px landmarks (random input), 1e-4 px on the hands', 1e-5 on the TF.js models' outputs.
ORIGINAL_TOLERANCE = 1e-3
# The input size checked where a graph's height and width are symbolic (MoveNet MultiPose): its native scale.
FREE_SIZE = 256
# The cut graph against the uncut one: the same graph, so a tighter bound.
CUT_TOLERANCE = 1e-5
# Margins of the square crops cut around the photos' annotated boxes, as livecap cuts its crops.
# The face's is MediaPipe's face crop (1.5 x its landmarks' box), the eye's its iris crop (2.3 x the eye's width).
CROP_MARGIN = {"person": 1.25, "hand": 1.5, "face": 1.5, "eye": 2.3}


# --------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------

def step_tf2onnx(*argv: str) -> None:
    """python -m tf2onnx.convert with two fixes for tf2onnx 1.17.

    numpy 2 removed np.product, which tf2onnx still calls.
    Graph.extract_sub_graph_nodes returns the graph's nodes in the order of a
    set of Python objects (by memory address); the optimizers then visit the
    nodes in that order, so which of two duplicate constants survives, and its
    generated name, changed from run to run and so did the file's SHA256.
    Keeping the graph's own order makes the output byte-for-byte reproducible.
    """
    import runpy

    from tf2onnx.graph import Graph

    np.product = np.prod
    extract = Graph.extract_sub_graph_nodes

    def extract_in_graph_order(self, *args, **kwargs):
        keep = set(extract(self, *args, **kwargs))
        # dict.fromkeys: some rewriters (TFLite FullyConnected -> Gemm) list a node twice in the graph
        ordered = list(dict.fromkeys(node for node in self.get_nodes() if node in keep))
        assert len(ordered) == len(keep), "extract_sub_graph_nodes left the graph"
        return ordered

    Graph.extract_sub_graph_nodes = extract_in_graph_order
    sys.argv = ["tf2onnx.convert", *argv]
    runpy.run_module("tf2onnx.convert", run_name="__main__", alter_sys=True)


def step_patch_tfjs(src: str, dst: str) -> None:
    """Write a copy of a TF.js graph JSON with the op attributes it lacks.

    The TF.js converter drops attributes that have op-def defaults, and TArgs
    (the dtypes of a fused op's extra inputs), but tf2onnx rebuilds TF NodeDefs
    from the JSON to infer shapes, and TensorFlow rejects NodeDefs without them.
    """
    from google.protobuf import json_format
    from tensorflow.python.framework import op_def_registry

    model = json.loads(Path(src).read_text())
    added = Counter()
    for node in model["modelTopology"]["node"]:
        # tf2onnx renames FusedDepthwiseConv2dNative to TF's _FusedDepthwiseConv2dNative.
        op_def = op_def_registry.get(node["op"]) or op_def_registry.get("_" + node["op"])
        if op_def is None:
            continue
        attrs = node.setdefault("attr", {})
        for attr_def in op_def.attr:
            if attr_def.name in attrs:
                continue
            if attr_def.name == "TArgs":
                # The extra inputs (bias, ...) have the op's own dtype T.
                attrs["TArgs"] = {"list": {"type": [attrs["T"]["type"]] * int(attrs["num_args"]["i"])}}
            elif attr_def.HasField("default_value"):
                attrs[attr_def.name] = json_format.MessageToDict(attr_def.default_value)
            else:
                continue
            added[f"{node['op']}.{attr_def.name}"] += 1
    Path(dst).write_text(json.dumps(model))
    print(f"patched {Path(src).name} -> {Path(dst).name}: added " +
          (", ".join(f"{k} x{v}" for k, v in sorted(added.items())) or "nothing"))


def step_check_same(ours: str, theirs: str, inputs_npz: str) -> None:
    """Two graphs must give bit-identical outputs (random and photo inputs)."""
    a, b = _session(ours), _session(theirs)
    input_name = a.get_inputs()[0].name
    outputs = [o.name for o in b.get_outputs()]
    cases = _test_inputs(a, inputs_npz)
    for case, x in cases.items():
        same = zip(a.run(outputs, {input_name: x}), b.run(outputs, {input_name: x}))
        if not all(np.array_equal(u, v) for u, v in same):
            raise SystemExit(f"{Path(ours).name}: outputs differ from {Path(theirs).name} ({case} input)")
    print(f"{Path(ours).name}: bit-identical to {Path(theirs).name} ({', '.join(cases)} inputs)")


# --------------------------------------------------------------------------
# Inputs for the checks
# --------------------------------------------------------------------------

def step_make_input(model_path: str, input_spec: str, sample: str, image: str, box: str, dst: str) -> None:
    """Save the model's input made from a real photo, as livecap would feed it.

    sample: "scene" and "face-scene" letterbox the whole photo into the input
    (padded bottom/right); the others cut a square crop (CROP_MARGIN) around
    box "x,y,w,h". input_spec is the model's catalog.json "input" entry: its
    layout, dtype, color, range or mean/std say how to scale the pixels.
    """
    if not image:
        np.savez(dst)
        return
    import tensorflow as tf
    spec = json.loads(input_spec)
    height, width = _input_size(model_path, spec["layout"])
    photo = tf.io.decode_image(tf.io.read_file(image), channels=3, expand_animations=False)
    img_h, img_w = photo.shape[:2]
    if sample in ("scene", "face-scene"):
        side = max(img_h, img_w)
        region = [0.0, 0.0, side / img_h, side / img_w]
    else:
        x, y, w, h = map(float, box.split(","))
        side = CROP_MARGIN[sample] * max(w, h)
        cx, cy = x + w / 2, y + h / 2
        region = [(cy - side / 2) / img_h, (cx - side / 2) / img_w, (cy + side / 2) / img_h, (cx + side / 2) / img_w]
    pixels = tf.image.crop_and_resize(tf.cast(photo, tf.float32)[None], [region], [0], [height, width]).numpy()
    np.savez(dst, photo=_scale_pixels(pixels, spec))


def _input_size(model_path: str, layout: str) -> tuple[int, int]:
    import onnx
    dims = onnx.load(model_path, load_external_data=False).graph.input[0].type.tensor_type.shape.dim
    sizes = [d.dim_value or FREE_SIZE for d in dims]
    return (sizes[2], sizes[3]) if layout == "NCHW" else (sizes[1], sizes[2])


def _scale_pixels(rgb: np.ndarray, spec: dict) -> np.ndarray:
    """1 x H x W x 3 RGB 0..255 float pixels -> the model's input (catalog "input" entry)."""
    pixels = rgb[..., ::-1] if spec.get("color") == "BGR" else rgb
    if "mean" in spec:
        pixels = (pixels - np.array(spec["mean"])) / np.array(spec["std"])
    elif spec.get("range") == [0, 1]:
        pixels = pixels / 255.0
    elif spec.get("range") == [-1, 1]:
        pixels = pixels / 127.5 - 1.0
    if spec["dtype"] == "int32":
        pixels = np.clip(np.rint(pixels), 0, 255).astype(np.int32)
    else:
        pixels = pixels.astype(np.float32)
    return np.ascontiguousarray(pixels.transpose(0, 3, 1, 2) if spec["layout"] == "NCHW" else pixels)


def _session(model):
    """A CPU session of a model file, or of a model's bytes."""
    import onnxruntime as ort
    return ort.InferenceSession(model if isinstance(model, bytes) else str(model), providers=["CPUExecutionProvider"])


def _exposing(path: str, names: list[str]) -> bytes:
    """The model with these inner tensors made outputs too (a graph cut at inner tensors, MoveNet MultiPose's heads,
    is checked against them)."""
    import onnx
    model = onnx.load(path)
    present = {o.name for o in model.graph.output}
    model.graph.output.extend(onnx.helper.ValueInfoProto(name=name) for name in names if name not in present)
    return model.SerializeToString()


def _test_inputs(session, inputs_npz: str, batch: int = 1) -> dict:
    """Random inputs (seeded) for a single-input model, plus the real photo when there is one."""
    (inp,) = session.get_inputs()
    shape = (batch, *(d if isinstance(d, int) else FREE_SIZE for d in inp.shape[1:]))
    rng = np.random.default_rng(0)
    if inp.type == "tensor(float)":
        cases = {"random": rng.random(shape, dtype=np.float32)}
    else:
        cases = {"random": rng.integers(0, 256, shape, dtype=np.int32)}
    real = dict(np.load(inputs_npz))
    if "photo" in real:
        cases["photo"] = real["photo"]
    return cases


def _max_diffs(names, ours, theirs) -> list[tuple[str, float, float]]:
    """(name, max abs difference, largest magnitude of the reference) per output."""
    return [(n, float(np.max(np.abs(u.astype(np.float64) - v))), float(np.max(np.abs(v))))
            for n, u, v in zip(names, ours, theirs)]


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------

def step_check_original(original: str, converted: str, inputs_npz: str) -> None:
    """The converted graph against the original model run by TensorFlow: every
    output, on random inputs and on the real photo, within ORIGINAL_TOLERANCE."""
    session = _session(converted)
    names = [o.name for o in session.get_outputs()]
    run_original = _tflite_runner(original) if original.endswith(".tflite") else _tfjs_runner(original)
    input_name = session.get_inputs()[0].name
    for case, x in _test_inputs(session, inputs_npz).items():
        theirs = run_original(x, names)
        ours = session.run(names, {input_name: x})
        report = []
        for name, diff, scale in _max_diffs(names, ours, theirs):
            if diff > ORIGINAL_TOLERANCE * max(scale, 1.0):
                raise SystemExit(f"{Path(converted).name}: {name} differs from the original by {diff:.3g} "
                                 f"({case} input)")
            report.append(f"{name} {diff:.2g}")
        print(f"  {case} input, max abs diff vs original {Path(original).name}: " + ", ".join(report))


def _tflite_runner(path: str):
    import tensorflow as tf
    interpreter = tf.lite.Interpreter(model_path=path)
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    outputs = {d["name"]: d["index"] for d in interpreter.get_output_details()}

    def run(x, names):
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        return [interpreter.get_tensor(outputs[n]).copy() for n in names]
    return run


def _tfjs_runner(path: str):
    """Run a TF.js graph model in TensorFlow: its graph JSON is a GraphDef, and
    the weights (float16-quantized in these packages) go into its Const nodes,
    dequantized as tf2onnx and TF.js do."""
    import tensorflow as tf
    from google.protobuf import json_format

    model = json.loads(Path(path).read_text())
    weights = _tfjs_weights(model, Path(path).parent)
    graph_def = tf.compat.v1.GraphDef()
    json_format.ParseDict({"node": model["modelTopology"]["node"]}, graph_def)
    for node in graph_def.node:
        if node.op == "FusedDepthwiseConv2dNative":  # TF.js's name for TF's internal fused op
            node.op = "_FusedDepthwiseConv2dNative"
        if node.name in weights:
            # TF.js stores int64 constants as int32: back to the dtype the graph declares
            dtype = tf.dtypes.as_dtype(node.attr["dtype"].type).as_numpy_dtype
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(weights[node.name].astype(dtype)))
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    session = tf.compat.v1.Session(graph=graph)
    (input_spec,) = model["signature"]["inputs"].values()
    outputs = {key: spec["name"] for key, spec in model["signature"]["outputs"].items()}

    def run(x, names):
        return session.run([outputs[n] for n in names], {input_spec["name"]: x})
    return run


def _tfjs_weights(model: dict, folder: Path) -> dict[str, np.ndarray]:
    weights = {}
    for group in model["weightsManifest"]:
        data = b"".join((folder / part).read_bytes() for part in group["paths"])
        offset = 0
        for entry in group["weights"]:
            quantization = entry.get("quantization")
            stored = np.dtype(quantization["dtype"] if quantization else entry["dtype"])
            count = int(np.prod(entry["shape"], dtype=np.int64))
            raw = np.frombuffer(data, stored, count, offset)
            offset += count * stored.itemsize
            if quantization and quantization["dtype"] != "float16":  # uint8/uint16 affine quantization
                raw = raw * quantization["scale"] + quantization["min"]
            weights[entry["name"]] = raw.astype(entry["dtype"]).reshape(entry["shape"])
    return weights


def step_compare(path: str, reference: str, inputs_npz: str) -> None:
    """Print the max abs difference per output between two models."""
    ours, theirs = _session(path), _session(reference)
    names = [o.name for o in theirs.get_outputs()]
    if names != [o.name for o in ours.get_outputs()]:
        raise SystemExit(f"  outputs differ: {names} vs {[o.name for o in ours.get_outputs()]}")
    input_name = ours.get_inputs()[0].name
    for case, x in _test_inputs(ours, inputs_npz).items():
        diffs = _max_diffs(names, ours.run(names, {input_name: x}), theirs.run(names, {input_name: x}))
        print(f"  {case} input, max abs diff vs reference: " + ", ".join(f"{n} {d:.3g}" for n, d, _ in diffs))


def step_check_cut(cut: str, uncut: str, inputs_npz: str) -> None:
    """The cut graph must give the uncut one's outputs (bit-identical for lite
    and full; onnxruntime may fuse the cut graph's nodes differently, heavy
    differs by float32 round-off), and a batch of BATCH_CHECK the same numbers
    as BATCH_CHECK batch-1 calls."""
    small = _session(cut)
    input_name = small.get_inputs()[0].name
    outputs = [o.name for o in small.get_outputs()]
    full = _session(_exposing(uncut, outputs))
    cases = _test_inputs(small, inputs_npz)
    for case, x in cases.items():
        diffs = _max_diffs(outputs, small.run(outputs, {input_name: x}), full.run(outputs, {input_name: x}))
        for name, diff, scale in diffs:
            if diff > CUT_TOLERANCE * max(scale, 1.0):
                raise SystemExit(f"{Path(cut).name}: {name} differs from the uncut graph by {diff:.3g} ({case} input)")
        print(f"{Path(uncut).name}: cut vs uncut, {case} input: " +
              ("bit-identical" if not any(d for _, d, _ in diffs) else
               "max abs diff " + ", ".join(f"{n} {d:.2g}" for n, d, _ in diffs)))

    # A batch of random crops with the photo (if any) in it.
    batch = _test_inputs(small, inputs_npz, BATCH_CHECK)["random"]
    if "photo" in cases:
        batch[1] = cases["photo"][0]
    together = small.run(outputs, {input_name: batch})
    apart = [np.concatenate(o) for o in zip(*(small.run(outputs, {input_name: batch[i:i + 1]})
                                               for i in range(BATCH_CHECK)))]
    report = []
    for (name, diff, scale), u in zip(_max_diffs(outputs, together, apart), together):
        if u.shape[0] != BATCH_CHECK:
            raise SystemExit(f"{Path(cut).name}: {name} has shape {u.shape} at batch {BATCH_CHECK}")
        if diff > 1e-5 * (scale or 1.0):
            raise SystemExit(f"{Path(cut).name}: batch {BATCH_CHECK} differs from single calls on {name} by {diff}")
        report.append(f"{name} {list(u.shape)} max abs diff {diff:.3g}")
    print(f"{Path(uncut).name}: batch {BATCH_CHECK} vs {BATCH_CHECK} single calls: " + "; ".join(report))


STEPS = {
    "tf2onnx": step_tf2onnx,
    "patch-tfjs": step_patch_tfjs,
    "cut": step_cut,
    "pack-fp16": step_pack_fp16,
    "check-same": step_check_same,
    "make-input": step_make_input,
    "check-original": step_check_original,
    "compare": step_compare,
    "check-cut": step_check_cut,
}

if __name__ == "__main__":
    STEPS[sys.argv[1]](*sys.argv[2:])
