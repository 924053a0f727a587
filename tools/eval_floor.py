"""The floor of real-video agreement for frozen bones: how close ANY skeleton with one set of bone lengths per person
can come to BlazePose's own world landmarks under livecap.bench.agreement's measure (13 body points, similarity-
aligned per person-frame), next to the fit's own figures. Reads what `python tools/eval_fit.py record` wrote.

    python tools/eval_floor.py [--out /tmp/fiteval] [--sets vtest ...] [--worst 5]

The skeleton is livecap's tree over the 13 points, relaxed: hips centre -> each hip (one line through the centre),
hips -> knees -> ankles; hips centre -> shoulders centre (a spine of at most the torso's length: livecap's three
spine bones can fold), shoulders centre -> each shoulder (one line) -> elbows -> wrists; shoulders centre -> head.
Every bone direction is free (no joint limits, hinges, priors or reprojection), so every pose livecap's skeleton can
take with these bones is one of its poses. Per person-frame, scipy's least_squares finds the pose and the similarity
(a position and a scale: the directions carry the rotation) nearest the landmarks, warm-started from the landmarks'
own directions; the distances are then measured exactly as the agreement measures them (Umeyama alignment).

Bones per person (one length for both sides, as livecap's skeletons have, unless said):
- own: each frame's own landmark lengths, per side: a check of the harness, its floor must be ~0 mm;
- median: the reliability-weighted median over the person's whole clip (eval_fit.py report --clip-bones' bones);
- livecap: the bones livecap froze for the person, as recorded (their last frame's);
- optimal: the lengths that, with each frame's nearest pose, minimise the person's summed squared distances over the
  whole clip (one sparse least-squares problem over the lengths and every frame's pose): chosen in hindsight, no
  estimate made as the clip plays can do better; `optimal per side` also lets left and right differ.
A per-frame global scale of the frozen bones changes nothing: the similarity alignment already picks the best one,
so what stays of the floor is proportions; their spread in the landmarks is printed per set (--worst).

What it proves: with those bones no pose of any such skeleton (livecap's included, whatever its limits and priors)
has a smaller summed squared distance in any person-frame. The percentiles are those of that least-squares optimum:
a skeleton could lower a percentile only by trading larger errors elsewhere in the frame (a robust loss per frame,
soft-L1 or Cauchy at 30-50 mm, lowered no video's p95 by more than 0.5 mm, median bones). Each frame's optimum is
the warm-started one (random restarts on the worst frames found none more than 0.2% lower).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.optimize import least_squares

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_fit import BODY13, Part, pooled, refit, sets  # noqa: E402
from livecap.bench.mocap import similarity_aligned  # noqa: E402
from livecap.pose.fitting import FitSettings, model  # noqa: E402
from livecap.refine.bones import track_segments  # noqa: E402
from livecap.skeleton import J  # noqa: E402

HEAD, L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST, L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = \
    range(13)
assert BODY13[L_SHOULDER] == "LeftUpperArm" and BODY13[R_ANKLE] == "RightFoot"
BONES = ("hip_left", "hip_right", "thigh_left", "thigh_right", "shin_left", "shin_right", "torso", "shoulder_left",
         "shoulder_right", "upper_arm_left", "upper_arm_right", "forearm_left", "forearm_right", "neck_head")
B = {name: k for k, name in enumerate(BONES)}
TORSO = B["torso"]
HIPS_CENTRE, SHOULDERS_CENTRE = (L_HIP, R_HIP), (L_SHOULDER, R_SHOULDER)
# each bone: the landmark points it runs from and to (a centre is the mean of two), and the free direction it follows
# (a hip or a shoulder runs along its side's line, the right one backwards)
_BONE_ENDS = {"hip_left": (HIPS_CENTRE, (L_HIP,)), "hip_right": (HIPS_CENTRE, (R_HIP,)),
              "thigh_left": ((L_HIP,), (L_KNEE,)), "thigh_right": ((R_HIP,), (R_KNEE,)),
              "shin_left": ((L_KNEE,), (L_ANKLE,)), "shin_right": ((R_KNEE,), (R_ANKLE,)),
              "torso": (HIPS_CENTRE, SHOULDERS_CENTRE),
              "shoulder_left": (SHOULDERS_CENTRE, (L_SHOULDER,)), "shoulder_right": (SHOULDERS_CENTRE, (R_SHOULDER,)),
              "upper_arm_left": ((L_SHOULDER,), (L_ELBOW,)), "upper_arm_right": ((R_SHOULDER,), (R_ELBOW,)),
              "forearm_left": ((L_ELBOW,), (L_WRIST,)), "forearm_right": ((R_ELBOW,), (R_WRIST,)),
              "neck_head": (SHOULDERS_CENTRE, (HEAD,))}
DIRECTIONS = ("hips", "thigh_left", "thigh_right", "shin_left", "shin_right", "spine", "shoulders", "upper_arm_left",
              "upper_arm_right", "forearm_left", "forearm_right", "head")
_DIRECTION_OF = {"hip_left": ("hips", 1), "hip_right": ("hips", -1), "torso": ("spine", 1),
                 "shoulder_left": ("shoulders", 1), "shoulder_right": ("shoulders", -1), "neck_head": ("head", 1)}
# the bones from the hips centre to each point
_PATHS = {L_HIP: ["hip_left"], R_HIP: ["hip_right"], L_SHOULDER: ["torso", "shoulder_left"],
          R_SHOULDER: ["torso", "shoulder_right"], HEAD: ["torso", "neck_head"]}
for _side, (_hip, _knee, _ankle, _shoulder, _elbow, _wrist) in (
        ("left", (L_HIP, L_KNEE, L_ANKLE, L_SHOULDER, L_ELBOW, L_WRIST)),
        ("right", (R_HIP, R_KNEE, R_ANKLE, R_SHOULDER, R_ELBOW, R_WRIST))):
    _PATHS[_knee] = _PATHS[_hip] + [f"thigh_{_side}"]
    _PATHS[_ankle] = _PATHS[_knee] + [f"shin_{_side}"]
    _PATHS[_elbow] = _PATHS[_shoulder] + [f"upper_arm_{_side}"]
    _PATHS[_wrist] = _PATHS[_elbow] + [f"forearm_{_side}"]


def _tree_matrices() -> tuple[np.ndarray, np.ndarray]:
    """SIGN[k, d, b]: +-1 where bone b, along direction d, lies on point k's path; ENDS[2, b, 13]: each bone's
    landmark ends as weights over the 13 points."""
    sign = np.zeros((13, len(DIRECTIONS), len(BONES)))
    for k, path in _PATHS.items():
        for bone in path:
            direction, s = _DIRECTION_OF.get(bone, (bone, 1))
            sign[k, DIRECTIONS.index(direction), B[bone]] = s
    ends = np.zeros((2, len(BONES), 13))
    for b, bone in enumerate(BONES):
        for e, points in enumerate(_BONE_ENDS[bone]):
            ends[e, b, list(points)] = 1.0 / len(points)
    return sign, ends


SIGN, ENDS = _tree_matrices()
FLOORS = ("own", "median", "livecap", "optimal", "optimal per side")  # the choices of bones
# the landmark bone that sets each direction's warm start (the left one of a hip or shoulder line)
_START_BONE = [B[next(b for b in BONES if _DIRECTION_OF.get(b, (b, 1))[0] == d)] for d in DIRECTIONS]


def landmark_bones(seen: np.ndarray) -> np.ndarray:
    """Each bone's vector in the landmarks, person-frames x 14 x 3."""
    return np.einsum("bk,fki->fbi", ENDS[1], seen) - np.einsum("bk,fki->fbi", ENDS[0], seen)


SEGMENTS = ("hip_half", "thigh", "shin", "torso", "shoulder_half", "upper_arm", "forearm", "neck_head")
_SEGMENT_OF = {bone: {"hip": "hip_half", "shoulder": "shoulder_half"}.get(bone.rsplit("_", 1)[0],
                                                                           bone.rsplit("_", 1)[0])
               if bone.endswith(("_left", "_right")) else bone for bone in BONES}
# bones = SYMMETRIC @ segments: livecap's skeletons, one length per segment for both sides
SYMMETRIC = np.array([[float(_SEGMENT_OF[bone] == segment) for segment in SEGMENTS] for bone in BONES])
assert (SYMMETRIC.sum(axis=1) == 1).all()


def symmetric(segments: dict[str, float]) -> np.ndarray:
    """The 14 bones from one length per segment (livecap.pose.fitting.model's segment names)."""
    return SYMMETRIC @ np.array([segments[name] for name in SEGMENTS])


# --- the pose of a frozen-bone tree nearest one person-frame's landmarks -------------------------------------------

def _unpack(x: np.ndarray, lengths: np.ndarray):
    """Solutions (F x 41: hips centre, scale, spine fold, 12 free directions) with lengths (14, or F x 14) -> their
    parts, unit directions, and reach[f, k, d]: the signed length along direction d on point k's path."""
    root, scale, fold, free = x[:, :3], x[:, 3], x[:, 4], x[:, 5:].reshape(len(x), -1, 3)
    norms = np.linalg.norm(free, axis=-1)
    unit = free / norms[..., None]
    effective = np.broadcast_to(lengths, (len(x), len(BONES))).copy()
    effective[:, TORSO] *= fold
    return root, scale, fold, norms, unit, np.einsum("kdb,fb->fkd", SIGN, effective)


def points_of(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    root, scale, _, _, unit, reach = _unpack(x, lengths)
    return root[:, None] + scale[:, None, None] * np.einsum("fkd,fdi->fki", reach, unit)


def _residuals(x: np.ndarray, lengths: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """F x 51: each point's offset from its landmark, and each free direction's norm - 1 (the points depend on the
    directions only: at the optimum every norm is 1, and the system is no longer under-determined)."""
    norms = _unpack(x, lengths)[3]
    return np.concatenate([(points_of(x, lengths) - seen).reshape(len(x), 39), norms - 1.0], axis=1)


def _jacobian(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """F x 51 x 41: the residuals' derivatives by the solution's parameters."""
    root, scale, fold, norms, unit, reach = _unpack(x, lengths)
    f, n = len(x), len(DIRECTIONS)
    out = np.zeros((f, 39 + n, 5 + 3 * n))
    out[:, :39, :3] = np.tile(np.eye(3), (13, 1))
    out[:, :39, 3] = np.einsum("fkd,fdi->fki", reach, unit).reshape(f, 39)
    torso = np.broadcast_to(lengths, (f, len(BONES)))[:, TORSO]
    out[:, :39, 4] = (scale * torso)[:, None] * np.einsum("kd,fdi->fki", SIGN[:, :, TORSO], unit).reshape(f, 39)
    projector = (np.eye(3) - np.einsum("fdi,fdj->fdij", unit, unit)) / norms[..., None, None]
    out[:, :39, 5:] = scale[:, None, None] * np.einsum("fkd,fdij->fkidj", reach, projector).reshape(f, 39, 3 * n)
    out[:, 39 + np.arange(n)[:, None], 5 + 3 * np.arange(n)[:, None] + np.arange(3)] = unit
    return out


def _length_jacobian(x: np.ndarray) -> np.ndarray:
    """F x 51 x 14: the residuals' derivatives by the bone lengths (the points are linear in them)."""
    _, scale, fold, _, unit, _ = _unpack(x, np.ones(len(BONES)))
    along = scale[:, None, None, None] * np.einsum("kdb,fdi->fkib", SIGN, unit)
    along[..., TORSO] *= fold[:, None, None]
    return np.concatenate([along.reshape(len(x), 39, -1), np.zeros((len(x), len(DIRECTIONS), len(BONES)))], axis=1)


def warm_start(seen: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Every direction along the landmarks' own bone, the scale that best matches the lengths, the spine unfolded
    as far as the landmarks' torso asks."""
    vectors = landmark_bones(seen[None])[0]
    measured = np.linalg.norm(vectors, axis=1)
    scale = float(measured @ lengths / max(lengths @ lengths, 1e-12))
    fold = float(np.clip(measured[TORSO] / max(scale * lengths[TORSO], 1e-9), 0.0, 1.0))
    free = vectors[_START_BONE] / np.maximum(measured[_START_BONE], 1e-9)[:, None]
    return np.concatenate([ENDS[0, B["hip_left"]] @ seen, [scale, fold], free.ravel()])


def _bounds(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """No bounds but the spine's fold, 0 (folded onto itself) to 1 (straight: the torso's length)."""
    lower, upper = np.full(x.shape, -np.inf), np.full(x.shape, np.inf)
    lower[4::PARAMS], upper[4::PARAMS] = 0.0, 1.0
    return lower, upper


PARAMS = 5 + 3 * len(DIRECTIONS)


def nearest_pose(seen: np.ndarray, lengths: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """The solution whose 13 points, with these bone lengths, are nearest the landmarks (least squares, up to
    similarity)."""
    x0 = warm_start(seen, lengths) if start is None else start.copy()
    x0[4] = np.clip(x0[4], 0.0, 1.0)
    return least_squares(lambda x: _residuals(x[None], lengths, seen[None])[0],
                         x0, lambda x: _jacobian(x[None], lengths)[0], bounds=_bounds(x0), method="trf").x


def agreement_mm(x: np.ndarray, lengths: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """The solutions' distances (F x 13, mm) to the landmarks, measured as the agreement measures them."""
    return np.linalg.norm(similarity_aligned(points_of(x, lengths), seen) - seen, axis=-1) * 1000.0


def floor_solutions(seen: np.ndarray, lengths: np.ndarray, starts: np.ndarray | None = None) -> np.ndarray:
    """Per person-frame (rows of seen, each with its own row of lengths): the nearest pose's solution (F x 41)."""
    return np.array([nearest_pose(seen[f], lengths[f], None if starts is None else starts[f])
                     for f in range(len(seen))])


def best_frozen(seen: np.ndarray, tie: np.ndarray, segments: np.ndarray, starts: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """One person's best frozen bones: the segment lengths (bones = tie @ segments) and the poses of all their
    frames that together minimise the summed squared distances, one sparse least-squares problem, started from
    the given segments and poses. Returns the bones and the solutions."""
    frames, total = len(seen), float((tie @ segments).sum())

    def split(z):
        return tie @ z[:tie.shape[1]], z[tie.shape[1]:].reshape(frames, PARAMS)

    def residuals(z):
        lengths, x = split(z)
        return np.concatenate([_residuals(x, lengths, seen).ravel(), [lengths.sum() - total]])  # the sizes' gauge

    def jacobian(z):
        lengths, x = split(z)
        poses = sparse.bsr_matrix((_jacobian(x, lengths), np.arange(frames), np.arange(frames + 1)),
                                  shape=(frames * (39 + len(DIRECTIONS)), frames * PARAMS))
        by_length = np.vstack([_length_jacobian(x).reshape(-1, len(BONES)), np.ones((1, len(BONES)))]) @ tie
        padded = sparse.vstack([poses, sparse.csr_matrix((1, poses.shape[1]))])
        return sparse.hstack([sparse.csr_matrix(by_length), padded], format="csr")

    z0 = np.concatenate([segments, starts.ravel()])
    lower, upper = _bounds(np.zeros(frames * PARAMS))
    lower = np.concatenate([np.full(tie.shape[1], 1e-3), lower])
    upper = np.concatenate([np.full(tie.shape[1], np.inf), upper])
    z0[tie.shape[1] + 4::PARAMS] = np.clip(z0[tie.shape[1] + 4::PARAMS], 0.0, 1.0)
    solution = least_squares(residuals, z0, jacobian, bounds=(lower, upper), method="trf", tr_solver="lsmr",
                             max_nfev=300)
    return split(solution.x)


# --- bones per person, and the floors of a results file -------------------------------------------------------------

def people(part: Part) -> dict[int, np.ndarray]:
    """Each person id's rows (person-frames) in the part."""
    ids = np.array(part.inputs.ids)
    return {pid: np.flatnonzero(ids == pid) for pid in np.unique(ids)}


def median_bones(part: Part, rows: np.ndarray) -> np.ndarray:
    """The person's reliability-weighted median segments over all their frames, as --clip-bones measures them."""
    segments = track_segments(np.array([part.inputs.world33[r] for r in rows]),
                              np.array([part.inputs.image33[r] for r in rows]))
    return symmetric(dict(zip(model.SEGMENT_NAMES, segments)))


def livecap_bones(part: Part, rows: np.ndarray) -> np.ndarray:
    """The bones livecap froze for the person, read off their last recorded frame's joints."""
    records = [person for frame in part.frames for person in frame["people"] if not person.get("interpolated")]
    p = np.asarray(records[rows[-1]]["joints3d"], np.float64)

    def length(*names: str) -> float:
        return float(sum(np.linalg.norm(p[J[b]] - p[J[a]]) for a, b in zip(names, names[1:])))

    def sides(parent: str, child: str) -> float:
        return 0.5 * (length(parent.format("Left"), child.format("Left"))
                      + length(parent.format("Right"), child.format("Right")))

    return symmetric({"hip_half": sides("Hips", "{}UpperLeg"), "thigh": sides("{}UpperLeg", "{}LowerLeg"),
                      "shin": sides("{}LowerLeg", "{}Foot"), "torso": length("Hips", "Spine", "Chest", "Neck"),
                      "shoulder_half": sides("Neck", "{}UpperArm"), "upper_arm": sides("{}UpperArm", "{}LowerArm"),
                      "forearm": sides("{}LowerArm", "{}Hand"), "neck_head": length("Neck", "Head")})


def part_floors(part: Part) -> dict[str, np.ndarray]:
    """Per person-frame of the part: the floor's distances (x 13, mm) per choice of bones (FLOORS), the landmarks'
    own bone lengths, the median bones and their per-frame scale (the size the similarity alignment absorbs)."""
    seen = part.refit.seen
    own = np.linalg.norm(landmark_bones(seen), axis=-1)
    out = {"own": agreement_mm(floor_solutions(seen, own), own, seen), "own lengths": own,
           "median lengths": np.zeros_like(own), "scales": np.zeros(len(seen))}
    out.update({kind: np.zeros_like(out["own"]) for kind in FLOORS[1:]})
    for rows in people(part).values():
        for kind, bones in (("median", median_bones), ("livecap", livecap_bones)):
            lengths = bones(part, rows)
            poses = floor_solutions(seen[rows], np.tile(lengths, (len(rows), 1)))
            out[kind][rows] = agreement_mm(poses, lengths, seen[rows])
            if kind == "median":
                out["scales"][rows], out["median lengths"][rows], start, best = poses[:, 3], lengths, poses, lengths
        for kind, tie in (("optimal", SYMMETRIC), ("optimal per side", np.eye(len(BONES)))):
            best, start = best_frozen(seen[rows], tie, np.linalg.pinv(tie) @ best, start)
            start = floor_solutions(seen[rows], np.tile(best, (len(rows), 1)), start)  # each frame at its optimum
            out[kind][rows] = agreement_mm(start, best, seen[rows])
    return out


# --- the report -----------------------------------------------------------------------------------------------------

KINDS = FLOORS + ("refit", "recorded")


def percentiles(distances: np.ndarray, visible: np.ndarray | None = None) -> str:
    d = distances if visible is None else distances[visible]
    return f"{np.percentile(d, 50):.1f} / {np.percentile(d, 95):.1f}"


def set_figures(parts: list[Part]) -> dict:
    """The floors, the refit with frozen bones and the recorded fit, pooled over the set's files."""
    floors = [part_floors(part) for part in parts]
    out = {key: np.concatenate([f[key] for f in floors]) for key in floors[0]}
    out["refit"], out["recorded"] = pooled(parts).distances_mm, pooled(parts, "recorded").distances_mm
    out["visible"] = pooled(parts).visibility >= 0.5
    out["where"] = [(frame, pid) for part in parts for frame, pid in zip(part.inputs.frames, part.inputs.ids)]
    return out


def print_rows(name: str, figures: dict) -> None:
    n = len(figures["refit"])
    print(f"{name} | {n} | all | " + " | ".join(percentiles(figures[k]) for k in KINDS), flush=True)
    print(f"{name} | {n} | visible | " + " | ".join(percentiles(figures[k], figures["visible"]) for k in KINDS),
          flush=True)


def print_details(name: str, figures: dict, worst: int) -> None:
    print(f"\n{name}: per joint p95 mm: floor optimal / floor livecap bones / refit")
    print("  " + "  ".join(f"{BODY13[j]} {np.percentile(figures['optimal'][:, j], 95):.0f}/"
                           f"{np.percentile(figures['livecap'][:, j], 95):.0f}/"
                           f"{np.percentile(figures['refit'][:, j], 95):.0f}" for j in range(13)))
    scales = figures["scales"]
    print(f"  size the alignment absorbs (median bones' per-frame scale): p5-p95 {np.percentile(scales, 5):.2f}-"
          f"{np.percentile(scales, 95):.2f}; proportions it cannot, the landmarks' bone / (scale x median bone) "
          "p5-p95:")
    ratios = figures["own lengths"] / (scales[:, None] * figures["median lengths"])
    print("  " + "  ".join(f"{bone} {np.percentile(ratios[:, b], 5):.2f}-{np.percentile(ratios[:, b], 95):.2f}"
                           for b, bone in enumerate(BONES)))
    gap = figures["refit"].mean(axis=1) - figures["livecap"].mean(axis=1)
    print(f"  refit above its floor (livecap bones), mean over the 13 points per person-frame: p50 "
          f"{np.percentile(gap, 50):.1f}, p95 {np.percentile(gap, 95):.1f} mm; worst person-frames:")
    for k in np.argsort(-gap)[:worst]:
        joints = np.argsort(-(figures["refit"][k] - figures["livecap"][k]))[:3]
        frame, pid = figures["where"][k]
        print(f"    frame {frame} id {pid}: refit mean {figures['refit'][k].mean():.0f}, floor "
              f"{figures['livecap'][k].mean():.0f}; " + ", ".join(
                  f"{BODY13[j]} {figures['refit'][k, j]:.0f} vs {figures['livecap'][k, j]:.0f}" for j in joints))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/fiteval"), help="where eval_fit.py record wrote")
    parser.add_argument("--sets", nargs="*", choices=sets())
    parser.add_argument("--worst", type=int, default=0, help="per set: per joint figures and the worst gaps")
    args = parser.parse_args()
    print("p50 / p95 mm, all 13 points and those BlazePose marks visible (>= 0.5), similarity-aligned per "
          "person-frame; floors with bones: own (per frame: a check, ~0), median (whole clip), livecap (as frozen), "
          "optimal (best frozen)")
    print("set | person-frames | points | " + " | ".join(f"floor {k}" for k in FLOORS) + " | refit | recorded")
    stills, details = {}, []
    for name in args.sets or sets():
        figures = set_figures(refit(name, args.out, FitSettings()))
        print_rows(name, figures)
        details.append((name, figures))
        if name.startswith("stills_"):
            stills[name] = figures
    if len(stills) > 1:
        print_rows("stills (pooled)", {k: np.concatenate([f[k] for f in stills.values()])
                                       for k in (*KINDS, "visible")})
    for name, figures in details if args.worst else ():
        print_details(name, figures, args.worst)


if __name__ == "__main__":
    main()
