#!/usr/bin/env python3
"""Faces on the dev face images (300-W, WFLW, 300-VW under MEDIA/images/faces): points, expressions and cost.

    python tools/eval_faces.py [--media DIR] [--preset NAME] [--mediapipe-python PY] [--repeats N] [--json OUT]

The preset decides the iris model (accurate runs it, fast and balanced do not) and the body models.

- NME: the mean distance of the points every scheme shares (outer and inner eye corners, nose tip, mouth corners),
  over the outer eye corners' distance, per annotated face: livecap's face nearest the truth (livecap process on
  each image as a still), and MediaPipe FaceMesh 0.10.14's (refine_landmarks, static images), run by
  --mediapipe-python: an interpreter with `mediapipe==0.10.14` and opencv installed (a throwaway venv:
  `python3.11 -m venv /tmp/mp && /tmp/mp/bin/pip install mediapipe==0.10.14`). A face whose NME is above
  FOUND_NME counts as not found.
- Expressions: each measure livecap takes from the mesh (livecap.pose.expressions.measure: eye aperture, brow
  height, mouth aperture and width) against the same quantity on the ground-truth points: Spearman rank
  correlation over the faces (the eyes and brows count each side as one sample), with its 95% bootstrap interval;
  with --mediapipe-python, the same for MediaPipe's mesh and livecap's over the faces both find.
- Head turns: each face's mesh turned to face the camera, then 30 degrees aside and 20 up and down about its
  centre (the eyes still in the head): the largest expression each turn produces against the face's own neutral.
  The gaze, taken in the head's axes, reads none; nor do the heights turned aside (brows, jaw: over the face's
  true width); the eyes' apertures turned aside and every height nodded still do (tools/eval_face_turn.py measures
  turns on real video). Again against the face's neutral learned over a take of it turning and nodding
  (livecap.pose.neutral): what the pose terms leave.
- Cost: the face mesh + iris models per face at batch 1 and 4, BlazeFace on one image, the face stage's time per
  face in the pipeline (stage_ms["face"] / faces found) on the images.
A maintainer tool: prints numbers, asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.stats import bootstrap, spearmanr

from timing import median_ms

REPO = Path(__file__).resolve().parents[1]
SETS = (("300w", "test_300w.json"), ("wflw", "test_wflw.json"), ("300vw", "anno_300vw.json"))
# outer eye corner (right, then left eye's inner, left's outer), nose tip, mouth corners: per scheme, then the mesh
SHARED = {68: [36, 39, 42, 45, 30, 48, 54], 98: [60, 64, 68, 72, 54, 76, 82]}
MESH_SHARED = [33, 133, 362, 263, 1, 61, 291]
FOUND_NME = 0.2  # a face found this far off is another face
# the same quantities as livecap's measures, on each scheme's points: eye (outer, inner, upper lid, lower lid),
# the brow's upper edge, inner lips' middles (upper, lower), mouth corners
GT_POINTS = {
    68: {"eyes": {"right": (36, 39, (37, 38), (41, 40)), "left": (45, 42, (44, 43), (46, 47))},
         "brow": {"right": (17, 18, 19, 20, 21), "left": (26, 25, 24, 23, 22)}, "lips": (62, 66), "corners": (48, 54)},
    98: {"eyes": {"right": (60, 64, (61, 62, 63), (67, 66, 65)), "left": (72, 68, (71, 70, 69), (73, 74, 75))},
         "brow": {"right": (33, 34, 35, 36, 37), "left": (46, 45, 44, 43, 42)}, "lips": (90, 94), "corners": (76, 82)},
}
COMPARED = ("eye_open", "brow", "mouth_open", "mouth_width")


@dataclass
class DevFace:
    image: Path
    points: np.ndarray  # K x 2, the set's scheme
    scheme: int  # 68 or 98

    @property
    def shared(self) -> np.ndarray:
        return self.points[SHARED[self.scheme]]


def load_faces(media: Path) -> list[DevFace]:
    """Every annotated face of the dev sets, in a fixed order."""
    faces = []
    for folder, listing in SETS:
        data = json.loads((media / "images" / "faces" / folder / listing).read_text())
        files = {image["id"]: image["file_name"] for image in data["images"]}
        for annotation in data["annotations"]:
            points = np.asarray(annotation["keypoints"], np.float64).reshape(-1, 3)[:, :2]
            faces.append(DevFace(media / "images" / "faces" / folder / files[annotation["image_id"]], points,
                                 len(points)))
    return faces


def nme(mesh: np.ndarray, face: DevFace) -> float:
    """The mean error of the shared points over the outer eye corners' distance."""
    truth = face.shared
    return float(np.linalg.norm(np.asarray(mesh)[MESH_SHARED, :2] - truth, axis=1).mean()
                 / np.linalg.norm(truth[0] - truth[3]))


def nearest(meshes: list[np.ndarray], face: DevFace) -> tuple[float, np.ndarray | None]:
    """The mesh nearest the annotated face and its NME; (inf, None) where none lies within FOUND_NME."""
    scored = sorted(((nme(m, face), i) for i, m in enumerate(meshes)), key=lambda t: t[0])
    if not scored or scored[0][0] > FOUND_NME:
        return float("inf"), None
    return scored[0][0], meshes[scored[0][1]]


def gt_measures(face: DevFace) -> dict[str, list[float]]:
    """COMPARED on the truth, in the frame of its outer eye corners (level, their distance 1): the eyes' and
    brows' values right eye first."""
    spec, p = GT_POINTS[face.scheme], face.points
    right, left = p[spec["eyes"]["right"][0]], p[spec["eyes"]["left"][0]]
    across = (left - right) / np.linalg.norm(left - right)
    down = np.array([-across[1], across[0]])
    y = (p - (right + left) / 2) @ down / np.linalg.norm(left - right)
    out: dict[str, list[float]] = {"eye_open": [], "brow": []}
    for side in ("right", "left"):
        outer, inner, upper, lower = spec["eyes"][side]
        width = np.linalg.norm(p[outer] - p[inner]) / np.linalg.norm(left - right)
        out["eye_open"].append(float((y[list(lower)].mean() - y[list(upper)].mean()) / width))
        out["brow"].append(float(y[list(upper)].mean() - y[list(spec["brow"][side])].mean()))
    out["mouth_open"] = [float(y[spec["lips"][1]] - y[spec["lips"][0]])]
    a, b = spec["corners"]
    out["mouth_width"] = [float(np.linalg.norm(p[a] - p[b]) / np.linalg.norm(left - right))]
    return out


def livecap_measures(mesh: np.ndarray) -> dict[str, list[float]]:
    from livecap.pose.expressions import M, measure
    from livecap.pose.face import head_rotation
    m = measure(mesh, head_rotation(mesh))
    return {"eye_open": [m[M["eye_open_right"]], m[M["eye_open_left"]]],
            "brow": [m[M["brow_right"]], m[M["brow_left"]]],
            "mouth_open": [m[M["mouth_open"]]], "mouth_width": [m[M["mouth_width"]]]}


def run_livecap(faces: list[DevFace], preset: str) -> tuple[dict[Path, list], dict[Path, float]]:
    """Every image as a still through the pipeline with faces on: its faces (FacePose) and the face stage's ms."""
    from livecap.pose.pipeline import PipelineModels, build_pipeline
    from livecap.settings import PipelineSettings
    from livecap.types import Frame
    settings = PipelineSettings(preset=preset, face=True)
    models = PipelineModels.load(settings)
    found, cost = {}, {}
    for path in dict.fromkeys(face.image for face in faces):
        image = cv2.imread(str(path))
        pipeline = build_pipeline(settings, image.shape[1], image.shape[0], stills=True, models=models)
        result = pipeline.process(Frame(0, 0.0, image, time.monotonic(), name=path.name))
        found[path] = [p.face for p in result.people if p.face is not None]
        cost[path] = result.stage_ms.get("face", 0.0)
    return found, cost


MEDIAPIPE_SCRIPT = """
import json, sys, cv2, mediapipe as mp
out = {}
with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=20, refine_landmarks=True) as mesh:
    for path in sys.argv[1:]:
        image = cv2.imread(path)
        h, w = image.shape[:2]
        result = mesh.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        out[path] = [[[p.x * w, p.y * h, p.z * w] for p in face.landmark] for face in result.multi_face_landmarks or []]
print(json.dumps(out))
"""


def run_mediapipe(python: str, faces: list[DevFace]) -> dict[Path, list[np.ndarray]]:
    images = [str(p) for p in dict.fromkeys(face.image for face in faces)]
    proc = subprocess.run([python, "-c", MEDIAPIPE_SCRIPT, *images], capture_output=True, text=True, check=True)
    return {Path(k): [np.asarray(m) for m in v] for k, v in json.loads(proc.stdout.splitlines()[-1]).items()}


def model_cost(repeats: int) -> dict[str, float]:
    """Median ms of the face models alone on one blank image: mesh + iris per face at batch 1 and 4, BlazeFace."""
    from livecap.models.catalog import ModelCatalog
    from livecap.models.face import BlazeFaceDetector, FaceMeshLandmarker
    from livecap.models.runtime import OnnxModel
    from livecap.settings import FACE_MODELS
    from livecap.types import Roi
    catalog = ModelCatalog()
    mesh, iris, detector = (OnnxModel(catalog.require(name).path) for name in FACE_MODELS)
    image = np.full((720, 1280, 3), 128, np.uint8)
    out = {}
    for batch in (1, 4):
        landmarker = FaceMeshLandmarker(mesh, iris)
        rois = [Roi(300.0 + 200 * i, 360.0, 200.0, 0.0) for i in range(batch)]
        out[f"mesh+iris per face, batch {batch}"] = median_ms(lambda: landmarker(image, rois), repeats) / batch
        mesh_only = FaceMeshLandmarker(mesh)
        out[f"mesh only per face, batch {batch}"] = median_ms(lambda: mesh_only(image, rois), repeats) / batch
    blaze = BlazeFaceDetector(detector)
    out["BlazeFace, whole image"] = median_ms(lambda: blaze(image), repeats)
    out["BlazeFace, still tilings (1, 2, 3)"] = median_ms(lambda: blaze(image, (1, 2, 3)), max(repeats // 5, 3))
    return out


# a take of a face at rest turning and nodding: yaw -40..40, pitch -25..25 degrees (not the TURNS themselves)
LEARNED_TURNS = [(yaw, pitch) for yaw in range(-40, 41, 8) for pitch in range(-25, 26, 10)]
TURNS = (("aside 30", "y", 30), ("aside -30", "y", -30), ("nod down 20", "x", 20), ("nod up 20", "x", -20))


def turn_sensitivity(meshes: list[np.ndarray], learned: bool = False) -> dict[str, dict[str, float]]:
    """Per head turn (TURNS), each expression's largest value over the faces, where it reaches 0.1: against the
    face's own neutral facing the camera, or (`learned`) against its neutral learned over a take of it turned
    through LEARNED_TURNS (livecap.pose.neutral.pose_neutral: how much of the turn's effect its pose terms hold)."""
    from scipy.spatial.transform import Rotation

    from livecap.pose.expressions import expressions, measure
    from livecap.pose.face import head_rotation
    from livecap.pose.neutral import pose_neutral
    worst: dict[str, dict[str, float]] = {name: {} for name, _, _ in TURNS}
    for mesh in meshes:
        points = np.asarray(mesh, np.float64)
        centre = points.mean(axis=0)
        upright = (points - centre) @ head_rotation(points)
        neutral = lambda rotation, fixed=measure(upright + centre, np.eye(3)): fixed  # noqa: E731
        if learned:
            take = [upright @ Rotation.from_euler("yx", turn, degrees=True).as_matrix().T + centre
                    for turn in LEARNED_TURNS]
            rotations = np.array([head_rotation(p) for p in take])
            neutral = pose_neutral(np.array([measure(p, r) for p, r in zip(take, rotations)]), rotations).at
        for name, axis, degrees in TURNS:
            turned = upright @ Rotation.from_euler(axis, degrees, degrees=True).as_matrix().T + centre
            rotation = head_rotation(turned)
            for key, value in expressions(measure(turned, rotation), neutral(rotation)).items():
                worst[name][key] = max(worst[name].get(key, 0.0), value)
    return {name: {k: v for k, v in values.items() if v >= 0.1} for name, values in worst.items()}


def rank_correlations(pairs: dict[str, tuple[list[float], list[float]]]) -> dict[str, float]:
    return {name: float(spearmanr(ours, truth).statistic) for name, (ours, truth) in pairs.items()}


def rank_intervals(pairs: dict[str, tuple[list[float], list[float]]]) -> dict[str, list[float]]:
    """Each rank correlation's 95% bootstrap interval (the pairs resampled together; a face's two eyes count as two
    pairs): how far so few faces pin it down."""
    def rho(ours, truth):
        return spearmanr(ours, truth).statistic
    return {name: [float(v) for v in bootstrap((np.asarray(ours), np.asarray(truth)), rho, paired=True,
                                               vectorized=False, n_resamples=2000, method="percentile",
                                               random_state=0).confidence_interval]
            for name, (ours, truth) in pairs.items()}


def reference_correlations(faces: list[DevFace], found: dict[Path, list],
                           theirs: dict[Path, list[np.ndarray]]) -> dict[str, dict[str, float]]:
    """The same rank correlations for MediaPipe's mesh (livecap's measures taken on it) and for livecap's, over the
    faces both find: what the reference tool reaches on these few faces."""
    pairs = {who: {name: ([], []) for name in COMPARED} for who in ("livecap", "mediapipe")}
    for face in faces:
        ours = nearest([f.landmarks2d for f in found[face.image]], face)[1]
        mediapipe = nearest(theirs.get(face.image, []), face)[1]
        if ours is None or mediapipe is None:
            continue
        add_pairs(pairs["livecap"], ours, face)
        add_pairs(pairs["mediapipe"], mediapipe, face)
    return {who: rank_correlations(p) for who, p in pairs.items()}


def add_pairs(pairs: dict[str, tuple[list[float], list[float]]], mesh: np.ndarray, face: DevFace) -> None:
    """Each COMPARED measure of this mesh beside the same on the face's annotated points."""
    ours, truth = livecap_measures(mesh), gt_measures(face)
    for name in COMPARED:
        pairs[name][0].extend(ours[name])
        pairs[name][1].extend(truth[name])


def evaluate(args) -> dict:
    faces = load_faces(args.media)
    found, cost = run_livecap(faces, args.preset)
    report: dict = {"faces": len(faces), "livecap": {}, "mediapipe": {}}
    pairs: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in COMPARED}
    errors, meshes_found = [], []
    for face in faces:
        meshes = [f.landmarks2d for f in found[face.image]]
        error, mesh = nearest(meshes, face)
        errors.append(error)
        if mesh is None:
            continue
        meshes_found.append(mesh)
        add_pairs(pairs, mesh, face)
    report["livecap"]["nme"] = errors
    report["livecap"]["spearman"] = rank_correlations(pairs)
    report["livecap"]["spearman 95% interval"] = rank_intervals(pairs)
    report["livecap"]["head turns"] = turn_sensitivity(meshes_found)
    report["livecap"]["head turns, learned neutral"] = turn_sensitivity(meshes_found, learned=True)
    faces_found = sum(len(v) for v in found.values())
    report["livecap"]["face stage ms per face found"] = sum(cost.values()) / max(faces_found, 1)
    if args.mediapipe_python:
        theirs = run_mediapipe(args.mediapipe_python, faces)
        report["mediapipe"]["nme"] = [nearest(theirs.get(face.image, []), face)[0] for face in faces]
        report["mediapipe"]["spearman, faces both find"] = reference_correlations(faces, found, theirs)
    report["cost ms"] = model_cost(args.repeats)
    report["names"] = [f"{face.image.parent.name}/{face.image.name}" for face in faces]
    return report


def print_report(report: dict) -> None:
    ours, theirs = report["livecap"]["nme"], report["mediapipe"].get("nme")
    print(f"{'face':<58} {'livecap NME':>12} {'MediaPipe NME':>14}")
    for i, name in enumerate(report["names"]):
        print(f"{name:<58} {ours[i]:>12.4f} {theirs[i] if theirs else float('nan'):>14.4f}")
    found = [e for e in ours if np.isfinite(e)]
    print(f"livecap: {len(found)} of {report['faces']} faces found, mean NME {np.mean(found):.4f}")
    if theirs:
        both = [i for i, e in enumerate(theirs) if np.isfinite(e) and np.isfinite(ours[i])]
        print(f"MediaPipe: {sum(np.isfinite(theirs))} of {report['faces']} found, mean NME "
              f"{np.mean([theirs[i] for i in both]):.4f}; livecap on those {np.mean([ours[i] for i in both]):.4f}")
    print("Spearman, livecap's measures vs the truth's: " +
          ", ".join(f"{k} {v:.3f} (95% interval {report['livecap']['spearman 95% interval'][k][0]:.2f} to "
                    f"{report['livecap']['spearman 95% interval'][k][1]:.2f})"
                    for k, v in report["livecap"]["spearman"].items()))
    if "spearman, faces both find" in report["mediapipe"]:
        for who, values in report["mediapipe"]["spearman, faces both find"].items():
            print(f"Spearman on the faces both find, {who}'s mesh: " +
                  ", ".join(f"{k} {v:.3f}" for k, v in values.items()))
    for neutral in ("", ", learned neutral"):
        for turn, values in report["livecap"][f"head turns{neutral}"].items():
            print(f"head turned {turn}{neutral}: " + (", ".join(f"{k} {v:.2f}" for k, v in values.items())
                                                       or "no expression"))
    print(f"face stage: {report['livecap']['face stage ms per face found']:.1f} ms per face found (stills: "
          f"BlazeFace tiles, two mesh passes)")
    for name, ms in report["cost ms"].items():
        print(f"  {name}: {ms:.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--media", type=Path, default=REPO / "tests" / "data", help="folder with images/faces")
    parser.add_argument("--preset", default="accurate", help="accurate (default) measures the irises")
    parser.add_argument("--mediapipe-python", help="an interpreter with mediapipe==0.10.14 installed")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    report = evaluate(args)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
