"""The license texts and NOTICE that tools/build_models.py writes beside the models (standard library only)."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

# The @mediapipe/pose and @mediapipe/hands tarballs carry no license file,
# only "license": "Apache-2.0" in package.json, and NanoDet's weights come
# without one, so the Apache-2.0 text is taken from the pinned tf2onnx wheel in
# the build venv and checked against the canonical
# https://www.apache.org/licenses/LICENSE-2.0.txt.
APACHE_LICENSE = "tf2onnx-1.17.0.dist-info/licenses/LICENSE"
APACHE_LICENSE_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


def write_licenses(out: Path, apache: Path, dirs: dict[str, Path], packages: dict[str, str],
                   sources: list[tuple[str, str, str]], catalog: dict[str, dict]) -> list[Path]:
    """Copy the license texts from the packages and write a NOTICE per file.

    apache: the Apache-2.0 text; dirs / packages: extracted package folders and
    npm specs by key; sources: (model file, package key, path in the package);
    catalog: catalog.json entries by file. ValueError if a license changed.
    """
    if hashlib.sha256(apache.read_bytes()).hexdigest() != APACHE_LICENSE_SHA256:
        raise ValueError(f"{apache} is not the canonical Apache-2.0 text")
    for key in ("pose", "hands"):
        meta = json.loads((dirs[key] / "package.json").read_text())
        if meta["license"] != "Apache-2.0":
            raise ValueError(f"{packages[key]} now says license {meta['license']}")
    wheel_license = _wheel_license(dirs["mediapipe"], packages["mediapipe"])
    human_meta = json.loads((dirs["human"] / "package.json").read_text())
    generated_by = {file: json.loads((dirs[package] / path).read_text())["generatedBy"]
                    for file, package, path in sources if package == "human"}

    written = {name: out / name for name in ("LICENSE-mediapipe-pose.txt", "LICENSE-mediapipe-hands.txt",
                                             "LICENSE-mediapipe-face.txt", "LICENSE-human-models.txt",
                                             "LICENSE-nanodet.txt", "NOTICE")}
    shutil.copyfile(apache, written["LICENSE-mediapipe-pose.txt"])
    shutil.copyfile(apache, written["LICENSE-mediapipe-hands.txt"])
    shutil.copyfile(wheel_license, written["LICENSE-mediapipe-face.txt"])
    shutil.copyfile(dirs["human"] / "LICENSE", written["LICENSE-human-models.txt"])
    written["LICENSE-nanodet.txt"].write_text(NANODET_LICENSE_HEADER + apache.read_text())
    written["NOTICE"].write_text(NOTICE.format(
        pose=packages["pose"], hands=packages["hands"], human=packages["human"], mediapipe=packages["mediapipe"],
        human_license=human_meta["license"],
        multipose_origin=generated_by["movenet_multipose_lightning.onnx"],
        thunder_origin=generated_by["movenet_singlepose_thunder.onnx"],
        nanodet_origin=generated_by["nanodet_g.onnx"],
        pose_outputs=", ".join(catalog["blazepose_pose_landmark_full.onnx"]["outputs"]),
        hand_outputs=", ".join(catalog["mediapipe_hand_landmark_full.onnx"]["outputs"])))
    return list(written.values())


def _wheel_license(folder: Path, requirement: str) -> Path:
    """The license file of an unzipped wheel, which must declare Apache 2.0 (ValueError if not)."""
    (dist_info,) = folder.glob("*.dist-info")
    metadata = (dist_info / "METADATA").read_text()
    if "License: Apache 2.0" not in metadata.splitlines():
        raise ValueError(f"{requirement}'s METADATA no longer says License: Apache 2.0")
    return dist_info / "LICENSE"


NANODET_LICENSE_HEADER = """\
NanoDet (https://github.com/RangiLyu/nanodet): Copyright 2020-2021 RangiLyu,
licensed under the Apache License, Version 2.0, whose text follows.

"""

NOTICE = """\
livecap model files: origin and license (written by tools/build_models.py)

movenet_multipose_lightning.onnx
movenet_singlepose_thunder.onnx
  Weights: Google's MoveNet MultiPose Lightning v1 ({multipose_origin})
  and MoveNet SinglePose Thunder v4 ({thunder_origin}),
  which Google publishes under the Apache License 2.0; the text is in
  LICENSE-mediapipe-pose.txt (the same Apache-2.0 text).
  Taken from the TF.js graph models models/movenet-multipose.{{json,bin}} and
  models/movenet-thunder.{{json,bin}} in npm {human}, a package by
  Vladimir Mandic under the {human_license} license (LICENSE-human-models.txt,
  copied from it). The package does not restate the weights' license; its
  README points to the Human wiki for credits.
  Modified: converted to ONNX with tf2onnx after adding op attributes missing
  from the graph JSON; the weights are unchanged (MultiPose stores them as
  float32, Thunder as the float16 values of the package, cast to float32 in
  the graph).

blazepose_pose_landmark_lite.onnx
blazepose_pose_landmark_full.onnx
blazepose_pose_landmark_heavy.onnx
  Weights: Google MediaPipe BlazePose GHUM 3D landmark models
  (pose_landmark_lite.tflite, pose_landmark_full.tflite,
  pose_landmark_heavy.tflite) from npm {pose},
  licensed under the Apache License 2.0 (its package.json says "license":
  "Apache-2.0"; the package ships no license or NOTICE file, so the Apache-2.0
  text is in LICENSE-mediapipe-pose.txt).
  Modified: converted to ONNX with tf2onnx and cut to the outputs {pose_outputs}
  with a symbolic batch dimension; heavy stores its weights as the float16
  values of the .tflite file, cast to float32 in the graph.

mediapipe_hand_landmark_lite.onnx
mediapipe_hand_landmark_full.onnx
  Weights: Google MediaPipe Hands landmark models (hand_landmark_lite.tflite,
  hand_landmark_full.tflite) from npm {hands},
  licensed under the Apache License 2.0 (its package.json says "license":
  "Apache-2.0"; the package ships no license or NOTICE file, so the Apache-2.0
  text is in LICENSE-mediapipe-hands.txt).
  Modified: converted to ONNX with tf2onnx and cut to the outputs {hand_outputs}
  (landmarks, hand presence, world landmarks; the handedness output is dropped)
  with a symbolic batch dimension; the weights are stored as the float16 values
  of the .tflite files, cast to float32 in the graph.

mediapipe_face_landmark.onnx
mediapipe_iris_landmark.onnx
mediapipe_face_detection_short_range.onnx
  Weights: Google MediaPipe Face Mesh (face_landmark.tflite: 468 points),
  Iris (iris_landmark.tflite: eye contour and iris of one eye) and short-range
  BlazeFace (face_detection_short_range.tflite) models from the PyPI wheel
  {mediapipe} (mediapipe/modules/face_landmark, iris_landmark and
  face_detection), licensed under the Apache License 2.0 (the wheel's
  LICENSE file, with the third-party notices it carries, is copied to
  LICENSE-mediapipe-face.txt).
  Modified: converted to ONNX with tf2onnx; the two landmark models with a
  symbolic batch dimension; the face landmark and detection weights are stored
  as the float16 values of their .tflite files, cast to float32 in the graph
  (the iris model's .tflite holds float32 weights, kept as they are).

nanodet_g.onnx
  Weights: NanoDet-g (416 x 416, COCO-trained, 80 classes) by RangiLyu
  ({nanodet_origin}), a project under the Apache License 2.0
  (Copyright 2020-2021 RangiLyu; the text is in LICENSE-nanodet.txt). The
  model matches NanoDet-g's published configuration (CSP backbone with
  LeakyReLU, GFL head with reg_max 10, strides 8/16/32, 3.79 M parameters).
  Taken from the TF.js graph model models/nanodet.{{json,bin}} in npm {human}
  ({human_license}, LICENSE-human-models.txt), whose weights are stored as
  float16 there.
  Modified: converted to ONNX with tf2onnx; the weights are unchanged (stored as
  those float16 values, cast to float32 in the graph).
"""
