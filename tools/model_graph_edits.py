"""Edits of converted ONNX graphs for tools/build_models.py, run in its build venv by model_build_steps.py: cutting
a graph to the outputs livecap uses with a symbolic batch (and its PRelus spelled as onnxruntime runs them fast), and
storing float16 weights as float16."""
from __future__ import annotations

from pathlib import Path

import numpy as np

# Weights smaller than this stay float32 (biases, shapes): too small to matter.
PACK_MIN_SIZE = 1024


def step_cut(src: str, dst: str, input_name: str, outputs: str) -> None:
    """Keep only the given outputs (comma-separated), make the batch dimension
    symbolic, and drop value_info: its inferred shapes pin batch 1, and
    onnxruntime warns ("Expected shape from model of {1,195}...") on every
    batch > 1 call."""
    import onnx
    import onnx.utils
    onnx.utils.extract_model(src, dst, [input_name], outputs.split(","))
    model = onnx.load(dst)
    for value in [*model.graph.input, *model.graph.output]:
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    del model.graph.value_info[:]
    _batch_free_output_reshapes(model.graph)
    prelu_as_relu(model.graph)
    uniform_constants_as_scalars(model)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, dst)


def prelu_as_relu(graph) -> int:
    """Each PRelu(x, slope) as Relu(x) + slope * Min(x, 0): the same numbers bit for bit (x where x >= 0, else the
    same product slope * x plus 0), in half the CPU time: onnxruntime (1.32) has no fast PRelu and takes each one's
    feature map out of its blocked conv layout and back (the face mesh: 23 PRelus, half its time; 4.3 -> 2.3 ms a
    crop, the iris model 4.2 -> 2.7). Max(x, slope * x) would be cheaper but is wrong where a slope exceeds 1 (these
    have up to 1.54). Returns how many were rewritten."""
    from onnx import helper, numpy_helper
    zero = "prelu_zero"
    nodes, rewritten = [], 0
    for node in graph.node:
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        (x, slope), y, name = node.input, node.output[0], node.name or f"prelu_{rewritten}"
        nodes += [helper.make_node("Relu", [x], [f"{name}_positive"], name=f"{name}_relu"),
                  helper.make_node("Min", [x, zero], [f"{name}_negative"], name=f"{name}_min"),
                  helper.make_node("Mul", [f"{name}_negative", slope], [f"{name}_scaled"], name=f"{name}_mul"),
                  helper.make_node("Add", [f"{name}_positive", f"{name}_scaled"], [y], name=f"{name}_add")]
        rewritten += 1
    if rewritten:
        del graph.node[:]
        graph.node.extend(nodes)
        graph.initializer.append(numpy_helper.from_array(np.zeros((), np.float32), zero))
    return rewritten


def uniform_constants_as_scalars(model) -> int:
    """An elementwise Add, Sub, Mul or Div of a tensor by a constant of its own rank that varies along the last axis
    at most (a per-channel one, [1, 1, 1, C]) and whose values are all equal, by that one value instead, and an Add
    or Sub of zeros dropped: the same numbers bit for bit and the same shape, where onnxruntime (1.32) runs a
    per-channel broadcast elementwise and a scalar one vectorised (MoveNet's input normalisation, [1, 1, 1, 3] twice
    over the whole input: 60.6 -> 56.6 ms a call at 512). Returns how many nodes changed."""
    import onnx
    from onnx import numpy_helper
    graph = model.graph
    inferred = onnx.shape_inference.infer_shapes(model).graph
    ranks = {value.name: value.type.tensor_type.shape.dim for value in [*inferred.value_info, *inferred.input]}
    constants = {weight.name: numpy_helper.to_array(weight) for weight in graph.initializer}
    outputs = {value.name for value in graph.output}
    scalars, dropped, changed = set(), [], 0
    for node in graph.node:
        values = constants.get(node.input[1]) if node.op_type in ("Add", "Sub", "Mul", "Div") else None
        if values is None or not _per_channel_of(values, ranks.get(node.input[0])) or \
                not np.all(values == values.flat[0]):
            continue
        changed += 1
        if node.op_type in ("Add", "Sub") and not values.any() and node.output[0] not in outputs:
            dropped.append(node)
            continue
        name = f"{node.input[1]}_scalar"
        if name not in scalars:
            scalars.add(name)
            graph.initializer.append(numpy_helper.from_array(np.array(values.flat[0], values.dtype), name))
        node.input[1] = name
    for node in dropped:  # its readers read its input instead
        for reader in graph.node:
            reader.input[:] = [node.input[0] if name == node.output[0] else name for name in reader.input]
        graph.node.remove(node)
    used = {name for node in graph.node for name in node.input}
    for weight in [w for w in graph.initializer if w.name not in used]:
        graph.initializer.remove(weight)
    return changed


def _per_channel_of(values: np.ndarray, dims) -> bool:
    """Whether a constant of this shape, broadcast against a tensor of these dims, leaves its shape as it is and
    varies along its last axis at most."""
    if dims is None or values.ndim == 0 or values.ndim != len(dims) or any(n != 1 for n in values.shape[:-1]):
        return False
    return values.shape[-1] == 1 or (dims[-1].HasField("dim_value") and dims[-1].dim_value == values.shape[-1])


def _batch_free_output_reshapes(graph) -> None:
    """An output made by a Reshape to a constant shape of batch 1 (tf2onnx writes the face models' final NCHW ->
    NHWC transposition of a 1 x 1 map that way) keeps the input's batch instead: 0 in an ONNX Reshape shape copies
    the input's dimension, which is 1 wherever the original shape was valid."""
    from onnx import numpy_helper
    constants = {weight.name: weight for weight in graph.initializer}
    outputs = {value.name for value in graph.output}
    for node in graph.node:
        if node.op_type != "Reshape" or node.output[0] not in outputs or node.input[1] not in constants:
            continue
        shape = numpy_helper.to_array(constants[node.input[1]])
        if shape[0] != 1:
            continue
        shape = shape.copy()
        shape[0] = 0
        name = f"{node.output[0]}_batch_shape"
        graph.initializer.append(numpy_helper.from_array(shape, name))
        node.input[1] = name
    used = {name for node in graph.node for name in node.input}
    unused = [weight for weight in graph.initializer if weight.name not in used]
    for weight in unused:  # the batch-1 shapes no other node reads
        graph.initializer.remove(weight)


def step_pack_fp16(src: str, dst: str) -> None:
    """Store the float32 weights that are exactly float16 values (these
    packages ship float16 weights, which tf2onnx widens) as float16, each
    followed by a Cast back to float32: half the file, the same numbers, as
    onnxruntime folds the Casts into float32 weights when it loads the model."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    model = onnx.load(src)
    graph = model.graph
    kept, casts, packed = [], [], 0
    for weight in graph.initializer:
        values = numpy_helper.to_array(weight) if weight.data_type == TensorProto.FLOAT else None
        if values is None or values.size < PACK_MIN_SIZE or not np.array_equal(
                values.astype(np.float16).astype(np.float32), values):
            kept.append(weight)
            continue
        kept.append(numpy_helper.from_array(values.astype(np.float16), weight.name + "_fp16"))
        casts.append(helper.make_node("Cast", [weight.name + "_fp16"], [weight.name], name=weight.name + "_to_fp32",
                                      to=TensorProto.FLOAT))
        packed += values.size
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = [*casts, *graph.node]  # the Casts first: the graph stays topologically sorted
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, dst)
    print(f"{Path(dst).name}: {len(casts)} weights ({packed} values) stored as float16")
